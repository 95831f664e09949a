"""The simulator's own SQLite file: every piece of DES state lives here, so a restart loses nothing."""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS customers (
    customer_no TEXT PRIMARY KEY, tckn TEXT NOT NULL, salt TEXT NOT NULL, password_hash TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS tokens (
    token_hash TEXT PRIMARY KEY, customer_no TEXT NOT NULL, issued_at REAL NOT NULL, expires_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS contracts (
    contract_no TEXT PRIMARY KEY, customer_no TEXT NOT NULL, insurer TEXT NOT NULL, starts_on TEXT NOT NULL,
    ends_on TEXT, employer_vkn TEXT NOT NULL, ws_fields TEXT, ws_digest TEXT, created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS idempotency (
    customer_no TEXT NOT NULL, key TEXT NOT NULL, endpoint TEXT NOT NULL, body_hash TEXT NOT NULL,
    resource_id TEXT NOT NULL, created_at REAL NOT NULL, PRIMARY KEY (customer_no, key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS personnel_lists (
    list_id TEXT PRIMARY KEY, contract_no TEXT NOT NULL, period TEXT NOT NULL, state TEXT NOT NULL,
    batch_count INTEGER NOT NULL, person_count INTEGER NOT NULL, batches_received INTEGER NOT NULL,
    people_received INTEGER NOT NULL, counts TEXT, created_at REAL NOT NULL, sent_at REAL, completed_at REAL
);
CREATE TABLE IF NOT EXISTS list_batches (
    list_id TEXT NOT NULL, batch_no INTEGER NOT NULL, body_hash TEXT NOT NULL, people INTEGER NOT NULL,
    PRIMARY KEY (list_id, batch_no)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS list_people (
    list_id TEXT NOT NULL, seq INTEGER NOT NULL, tckn TEXT NOT NULL, first_name TEXT NOT NULL,
    last_name TEXT NOT NULL, birth_date TEXT NOT NULL, mobile TEXT NOT NULL, email TEXT, iban TEXT,
    fund_kind TEXT NOT NULL, hire_date TEXT NOT NULL, action TEXT NOT NULL, status TEXT NOT NULL,
    policy_no TEXT, error_code TEXT, error_message TEXT, exit_date TEXT, PRIMARY KEY (list_id, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS policies (
    contract_no TEXT NOT NULL, tckn TEXT NOT NULL, policy_no TEXT NOT NULL UNIQUE, state TEXT NOT NULL,
    enrolled_at REAL NOT NULL, first_name TEXT, last_name TEXT, birth_date TEXT, mobile TEXT, email TEXT,
    iban TEXT, fund_kind TEXT, hire_date TEXT, exit_date TEXT, paused_until TEXT, stopped_on TEXT, PRIMARY KEY (contract_no, tckn)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS requests (
    request_id TEXT PRIMARY KEY, contract_no TEXT NOT NULL, tckn TEXT NOT NULL, policy_no TEXT NOT NULL,
    kind TEXT NOT NULL, requested_on TEXT NOT NULL, months INTEGER, state TEXT NOT NULL, event_id TEXT,
    error_code TEXT, error_message TEXT, created_at REAL NOT NULL, done_at REAL
);
CREATE TABLE IF NOT EXISTS payments (
    payment_id TEXT PRIMARY KEY, contract_no TEXT NOT NULL, period TEXT NOT NULL, kind TEXT NOT NULL,
    wage_paid_on TEXT NOT NULL, state TEXT NOT NULL, batch_count INTEGER NOT NULL, item_count INTEGER NOT NULL,
    control_total INTEGER NOT NULL, batches_received INTEGER NOT NULL, items_received INTEGER NOT NULL,
    total INTEGER NOT NULL, accepted_total INTEGER NOT NULL DEFAULT 0,
    created_at REAL NOT NULL, sent_at REAL, completed_at REAL
);
CREATE INDEX IF NOT EXISTS ix_payments_period ON payments (contract_no, period, kind);
CREATE TABLE IF NOT EXISTS payment_batches (
    payment_id TEXT NOT NULL, batch_no INTEGER NOT NULL, body_hash TEXT NOT NULL, items INTEGER NOT NULL,
    PRIMARY KEY (payment_id, batch_no)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS payment_items (
    payment_id TEXT NOT NULL, seq INTEGER NOT NULL, tckn TEXT NOT NULL, policy_no TEXT NOT NULL,
    amount INTEGER NOT NULL, status TEXT NOT NULL, error_code TEXT, error_message TEXT,
    PRIMARY KEY (payment_id, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, contract_no TEXT NOT NULL, type TEXT NOT NULL, tckn TEXT NOT NULL,
    policy_no TEXT NOT NULL, effective_on TEXT NOT NULL, notified_on TEXT NOT NULL, created_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS ix_events_contract ON events (contract_no, seq);
CREATE TABLE IF NOT EXISTS register (
    tckn TEXT PRIMARY KEY, first_name TEXT NOT NULL, last_name TEXT NOT NULL, birth_date TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS settings (name TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
"""

BUSINESS_TABLES = (
    "customers", "tokens", "contracts", "idempotency", "personnel_lists", "list_batches", "list_people",
    "policies", "payments", "payment_batches", "payment_items", "events", "register", "settings", "requests",
)

# Columns added after a simulator file may already exist: its state survives upgrades too.
_ADDED_COLUMNS = {
    "list_people": ("exit_date",),
    "policies": ("first_name", "last_name", "birth_date", "mobile", "email", "iban", "fund_kind", "hire_date", "exit_date", "paused_until",
                 "stopped_on"),
}


class Database:
    """One connection, one lock: the simulator serialises its transactions, which is what makes
    "same idempotency key → same resource" hold under concurrent retries without further care."""

    def __init__(self, path: Path | str) -> None:
        self.path = str(path)
        self.conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self.conn.execute("PRAGMA journal_mode=WAL")
        # NORMAL in WAL mode survives a killed process (only power loss may drop the last commits).
        self.conn.execute("PRAGMA synchronous=NORMAL")
        self.conn.executescript(SCHEMA)
        for table, columns in _ADDED_COLUMNS.items():
            present = {row[1] for row in self.conn.execute(f"PRAGMA table_info({table})")}
            for column in columns:
                if column not in present:
                    self.conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} TEXT")
        self.lock = threading.RLock()

    @contextmanager
    def tx(self) -> Iterator[sqlite3.Connection]:
        with self.lock:
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield self.conn
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise
            self.conn.execute("COMMIT")

    @staticmethod
    def get_setting(conn: sqlite3.Connection, name: str, default=None):
        row = conn.execute("SELECT value FROM settings WHERE name = ?", (name,)).fetchone()
        return default if row is None else json.loads(row[0])

    @staticmethod
    def set_setting(conn: sqlite3.Connection, name: str, value) -> None:
        conn.execute(
            "INSERT INTO settings (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value",
            (name, json.dumps(value)),
        )

    def wipe(self) -> None:
        with self.tx() as conn:
            for table in BUSINESS_TABLES:
                conn.execute(f"DELETE FROM {table}")  # noqa: S608 - fixed table names

    def close(self) -> None:
        with self.lock:
            self.conn.close()
