"""What DES and the insurers behind it do, as the contract (openapi.yaml) describes it.

Every operation runs in one SQLite transaction and either returns the answer's body or raises
:class:`ApiError`. Insurers work lazily: a list or payment sent to the insurer is processed the
first time it is looked at after its delay has passed, so the outcome depends only on stored
timestamps and survives a restart of the simulator.
"""

from __future__ import annotations

import calendar
import hashlib
import json
import secrets
import sqlite3
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from oks.des.simulator.db import Database
from oks.des.simulator.errors import ApiError, validation_error
from oks.des.simulator.insurers import ALL_WS_FIELDS, INSURERS
from oks.des.simulator.register import fold_name
from oks.des.simulator.schemas import (
    ContractRegistration,
    CustomerSeed,
    EmployerRequest,
    EventInjection,
    PaymentBatchRequest,
    PaymentRequest,
    PersonnelBatchRequest,
    PersonnelListRequest,
    TokenRequest,
    WsCredentials,
)
from oks.rules.lifecycle import stops_wage

# A batch holds at most 5,000 people, so batch_no * STRIDE + position orders a list by batch and
# position even when batches arrive out of order.
SEQ_STRIDE = 1_000_000

EVENT_POLICY_STATE = {
    "OPTED_OUT": "OPTED_OUT",
    "PAUSED": "PAUSED",
    "RESUMED": "ACTIVE",
    "LEFT": "LEFT",
    "CANCELLED": "CANCELLED",
}
LIVE_POLICY = ("ACTIVE", "PAUSED")

PERSON_ERRORS = {
    "IDENTITY_MISMATCH": "TCKN, name or birth date does not match the population register",
    "ALREADY_ENROLLED": "already has a live policy on this contract",
    "NOT_ENROLLED": "has no live policy on this contract",
    "DUPLICATE_PERSON": "the same TCKN appears earlier in this list",
    "POLICY_NOT_FOUND": "no such policy for this person on the contract",
    "POLICY_INACTIVE": "the policy is opted out, paused, left or cancelled",
    "DUPLICATE_ITEM": "the same TCKN appears earlier in this payment",
    "NOT_PAUSED": "the policy is not paused: nothing to resume",
}


@dataclass
class Settings:
    """How the simulated DES behaves (not faults): insurer answer delays and token lifetime."""

    insurer_delay: float = 30.0
    transfer_delay: float = 30.0
    token_ttl: float = 3600.0


def body_hash(model) -> str:
    # The validated model's JSON, not the raw bytes: whitespace or key order must not make the
    # same request look like another one.
    return hashlib.sha256(model.model_dump_json().encode()).hexdigest()


def _money(kurus: int) -> str:
    sign = "-" if kurus < 0 else ""
    kurus = abs(kurus)
    return f"{sign}{kurus // 100}.{kurus % 100:02d}"


def _kurus(amount: str) -> int:
    return int(Decimal(amount) * 100)


def _plus_months(iso_day: str, months: int) -> str:
    day = date.fromisoformat(iso_day)
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1])).isoformat()


def _period_bounds(period: str) -> tuple[date, date]:
    year, month = int(period[:4]), int(period[5:7])
    return date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])


def _password_hash(salt: str, password: str) -> str:
    return hashlib.sha256(f"{salt}:{password}".encode()).hexdigest()


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:16].upper()}"


