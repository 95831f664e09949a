"""The DES request ledger (store table ``des_requests``): written before a call, updated after it.

Every request that creates something on DES is recorded with its idempotency key *before* it is
sent. A run that crashes between sending and hearing the answer leaves the row in state ``recorded``;
the re-run derives the same key, finds the row, sends again under that key, and DES answers with the
resource it already created (docs/architecture.md §6: at most one REGULAR payment per contract and period).

States: ``recorded`` (about to be sent, or the answer was never heard) → ``accepted`` (DES holds it:
``des_id``) or ``adopted`` (DES already held an identical payment under another key) → ``sent`` (on to
the insurer) → ``completed`` (insurer answered); or ``failed`` (DES refused it; ``last_error``) and
``conflict`` (a person must decide). Set-based SQLAlchemy Core; the same on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from oks.des.errors import LedgerConflict
from oks.privacy import redact
from oks.store.schema import des_requests

RECORDED, ACCEPTED, ADOPTED, SENT, COMPLETED, FAILED, CONFLICT = (
    "recorded", "accepted", "adopted", "sent", "completed", "failed", "conflict",
)
# What a state may move on to: a late or repeated update never moves a row backwards.
_EARLIER = {
    ACCEPTED: (RECORDED, FAILED),
    ADOPTED: (RECORDED, FAILED, CONFLICT),
    SENT: (RECORDED, ACCEPTED, ADOPTED, FAILED),
    COMPLETED: (RECORDED, ACCEPTED, ADOPTED, SENT, FAILED),
    FAILED: (RECORDED,),
    CONFLICT: (RECORDED, FAILED),
}
_CHUNK = 500  # keys per IN (...) list: well below SQLite's and PostgreSQL's parameter limits


@dataclass(frozen=True)
class LedgerEntry:
    """A request about to be sent."""

    kind: str  # contract | personnel_list | personnel_batch | payment | payment_batch
    contract_no: str
    period: str | None
    payment_kind: str | None
    idempotency_key: str
    content_hash: str
    run_id: int | None = None


@dataclass(frozen=True)
class LedgerRecord:
    id: int
    kind: str
    contract_no: str
    period: str | None
    payment_kind: str | None
    idempotency_key: str
    content_hash: str
    des_id: str | None
    state: str
    attempts: int
    last_error: str | None
    run_id: int | None

    @property
    def held_by_des(self) -> bool:
        """DES is known to hold this request's resource (so the call need not be repeated)."""
        return self.des_id is not None and self.state in (ACCEPTED, ADOPTED, SENT, COMPLETED)


_COLUMNS = [des_requests.c[name] for name in LedgerRecord.__dataclass_fields__]


def _record(row) -> LedgerRecord:
    return LedgerRecord(**row._mapping)