class Des:
    """The simulated service over a :class:`Database`."""

    def __init__(self, db: Database, *, defaults: Settings | None = None, clock: Callable[[], float] = time.time) -> None:
        self.db = db
        self.clock = clock
        self.defaults = defaults or Settings()
        self._tokens: dict[str, tuple[str, float]] = {}
        with db.tx() as conn:
            if db.get_setting(conn, "settings") is None:
                db.set_setting(conn, "settings", asdict(self.defaults))

    # --- settings --------------------------------------------------------------------------------

    def settings(self) -> Settings:
        with self.db.tx() as conn:
            return Settings(**self.db.get_setting(conn, "settings", asdict(self.defaults)))

    def update_settings(self, **changes) -> Settings:
        with self.db.tx() as conn:
            current = Settings(**self.db.get_setting(conn, "settings", asdict(self.defaults)))
            for name, value in changes.items():
                if value is not None:
                    setattr(current, name, float(value))
            self.db.set_setting(conn, "settings", asdict(current))
            return current

    def reset(self) -> None:
        self.db.wipe()
        self._tokens.clear()
        with self.db.tx() as conn:
            self.db.set_setting(conn, "settings", asdict(self.defaults))

    # --- customers and tokens ----------------------------------------------------------------------

    def add_customer(self, seed: CustomerSeed) -> None:
        salt = secrets.token_hex(8)
        with self.db.tx() as conn:
            conn.execute(
                "INSERT INTO customers (customer_no, tckn, salt, password_hash) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (customer_no) DO UPDATE SET tckn = excluded.tckn, salt = excluded.salt, "
                "password_hash = excluded.password_hash",
                (seed.customer_no, seed.tckn, salt, _password_hash(salt, seed.password)),
            )

    def issue_token(self, req: TokenRequest) -> dict:
        now = self.clock()
        with self.db.tx() as conn:
            row = conn.execute(
                "SELECT tckn, salt, password_hash FROM customers WHERE customer_no = ?", (req.customer_no,)
            ).fetchone()
            if row is None or row[0] != req.tckn or _password_hash(row[1], req.password) != row[2]:
                raise ApiError(401, "INVALID_CREDENTIALS", "customer number, TCKN or password is wrong")
            ttl = Settings(**self.db.get_setting(conn, "settings", asdict(self.defaults))).token_ttl
            token = secrets.token_urlsafe(32)
            conn.execute(
                "INSERT INTO tokens (token_hash, customer_no, issued_at, expires_at) VALUES (?, ?, ?, ?)",
                (_token_hash(token), req.customer_no, now, now + ttl),
            )
        self._tokens[_token_hash(token)] = (req.customer_no, now + ttl)
        return {"access_token": token, "token_type": "Bearer", "expires_in": ttl}

    def authenticate(self, authorization: str | None) -> str:
        """The customer number the bearer token belongs to."""
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise ApiError(401, "UNAUTHORIZED", "a bearer token is required")
        digest = _token_hash(token.strip())
        known = self._tokens.get(digest)
        if known is None:
            with self.db.tx() as conn:
                row = conn.execute("SELECT customer_no, expires_at FROM tokens WHERE token_hash = ?", (digest,)).fetchone()
            if row is None:
                raise ApiError(401, "UNAUTHORIZED", "unknown token")
            known = self._tokens[digest] = (row[0], row[1])
        if self.clock() >= known[1]:
            raise ApiError(401, "TOKEN_EXPIRED", "the token has expired; request a new one")
        return known[0]

    def expire_tokens(self) -> int:
        now = self.clock()
        with self.db.tx() as conn:
            count = conn.execute("UPDATE tokens SET expires_at = ? WHERE expires_at > ?", (now, now)).rowcount
        self._tokens.clear()
        return count

    # --- idempotency ---------------------------------------------------------------------------------

    @staticmethod
    def _replayed(conn: sqlite3.Connection, customer: str, key: str, endpoint: str, digest: str) -> str | None:
        row = conn.execute(
            "SELECT endpoint, body_hash, resource_id FROM idempotency WHERE customer_no = ? AND key = ?",
            (customer, key),
        ).fetchone()
        if row is None:
            return None
        if row[0] != endpoint or row[1] != digest:
            raise ApiError(
                422,
                "IDEMPOTENCY_KEY_REUSED",
                "this Idempotency-Key was already used for another request",
                details={"resource_id": row[2]},
            )
        return row[2]

    def _remember(self, conn: sqlite3.Connection, customer: str, key: str, endpoint: str, digest: str, resource_id: str) -> None:
        conn.execute(
            "INSERT INTO idempotency (customer_no, key, endpoint, body_hash, resource_id, created_at) VALUES (?, ?, ?, ?, ?, ?)",
            (customer, key, endpoint, digest, resource_id, self.clock()),
        )

    # --- contracts -----------------------------------------------------------------------------------

    @staticmethod
    def _contract_row(conn: sqlite3.Connection, customer: str, contract_no: str) -> sqlite3.Row | tuple:
        row = conn.execute(
            "SELECT contract_no, customer_no, insurer, starts_on, ends_on, employer_vkn, ws_fields FROM contracts WHERE contract_no = ?",
            (contract_no,),
        ).fetchone()
        if row is None or row[1] != customer:
            # Another customer's contract is reported as missing: its existence is not ours to know.
            raise ApiError(404, "CONTRACT_NOT_FOUND", "no such contract for this customer", details={"contract_no": contract_no})
        return row

    @staticmethod
    def _contract_body(row) -> dict:
        return {
            "contract_no": row[0],
            "insurer": row[2],
            "starts_on": row[3],
            "ends_on": row[4],
            "employer_vkn": row[5],
            "ws_credentials_set": bool(row[6]),
        }

    def put_contract(self, customer: str, contract_no: str, req: ContractRegistration) -> tuple[int, dict]:
        wanted = (req.insurer, req.starts_on.isoformat(), req.ends_on.isoformat() if req.ends_on else None, req.employer_vkn)
        with self.db.tx() as conn:
            row = conn.execute(
                "SELECT contract_no, customer_no, insurer, starts_on, ends_on, employer_vkn, ws_fields FROM contracts WHERE contract_no = ?",
                (contract_no,),
            ).fetchone()
            if row is not None:
                if row[1] != customer or tuple(row[2:6]) != wanted:
                    raise ApiError(
                        409,
                        "CONTRACT_MISMATCH",
                        "the contract is registered with other data; it must equal the payroll side's contract",
                        details={"contract_no": contract_no},
                    )
                return 200, self._contract_body(row)
            conn.execute(
                "INSERT INTO contracts (contract_no, customer_no, insurer, starts_on, ends_on, employer_vkn, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (contract_no, customer, *wanted, self.clock()),
            )
            return 201, self._contract_body((contract_no, customer, *wanted, None))

    def get_contract(self, customer: str, contract_no: str) -> dict:
        with self.db.tx() as conn:
            return self._contract_body(self._contract_row(conn, customer, contract_no))

    def put_ws_credentials(self, customer: str, contract_no: str, req: WsCredentials) -> dict:
        given = req.model_dump(exclude_none=True)
        with self.db.tx() as conn:
            row = self._contract_row(conn, customer, contract_no)
            insurer = INSURERS[row[2]]
            for field in ALL_WS_FIELDS:
                if field in insurer.ws_fields and field not in given:
                    raise validation_error(field, f"required by {insurer.code}")
                if field not in insurer.ws_fields and field in given:
                    raise validation_error(field, f"not used by {insurer.code}")
            digest = hashlib.sha256(json.dumps(given, sort_keys=True).encode()).hexdigest()
            conn.execute(
                "UPDATE contracts SET ws_fields = ?, ws_digest = ? WHERE contract_no = ?",
                (",".join(insurer.ws_fields), digest, contract_no),
            )
        return {"contract_no": contract_no, "insurer": insurer.code, "fields": list(insurer.ws_fields)}

    @staticmethod
    def _check_period(contract_row, period: str) -> None:
        first, last = _period_bounds(period)
        starts_on = date.fromisoformat(contract_row[3])
        ends_on = date.fromisoformat(contract_row[4]) if contract_row[4] else None
        if starts_on > last or (ends_on is not None and ends_on < first):
            raise ApiError(409, "CONTRACT_NOT_ACTIVE", f"the contract does not cover period {period}", details={"period": period})

    # --- personnel lists -----------------------------------------------------------------------------

    _LIST_COLUMNS = (
        "list_id, contract_no, period, state, batch_count, person_count, batches_received, people_received, counts, sent_at"
    )

    def _list_row(self, conn: sqlite3.Connection, customer: str, list_id: str):
        row = conn.execute(
            f"SELECT {self._LIST_COLUMNS}, (SELECT customer_no FROM contracts c WHERE c.contract_no = l.contract_no) "
            "FROM personnel_lists l WHERE list_id = ?",
            (list_id,),
        ).fetchone()
        if row is None or row[10] != customer:
            raise ApiError(404, "LIST_NOT_FOUND", "no such personnel list for this customer", details={"list_id": list_id})
        return row

    @staticmethod
    def _list_receipt(row) -> dict:
        return {
            "list_id": row[0],
            "contract_no": row[1],
            "period": row[2],
            "state": row[3],
            "batch_count": row[4],
            "batches_received": row[6],
            "people_received": row[7],
        }

    @staticmethod
    def _insert_people(conn: sqlite3.Connection, list_id: str, batch_no: int, people) -> None:
        conn.executemany(
            "INSERT INTO list_people (list_id, seq, tckn, first_name, last_name, birth_date, mobile, email, iban, "
            "fund_kind, hire_date, action, exit_date, status) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'PENDING')",
            [
                (
                    list_id, batch_no * SEQ_STRIDE + pos, p.tckn, p.first_name, p.last_name, p.birth_date.isoformat(),
                    p.mobile, p.email, p.iban, p.fund_kind, p.hire_date.isoformat(), p.action,
                    p.exit_date.isoformat() if p.exit_date else None,
                )
                for pos, p in enumerate(people)
            ],
        )

    def create_list(self, customer: str, contract_no: str, key: str, req: PersonnelListRequest) -> tuple[int, dict]:
        endpoint = f"POST /api/v1/contracts/{contract_no}/personnel-lists"
        digest = body_hash(req)
        with self.db.tx() as conn:
            existing = self._replayed(conn, customer, key, endpoint, digest)
            if existing is not None:
                return 200, self._list_receipt(self._list_row(conn, customer, existing))
            contract = self._contract_row(conn, customer, contract_no)
            self._check_period(contract, req.period)
            if req.batch_count > 1 and req.person_count is None:
                raise validation_error("person_count", "required when batch_count is more than 1")
            person_count = req.person_count or len(req.people)
            list_id = _new_id("PL")
            conn.execute(
                "INSERT INTO personnel_lists (list_id, contract_no, period, state, batch_count, person_count, "
                "batches_received, people_received, created_at) VALUES (?, ?, ?, 'RECEIVED', ?, ?, 1, ?, ?)",
                (list_id, contract_no, req.period, req.batch_count, person_count, len(req.people), self.clock()),
            )
            conn.execute(
                "INSERT INTO list_batches (list_id, batch_no, body_hash, people) VALUES (?, 1, ?, ?)",
                (list_id, digest, len(req.people)),
            )
            self._insert_people(conn, list_id, 1, req.people)
            self._remember(conn, customer, key, endpoint, digest, list_id)
            return 201, self._list_receipt(self._list_row(conn, customer, list_id))

    def add_list_batch(self, customer: str, list_id: str, key: str, req: PersonnelBatchRequest) -> tuple[int, dict]:
        endpoint = f"POST /api/v1/personnel-lists/{list_id}/batches"
        digest = body_hash(req)
        with self.db.tx() as conn:
            if self._replayed(conn, customer, key, endpoint, digest) is not None:
                return 200, self._list_receipt(self._list_row(conn, customer, list_id))
            row = self._list_row(conn, customer, list_id)
            if req.batch_no > row[4]:
                raise validation_error("batch_no", f"the list was announced with {row[4]} batch(es)")
            known = conn.execute(
                "SELECT body_hash FROM list_batches WHERE list_id = ? AND batch_no = ?", (list_id, req.batch_no)
            ).fetchone()
            if known is not None:
                if known[0] != digest:
                    raise ApiError(409, "BATCH_CONFLICT", "this batch was received with other people", details={"batch_no": req.batch_no})
                self._remember(conn, customer, key, endpoint, digest, list_id)
                return 200, self._list_receipt(row)
            conn.execute(
                "INSERT INTO list_batches (list_id, batch_no, body_hash, people) VALUES (?, ?, ?, ?)",
                (list_id, req.batch_no, digest, len(req.people)),
            )
            self._insert_people(conn, list_id, req.batch_no, req.people)
            conn.execute(
                "UPDATE personnel_lists SET batches_received = batches_received + 1, people_received = people_received + ? "
                "WHERE list_id = ?",
                (len(req.people), list_id),
            )
            self._remember(conn, customer, key, endpoint, digest, list_id)
            return 201, self._list_receipt(self._list_row(conn, customer, list_id))

    def send_list(self, customer: str, list_id: str) -> dict:
        with self.db.tx() as conn:
            row = self._list_row(conn, customer, list_id)
            if row[3] == "RECEIVED":
                contract = self._contract_row(conn, customer, row[1])
                if not contract[6]:
                    raise ApiError(412, "WS_CREDENTIALS_MISSING", "store the insurer's WS credentials for this contract first")
                if row[6] < row[4]:
                    raise ApiError(
                        409, "LIST_INCOMPLETE", f"{row[6]} of {row[4]} batches received",
                        details={"batches_received": row[6], "batch_count": row[4]},
                    )
                if row[7] != row[5]:
                    raise ApiError(422, "CONTROL_TOTAL_MISMATCH", f"{row[7]} people received, {row[5]} announced")
                conn.execute("UPDATE personnel_lists SET state = 'SENT', sent_at = ? WHERE list_id = ?", (self.clock(), list_id))
                row = self._list_row(conn, customer, list_id)
            return self._list_receipt(row)

    def get_list(self, customer: str, list_id: str, offset: int, limit: int) -> dict:
        with self.db.tx() as conn:
            row = self._list_row(conn, customer, list_id)
            if self._process_list_if_due(conn, row):
                row = self._list_row(conn, customer, list_id)
            people = conn.execute(
                "SELECT tckn, action, status, policy_no, error_code, error_message FROM list_people WHERE list_id = ? "
                "ORDER BY seq LIMIT ? OFFSET ?",
                (list_id, limit, offset),
            ).fetchall()
        counts = json.loads(row[8]) if row[8] else {"PENDING": row[7]}
        return {
            **self._list_receipt(row),
            "total": row[7],
            "counts": counts,
            "offset": offset,
            "limit": limit,
            "people": [
                {
                    "seq": offset + i,
                    "tckn": p[0],
                    "action": p[1],
                    "status": p[2],
                    "policy_no": p[3],
                    "error": {"code": p[4], "message": p[5]} if p[4] else None,
                }
                for i, p in enumerate(people)
            ],
        }

    def _process_list_if_due(self, conn: sqlite3.Connection, row, *, force: bool = False) -> bool:
        if row[3] != "SENT":
            return False
        delay = Settings(**self.db.get_setting(conn, "settings", asdict(self.defaults))).insurer_delay
        now = self.clock()
        if not force and now < row[9] + delay:
            return False
        list_id, contract_no = row[0], row[1]
        insurer = INSURERS[conn.execute("SELECT insurer FROM contracts WHERE contract_no = ?", (contract_no,)).fetchone()[0]]
        register_loaded = self.db.get_setting(conn, "register_loaded", False)
        register = {
            r[0]: r[1:]
            for r in conn.execute(
                "SELECT r.tckn, r.first_name, r.last_name, r.birth_date FROM register r "
                "JOIN list_people p ON p.tckn = r.tckn WHERE p.list_id = ?",
                (list_id,),
            )
        }
        policies = {
            r[0]: [r[1], r[2]]
            for r in conn.execute("SELECT tckn, policy_no, state FROM policies WHERE contract_no = ?", (contract_no,))
        }
        next_policy = self.db.get_setting(conn, "policy_seq", 0)
        results: list[tuple[Any, ...]] = []
        enrolled: list[tuple[Any, ...]] = []
        updated: list[tuple[Any, ...]] = []
        exited: list[tuple[Any, ...]] = []
        seen: set[tuple[str, str]] = set()
        listed: set[str] = set()  # the people seen so far, whatever their action: a set, not a scan of ``seen`` per person
        for seq, tckn, first, last, born, action, mobile, email, iban, fund_kind, hired, exit_date in conn.execute(
            "SELECT seq, tckn, first_name, last_name, birth_date, action, mobile, email, iban, fund_kind, hire_date, exit_date "
            "FROM list_people WHERE list_id = ? ORDER BY seq",
            (list_id,),
        ).fetchall():
            policy: Any = policies.get(tckn)  # present whenever an action needs it (checked above)
            live = policy is not None and policy[1] in LIVE_POLICY
            error = None
            # A person comes once per list, except that an EXIT may follow their ENROL or UPDATE (a new hire who
            # left within the month is enrolled and exited by one list).
            if (tckn, action) in seen or (action != "EXIT" and tckn in listed):
                error = "DUPLICATE_PERSON"
            elif action in ("ENROL", "UPDATE") and register_loaded and register.get(tckn) != (fold_name(first), fold_name(last), born):
                error = "IDENTITY_MISMATCH"
            elif action == "ENROL" and live:
                error = "ALREADY_ENROLLED"
            elif action in ("UPDATE", "EXIT") and not live:
                error = "NOT_ENROLLED"
            seen.add((tckn, action))
            listed.add(tckn)
            if error:
                shown_policy = policy[0] if error == "ALREADY_ENROLLED" else None
                results.append(("REJECTED", shown_policy, error, PERSON_ERRORS[error], list_id, seq))
                continue
            record = (first, last, born, mobile, email, iban, fund_kind, hired)
            if action == "ENROL":
                next_policy += 1
                policy = policies[tckn] = [f"{insurer.policy_prefix}{next_policy:09d}", "ACTIVE"]
                enrolled.append((contract_no, tckn, policy[0], "ACTIVE", now, *record))
                results.append(("ENROLLED", policy[0], None, None, list_id, seq))
            elif action == "UPDATE":
                # The insurer's record now holds what payroll sent: the mobile it texts, the IBAN it refunds to.
                updated.append((*record, contract_no, tckn))
                results.append(("UPDATED", policy[0], None, None, list_id, seq))
            else:
                policy[1] = "LEFT"
                exited.append((exit_date, contract_no, tckn))
                results.append(("EXITED", policy[0], None, None, list_id, seq))
        conn.executemany(
            "UPDATE list_people SET status = ?, policy_no = ?, error_code = ?, error_message = ? WHERE list_id = ? AND seq = ?",
            results,
        )
        conn.executemany(
            "INSERT INTO policies (contract_no, tckn, policy_no, state, enrolled_at, first_name, last_name, birth_date, mobile, "
            "email, iban, fund_kind, hire_date) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (contract_no, tckn) DO UPDATE SET policy_no = excluded.policy_no, state = excluded.state, "
            "enrolled_at = excluded.enrolled_at, first_name = excluded.first_name, last_name = excluded.last_name, "
            "birth_date = excluded.birth_date, mobile = excluded.mobile, email = excluded.email, iban = excluded.iban, "
            "fund_kind = excluded.fund_kind, hire_date = excluded.hire_date, exit_date = NULL, stopped_on = NULL, paused_until = NULL",
            enrolled,
        )
        conn.executemany(
            "UPDATE policies SET first_name = ?, last_name = ?, birth_date = ?, mobile = ?, email = ?, iban = ?, fund_kind = ?, "
            "hire_date = ? WHERE contract_no = ? AND tckn = ?",
            updated,
        )
        conn.executemany("UPDATE policies SET state = 'LEFT', exit_date = ? WHERE contract_no = ? AND tckn = ?", exited)
        self.db.set_setting(conn, "policy_seq", next_policy)
        counts: dict[str, int] = {}
        for result in results:
            counts[result[0]] = counts.get(result[0], 0) + 1
        conn.execute(
            "UPDATE personnel_lists SET state = 'COMPLETED', completed_at = ?, counts = ? WHERE list_id = ?",
            (now, json.dumps(counts, sort_keys=True), list_id),
        )
        return True

    # --- payments ------------------------------------------------------------------------------------

    _PAYMENT_COLUMNS = (
        "payment_id, contract_no, period, kind, wage_paid_on, state, batch_count, item_count, control_total, "
        "batches_received, items_received, total, accepted_total, sent_at"
    )

    def _payment_row(self, conn: sqlite3.Connection, customer: str, payment_id: str):
        row = conn.execute(
            f"SELECT {self._PAYMENT_COLUMNS}, (SELECT customer_no FROM contracts c WHERE c.contract_no = p.contract_no) "
            "FROM payments p WHERE payment_id = ?",
            (payment_id,),
        ).fetchone()
        if row is None or row[14] != customer:
            raise ApiError(404, "PAYMENT_NOT_FOUND", "no such payment for this customer", details={"payment_id": payment_id})
        return row

    @staticmethod
    def _payment_receipt(row) -> dict:
        return {
            "payment_id": row[0],
            "contract_no": row[1],
            "period": row[2],
            "kind": row[3],
            "state": row[5],
            "total": _money(row[11]),
            "control_total": _money(row[8]),
            "item_count": row[7],
            "items_received": row[10],
            "batch_count": row[6],
            "batches_received": row[9],
        }

    @staticmethod
    def _amounts(items, offset_field: str = "items") -> list[int]:
        amounts = []
        for i, item in enumerate(items):
            kurus = _kurus(item.amount)
            if kurus <= 0:
                raise validation_error(f"{offset_field}[{i}].amount", "must be more than 0")
            amounts.append(kurus)
        return amounts

    @staticmethod
    def _insert_items(conn: sqlite3.Connection, payment_id: str, batch_no: int, items, amounts: list[int]) -> None:
        conn.executemany(
            "INSERT INTO payment_items (payment_id, seq, tckn, policy_no, amount, status) VALUES (?, ?, ?, ?, ?, 'PENDING')",
            [
                (payment_id, batch_no * SEQ_STRIDE + pos, item.tckn, item.policy_no, kurus)
                for pos, (item, kurus) in enumerate(zip(items, amounts, strict=True))
            ],
        )

    def create_payment(self, customer: str, contract_no: str, key: str, req: PaymentRequest) -> tuple[int, dict]:
        endpoint = f"POST /api/v1/contracts/{contract_no}/payments"
        digest = body_hash(req)
        with self.db.tx() as conn:
            existing = self._replayed(conn, customer, key, endpoint, digest)
            if existing is not None:
                return 200, self._payment_receipt(self._payment_row(conn, customer, existing))
            contract = self._contract_row(conn, customer, contract_no)
            self._check_period(contract, req.period)
            amounts = self._amounts(req.items)
            if req.batch_count > 1 and (req.item_count is None or req.control_total is None):
                raise validation_error("item_count" if req.item_count is None else "control_total", "required when batch_count is more than 1")
            if req.kind == "REGULAR":
                other = conn.execute(
                    "SELECT payment_id FROM payments WHERE contract_no = ? AND period = ? AND kind = 'REGULAR' "
                    "AND state <> 'REJECTED' ORDER BY created_at LIMIT 1",
                    (contract_no, req.period),
                ).fetchone()
                if other is not None:
                    raise ApiError(
                        409,
                        "DUPLICATE_PERIOD",
                        f"a REGULAR payment for {req.period} already exists on this contract: {other[0]}",
                        details={"payment_id": other[0], "period": req.period},
                    )
            payment_id = _new_id("PAY")
            conn.execute(
                "INSERT INTO payments (payment_id, contract_no, period, kind, wage_paid_on, state, batch_count, item_count, "
                "control_total, batches_received, items_received, total, created_at) "
                "VALUES (?, ?, ?, ?, ?, 'RECEIVED', ?, ?, ?, 1, ?, ?, ?)",
                (
                    payment_id, contract_no, req.period, req.kind, req.wage_paid_on.isoformat(), req.batch_count,
                    req.item_count or len(req.items),
                    _kurus(req.control_total) if req.control_total is not None else sum(amounts),
                    len(req.items), sum(amounts), self.clock(),
                ),
            )
            conn.execute(
                "INSERT INTO payment_batches (payment_id, batch_no, body_hash, items) VALUES (?, 1, ?, ?)",
                (payment_id, digest, len(req.items)),
            )
            self._insert_items(conn, payment_id, 1, req.items, amounts)
            self._remember(conn, customer, key, endpoint, digest, payment_id)
            return 201, self._payment_receipt(self._payment_row(conn, customer, payment_id))

    def add_payment_batch(self, customer: str, payment_id: str, key: str, req: PaymentBatchRequest) -> tuple[int, dict]:
        endpoint = f"POST /api/v1/payments/{payment_id}/batches"
        digest = body_hash(req)
        with self.db.tx() as conn:
            if self._replayed(conn, customer, key, endpoint, digest) is not None:
                return 200, self._payment_receipt(self._payment_row(conn, customer, payment_id))
            row = self._payment_row(conn, customer, payment_id)
            if req.batch_no > row[6]:
                raise validation_error("batch_no", f"the payment was announced with {row[6]} batch(es)")
            known = conn.execute(
                "SELECT body_hash FROM payment_batches WHERE payment_id = ? AND batch_no = ?", (payment_id, req.batch_no)
            ).fetchone()
            if known is not None:
                if known[0] != digest:
                    raise ApiError(409, "BATCH_CONFLICT", "this batch was received with other items", details={"batch_no": req.batch_no})
                self._remember(conn, customer, key, endpoint, digest, payment_id)
                return 200, self._payment_receipt(row)
            amounts = self._amounts(req.items)
            conn.execute(
                "INSERT INTO payment_batches (payment_id, batch_no, body_hash, items) VALUES (?, ?, ?, ?)",
                (payment_id, req.batch_no, digest, len(req.items)),
            )
            self._insert_items(conn, payment_id, req.batch_no, req.items, amounts)
            conn.execute(
                "UPDATE payments SET batches_received = batches_received + 1, items_received = items_received + ?, "
                "total = total + ? WHERE payment_id = ?",
                (len(req.items), sum(amounts), payment_id),
            )
            self._remember(conn, customer, key, endpoint, digest, payment_id)
            return 201, self._payment_receipt(self._payment_row(conn, customer, payment_id))

    def send_payment(self, customer: str, payment_id: str) -> dict:
        with self.db.tx() as conn:
            row = self._payment_row(conn, customer, payment_id)
            if row[5] == "RECEIVED":
                contract = self._contract_row(conn, customer, row[1])
                if not contract[6]:
                    raise ApiError(412, "WS_CREDENTIALS_MISSING", "store the insurer's WS credentials for this contract first")
                if row[9] < row[6]:
                    raise ApiError(
                        409, "PAYMENT_INCOMPLETE", f"{row[9]} of {row[6]} batches received",
                        details={"batches_received": row[9], "batch_count": row[6]},
                    )
                if row[10] != row[7] or row[11] != row[8]:
                    raise ApiError(
                        422,
                        "CONTROL_TOTAL_MISMATCH",
                        f"{row[10]} items for {_money(row[11])} received; {row[7]} items for {_money(row[8])} announced",
                    )
                conn.execute("UPDATE payments SET state = 'SENT', sent_at = ? WHERE payment_id = ?", (self.clock(), payment_id))
                row = self._payment_row(conn, customer, payment_id)
            return self._payment_receipt(row)

    def get_payment(self, customer: str, payment_id: str, offset: int, limit: int) -> dict:
        with self.db.tx() as conn:
            row = self._payment_row(conn, customer, payment_id)
            if self._process_payment_if_due(conn, row):
                row = self._payment_row(conn, customer, payment_id)
            items = conn.execute(
                "SELECT tckn, policy_no, amount, status, error_code, error_message FROM payment_items WHERE payment_id = ? "
                "ORDER BY seq LIMIT ? OFFSET ?",
                (payment_id, limit, offset),
            ).fetchall()
        return {
            **self._payment_receipt(row),
            "wage_paid_on": row[4],
            "accepted_total": _money(row[12]),
            "offset": offset,
            "limit": limit,
            "items": [
                {
                    "seq": offset + i,
                    "tckn": it[0],
                    "policy_no": it[1],
                    "amount": _money(it[2]),
                    "status": it[3],
                    "error": {"code": it[4], "message": it[5]} if it[4] else None,
                }
                for i, it in enumerate(items)
            ],
        }

    def _process_payment_if_due(self, conn: sqlite3.Connection, row, *, force: bool = False) -> bool:
        if row[5] != "SENT":
            return False
        delay = Settings(**self.db.get_setting(conn, "settings", asdict(self.defaults))).transfer_delay
        now = self.clock()
        if not force and now < row[13] + delay:
            return False
        payment_id, contract_no = row[0], row[1]
        policies = {
            r[0]: (r[1], r[2], r[3], r[4])
            for r in conn.execute("SELECT tckn, policy_no, state, exit_date, stopped_on FROM policies WHERE contract_no = ?", (contract_no,))
        }
        period, wage_paid_on = row[2], date.fromisoformat(row[4])
        results: list[tuple[Any, ...]] = []
        seen: set[str] = set()
        accepted, accepted_count = 0, 0
        for seq, tckn, policy_no, amount in conn.execute(
            "SELECT seq, tckn, policy_no, amount FROM payment_items WHERE payment_id = ? ORDER BY seq", (payment_id,)
        ).fetchall():
            policy = policies.get(tckn)
            error = None
            if tckn in seen:
                error = "DUPLICATE_ITEM"
            elif policy is None or policy[0] != policy_no:
                error = "POLICY_NOT_FOUND"
            elif policy[1] != "ACTIVE" and not (policy[1] == "LEFT" and policy[2] and policy[2][:7] >= period) and not (
                policy[3] and not stops_wage(date.fromisoformat(policy[3]), wage_paid_on)
            ):
                # A leaver's contributions are due up to the month of the exit, the last wage included; a wage
                # paid before an opt-out, a pause or a cancellation took effect keeps its deduction.
                error = "POLICY_INACTIVE"
            seen.add(tckn)
            if error:
                results.append(("REJECTED", error, PERSON_ERRORS[error], payment_id, seq))
            else:
                accepted += amount
                accepted_count += 1
                results.append(("ACCEPTED", None, None, payment_id, seq))
        conn.executemany(
            "UPDATE payment_items SET status = ?, error_code = ?, error_message = ? WHERE payment_id = ? AND seq = ?",
            results,
        )
        conn.execute(
            "UPDATE payments SET state = ?, accepted_total = ?, completed_at = ? WHERE payment_id = ?",
            ("TRANSFERRED" if accepted_count else "REJECTED", accepted, now, payment_id),
        )
        return True

    def process_due(self, *, force: bool = False) -> dict:
        """Let the insurers answer every list and payment whose delay has passed (or all, with ``force``)."""
        done = {"personnel_lists": 0, "payments": 0, "requests": 0}
        with self.db.tx() as conn:
            done["requests"] = self._process_requests_due(conn, force=force)
            self._end_pauses(conn)
            for (list_id,) in conn.execute("SELECT list_id FROM personnel_lists WHERE state = 'SENT'").fetchall():
                row = conn.execute(f"SELECT {self._LIST_COLUMNS} FROM personnel_lists WHERE list_id = ?", (list_id,)).fetchone()
                done["personnel_lists"] += self._process_list_if_due(conn, row, force=force)
            for (payment_id,) in conn.execute("SELECT payment_id FROM payments WHERE state = 'SENT'").fetchall():
                row = conn.execute(f"SELECT {self._PAYMENT_COLUMNS} FROM payments WHERE payment_id = ?", (payment_id,)).fetchone()
                done["payments"] += self._process_payment_if_due(conn, row, force=force)
        return done

    # --- status events -------------------------------------------------------------------------------

    @staticmethod
    def _cursor_seq(after: str | None) -> int:
        if after is None:
            return 0
        prefix, _, number = after.partition("-")
        if prefix != "ev" or not number.isdigit():
            raise validation_error("after", "not a cursor this service issued")
        return int(number)

    def read_events(self, customer: str, contract_no: str, after: str | None, limit: int) -> dict:
        start = self._cursor_seq(after)
        with self.db.tx() as conn:
            self._contract_row(conn, customer, contract_no)
            self._process_requests_due(conn, contract_no)
            self._end_pauses(conn, contract_no)
            rows = conn.execute(
                "SELECT seq, type, tckn, policy_no, effective_on, notified_on FROM events "
                "WHERE contract_no = ? AND seq > ? ORDER BY seq LIMIT ?",
                (contract_no, start, limit),
            ).fetchall()
        return {
            "events": [
                {"id": f"EV{r[0]:010d}", "type": r[1], "tckn": r[2], "policy_no": r[3], "effective_on": r[4], "notified_on": r[5]}
                for r in rows
            ],
            "next_cursor": f"ev-{rows[-1][0]}" if rows else (after or "ev-0"),
        }

    def _event(self, conn: sqlite3.Connection, contract_no: str, kind: str, tckn: str, policy_no: str, effective_on: str,
               notified_on: str, *, months: int | None = None) -> str:  # fmt: skip
        """A status event from the insurer, and the policy's state after it; the event's id. A pause runs for
        its months (the law's longest, three, when nobody said), then the insurer resumes it by itself."""
        paused_until = _plus_months(effective_on, months or 3) if kind == "PAUSED" else None
        # The day a stop took effect: contributions of wages paid before it are still the policy's.
        stopped_on = None if EVENT_POLICY_STATE[kind] == "ACTIVE" else effective_on
        conn.execute("UPDATE policies SET state = ?, paused_until = ?, stopped_on = ? WHERE contract_no = ? AND tckn = ?",
                     (EVENT_POLICY_STATE[kind], paused_until, stopped_on, contract_no, tckn))  # fmt: skip
        seq = conn.execute(
            "INSERT INTO events (contract_no, type, tckn, policy_no, effective_on, notified_on, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (contract_no, kind, tckn, policy_no, effective_on, notified_on, self.clock()),
        ).lastrowid
        return f"EV{seq:010d}"

    def inject_event(self, req: EventInjection) -> dict:
        today = date.fromtimestamp(self.clock())
        with self.db.tx() as conn:
            policy = conn.execute(
                "SELECT policy_no FROM policies WHERE contract_no = ? AND tckn = ?", (req.contract_no, req.tckn)
            ).fetchone()
            if policy is None:
                raise ApiError(404, "NOT_FOUND", "no policy for this person on the contract")
            effective_on = (req.effective_on or today).isoformat()
            notified_on = (req.notified_on or today).isoformat()
            event_id = self._event(conn, req.contract_no, req.type, req.tckn, policy[0], effective_on, notified_on)
        return {"id": event_id, "type": req.type, "tckn": req.tckn, "policy_no": policy[0], "effective_on": effective_on,
                "notified_on": notified_on}  # fmt: skip

    # --- requests made at the employer -----------------------------------------------------------------

    _REQUEST_EVENTS = {"OPT_OUT": "OPTED_OUT", "PAUSE": "PAUSED", "RESUME": "RESUMED", "LEAVE": "LEFT"}
    _REQUEST_COLUMNS = "request_id, contract_no, tckn, policy_no, kind, requested_on, months, state, event_id, error_code, error_message"

    def _request_body(self, row) -> dict:
        return {
            "request_id": row[0], "contract_no": row[1], "tckn": row[2], "policy_no": row[3], "kind": row[4],
            "requested_on": row[5], "months": row[6], "state": row[7], "event_id": row[8],
            "error": {"code": row[9], "message": row[10]} if row[9] else None,
        }  # fmt: skip

    def _request_row(self, conn: sqlite3.Connection, customer: str, request_id: str):
        row = conn.execute(
            f"SELECT {self._REQUEST_COLUMNS}, (SELECT customer_no FROM contracts c WHERE c.contract_no = r.contract_no) "
            "FROM requests r WHERE request_id = ?",
            (request_id,),
        ).fetchone()
        if row is None or row[11] != customer:
            raise ApiError(404, "REQUEST_NOT_FOUND", "no such request for this customer", details={"request_id": request_id})
        return row

    def create_request(self, customer: str, contract_no: str, key: str, req: EmployerRequest) -> tuple[int, dict]:
        endpoint = f"POST /api/v1/contracts/{contract_no}/requests"
        digest = body_hash(req)
        with self.db.tx() as conn:
            existing = self._replayed(conn, customer, key, endpoint, digest)
            if existing is not None:
                return 200, self._request_body(self._request_row(conn, customer, existing))
            self._contract_row(conn, customer, contract_no)
            request_id = _new_id("RQ")
            conn.execute(
                "INSERT INTO requests (request_id, contract_no, tckn, policy_no, kind, requested_on, months, state, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, 'RECEIVED', ?)",
                (request_id, contract_no, req.tckn, req.policy_no, req.kind, req.requested_on.isoformat(), req.months, self.clock()),
            )
            self._remember(conn, customer, key, endpoint, digest, request_id)
            return 201, self._request_body(self._request_row(conn, customer, request_id))

    def get_request(self, customer: str, request_id: str) -> dict:
        with self.db.tx() as conn:
            row = self._request_row(conn, customer, request_id)
            self._process_requests_due(conn, row[1])
            return self._request_body(self._request_row(conn, customer, request_id))

    def _process_requests_due(self, conn: sqlite3.Connection, contract_no: str | None = None, *, force: bool = False) -> int:
        """The insurer decides the requests forwarded to it once its delay has passed: a live policy of that
        person takes the change and a status event says so (the same event an employee's own request at the
        insurer makes); anything else is refused with its reason."""
        delay = Settings(**self.db.get_setting(conn, "settings", asdict(self.defaults))).insurer_delay
        now = self.clock()
        query = f"SELECT {self._REQUEST_COLUMNS}, created_at FROM requests WHERE state = 'RECEIVED'"
        rows = conn.execute(query + (" AND contract_no = ?" if contract_no else "") + " ORDER BY created_at",
                            (contract_no,) if contract_no else ()).fetchall()  # fmt: skip
        done = 0
        for row in rows:
            if not force and now < row[11] + delay:
                continue
            request_id, contract, tckn, policy_no, kind = row[0], row[1], row[2], row[3], row[4]
            policy = conn.execute("SELECT policy_no, state FROM policies WHERE contract_no = ? AND tckn = ?", (contract, tckn)).fetchone()
            error = None
            if policy is None or policy[0] != policy_no:
                error = "POLICY_NOT_FOUND"
            elif kind == "RESUME" and policy[1] != "PAUSED":
                error = "NOT_PAUSED"
            elif kind != "RESUME" and policy[1] not in LIVE_POLICY:
                error = "POLICY_INACTIVE"
            if error:
                conn.execute("UPDATE requests SET state = 'REFUSED', error_code = ?, error_message = ?, done_at = ? WHERE request_id = ?",
                             (error, PERSON_ERRORS[error], now, request_id))  # fmt: skip
            else:
                notified = date.fromtimestamp(now).isoformat()
                event_id = self._event(conn, contract, self._REQUEST_EVENTS[kind], tckn, policy_no, row[5], notified, months=row[6])
                conn.execute("UPDATE requests SET state = 'DONE', event_id = ?, done_at = ? WHERE request_id = ?", (event_id, now, request_id))
            done += 1
        return done

    def _end_pauses(self, conn: sqlite3.Connection, contract_no: str | None = None) -> int:
        """Pauses whose months have run out end by themselves: the policy is active again and a RESUMED
        event (effective the day the pause ran until) says so."""
        today = date.fromtimestamp(self.clock()).isoformat()
        query = "SELECT contract_no, tckn, policy_no, paused_until FROM policies WHERE state = 'PAUSED' AND paused_until < ?"
        rows = conn.execute(query + (" AND contract_no = ?" if contract_no else ""), (today, contract_no) if contract_no else (today,)).fetchall()
        for contract, tckn, policy_no, until in rows:
            self._event(conn, contract, "RESUMED", tckn, policy_no, until, today)
        return len(rows)

    def policies(self, contract_no: str | None = None) -> list[dict]:
        """Every policy the insurers hold, with the person's record as the insurer knows it (tests compare it
        with the store's, person by person)."""
        self.process_due()
        with self.db.tx() as conn:
            rows = conn.execute(
                "SELECT contract_no, tckn, policy_no, state, first_name, last_name, birth_date, mobile, email, iban, fund_kind, "
                "hire_date, exit_date, paused_until FROM policies" + (" WHERE contract_no = ?" if contract_no else "") + " ORDER BY contract_no, tckn",
                (contract_no,) if contract_no else (),
            ).fetchall()
        names = ("contract_no", "tckn", "policy_no", "state", "first_name", "last_name", "birth_date", "mobile", "email", "iban",
                 "fund_kind", "hire_date", "exit_date", "paused_until")  # fmt: skip
        return [dict(zip(names, row, strict=True)) for row in rows]

    # --- identity register ---------------------------------------------------------------------------

    def load_register(self, rows: Iterable[tuple[str, str, str, str]]) -> int:
        with self.db.tx() as conn:
            conn.execute("DELETE FROM register")
            conn.executemany(
                "INSERT INTO register (tckn, first_name, last_name, birth_date) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (tckn) DO UPDATE SET first_name = excluded.first_name, last_name = excluded.last_name, "
                "birth_date = excluded.birth_date",
                rows,
            )
            self.db.set_setting(conn, "register_loaded", True)
            return conn.execute("SELECT count(*) FROM register").fetchone()[0]

    def unload_register(self) -> None:
        with self.db.tx() as conn:
            conn.execute("DELETE FROM register")
            self.db.set_setting(conn, "register_loaded", False)

    def register_state(self) -> dict:
        with self.db.tx() as conn:
            return {
                "loaded": self.db.get_setting(conn, "register_loaded", False),
                "people": conn.execute("SELECT count(*) FROM register").fetchone()[0],
            }

    # --- what tests and demos look at ----------------------------------------------------------------

    def state(self) -> dict:
        self.process_due()
        with self.db.tx() as conn:
            lists = conn.execute(
                "SELECT list_id, contract_no, period, state, people_received, batches_received, batch_count, counts "
                "FROM personnel_lists ORDER BY created_at"
            ).fetchall()
            payments = conn.execute(
                "SELECT payment_id, contract_no, period, kind, state, items_received, total, accepted_total, "
                "batches_received, batch_count FROM payments ORDER BY created_at"
            ).fetchall()
            policies = dict(conn.execute("SELECT state, count(*) FROM policies GROUP BY state").fetchall())
            scalar = lambda sql: conn.execute(sql).fetchone()[0]  # noqa: E731
            return {
                "customers": scalar("SELECT count(*) FROM customers"),
                "tokens_issued": scalar("SELECT count(*) FROM tokens"),
                "contracts": scalar("SELECT count(*) FROM contracts"),
                "personnel_lists": [
                    {
                        "list_id": r[0], "contract_no": r[1], "period": r[2], "state": r[3], "people": r[4],
                        "batches_received": r[5], "batch_count": r[6], "counts": json.loads(r[7]) if r[7] else None,
                    }
                    for r in lists
                ],
                "payments": [
                    {
                        "payment_id": r[0], "contract_no": r[1], "period": r[2], "kind": r[3], "state": r[4], "items": r[5],
                        "total": _money(r[6]), "accepted_total": _money(r[7]), "batches_received": r[8], "batch_count": r[9],
                    }
                    for r in payments
                ],
                "policies": policies,
                "events": scalar("SELECT count(*) FROM events"),
                "idempotency_keys": scalar("SELECT count(*) FROM idempotency"),
                "register": {
                    "loaded": self.db.get_setting(conn, "register_loaded", False),
                    "people": scalar("SELECT count(*) FROM register"),
                },
                "settings": self.db.get_setting(conn, "settings", asdict(self.defaults)),
            }