class Ledger:
    """The ledger over an engine holding the store schema (``oks.store.schema.metadata``)."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    # --- before the call -------------------------------------------------------------------------

    def record(self, entries: Sequence[LedgerEntry]) -> dict[str, LedgerRecord]:
        """Insert-or-get every entry; returns the rows by key. Race-safe: two runs recording the same
        keys at once both end up with the one row per key. A key already recorded for other content
        raises :class:`LedgerConflict` (keys are derived from content, so that is a bug)."""
        rows = [
            {
                "kind": e.kind,
                "contract_no": e.contract_no,
                "period": e.period,
                "payment_kind": e.payment_kind,
                "idempotency_key": e.idempotency_key,
                "content_hash": e.content_hash,
                "run_id": e.run_id,
            }
            for e in entries
        ]
        keys = [e.idempotency_key for e in entries]
        with self.engine.begin() as conn:
            known = {r.idempotency_key for r in self._select(conn, keys)}
            fresh = [row for row in rows if row["idempotency_key"] not in known]
            if fresh:
                self._insert_missing(conn, fresh)
        with self.engine.connect() as conn:
            found = {r.idempotency_key: r for r in self._select(conn, keys)}
        for entry in entries:
            have = found[entry.idempotency_key]
            if have.content_hash != entry.content_hash or have.kind != entry.kind:
                raise LedgerConflict(
                    f"idempotency key {entry.idempotency_key} is recorded for other content (ledger row {have.id})"
                )
        return found

    @staticmethod
    def _insert_missing(conn: sa.Connection, rows: list[dict]) -> None:
        dialect = conn.dialect.name
        if dialect in ("postgresql", "sqlite"):
            from sqlalchemy.dialects import postgresql, sqlite

            insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
            # A concurrent run may insert the same keys between our SELECT and this INSERT: its rows win
            # and ours are skipped, which is exactly insert-or-get.
            conn.execute(insert(des_requests).on_conflict_do_nothing(index_elements=["idempotency_key"]), rows)
            return
        for row in rows:  # other databases: one savepoint per row, a duplicate is read back afterwards
            try:
                with conn.begin_nested():
                    conn.execute(sa.insert(des_requests), [row])
            except IntegrityError:
                pass

    @staticmethod
    def _select(conn: sa.Connection, keys: Sequence[str]) -> list[LedgerRecord]:
        found: list[LedgerRecord] = []
        for start in range(0, len(keys), _CHUNK):
            chunk = keys[start : start + _CHUNK]
            found += [_record(r) for r in conn.execute(sa.select(*_COLUMNS).where(des_requests.c.idempotency_key.in_(chunk)))]
        return found

    # --- after the call --------------------------------------------------------------------------

    def _move(self, conn: sa.Connection, where, state: str, **values) -> int:
        """Set ``values`` (and add ``attempts``) on matching rows; change the state only forwards."""
        attempts = values.pop("attempts", 0)
        new_state = sa.case((des_requests.c.state.in_(_EARLIER[state]), sa.literal(state)), else_=des_requests.c.state)
        result = conn.execute(
            sa.update(des_requests)
            .where(where)
            .values(state=new_state, attempts=des_requests.c.attempts + attempts, updated_at=sa.func.current_timestamp(), **values)
        )
        return result.rowcount

    def accepted(self, key: str, des_id: str, *, attempts: int, state: str = ACCEPTED) -> None:
        """DES holds the resource ``des_id`` for ``key`` (created now, replayed, or adopted)."""
        with self.engine.begin() as conn:
            self._move(conn, des_requests.c.idempotency_key == key, state, des_id=des_id, attempts=attempts, last_error=None)

    def accepted_many(self, keys: Iterable[str], des_id: str, *, state: str = ACCEPTED) -> None:
        """Several rows (e.g. the batches of an adopted payment) now belong to ``des_id``."""
        keys = list(keys)
        with self.engine.begin() as conn:
            for start in range(0, len(keys), _CHUNK):
                chunk = keys[start : start + _CHUNK]
                self._move(conn, des_requests.c.idempotency_key.in_(chunk), state, des_id=des_id, last_error=None)

    def unanswered(self, key: str, *, attempts: int, error: str) -> None:
        """No usable answer (DES unavailable): the row stays ``recorded`` for the re-run to re-attach."""
        with self.engine.begin() as conn:
            conn.execute(
                sa.update(des_requests)
                .where(des_requests.c.idempotency_key == key)
                .values(
                    attempts=des_requests.c.attempts + attempts,
                    last_error=redact(error, 500),
                    updated_at=sa.func.current_timestamp(),
                )
            )

    def failed(self, key: str, *, attempts: int, error: str, state: str = FAILED) -> None:
        """DES refused the request (``failed``) or a person must decide (``conflict``)."""
        with self.engine.begin() as conn:
            self._move(conn, des_requests.c.idempotency_key == key, state, attempts=attempts, last_error=redact(error, 500))

    def advance(self, kind: str, des_id: str, state: str) -> int:
        """Move every ``kind`` row of resource ``des_id`` forward to ``state`` (sent, completed)."""
        with self.engine.begin() as conn:
            return self._move(conn, (des_requests.c.kind == kind) & (des_requests.c.des_id == des_id), state)

    # --- reading ---------------------------------------------------------------------------------

    def get(self, key: str) -> LedgerRecord | None:
        with self.engine.connect() as conn:
            found = self._select(conn, [key])
        return found[0] if found else None

    def find(
        self, contract_no: str, *, period: str | None = None, kind: str | None = None, run_id: int | None = None
    ) -> list[LedgerRecord]:
        query = sa.select(*_COLUMNS).where(des_requests.c.contract_no == contract_no)
        if run_id is not None:
            query = query.where(des_requests.c.run_id == run_id)
        if period is not None:
            query = query.where(des_requests.c.period == period)
        if kind is not None:
            query = query.where(des_requests.c.kind == kind)
        with self.engine.connect() as conn:
            return [_record(r) for r in conn.execute(query.order_by(des_requests.c.id))]
