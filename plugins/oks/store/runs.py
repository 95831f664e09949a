"""Reads of the store's runs: what the glue, the operations view and the local job ask about a run."""

from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine, Row

from oks.store.schema import run_attempts, runs

__all__ = ["is_dry_run", "recent_runs", "run_by_key", "RunTotals", "run_totals"]


def is_dry_run(engine: Engine, run_id: int) -> bool:
    with engine.connect() as conn:
        return bool(conn.execute(sa.select(runs.c.dry_run).where(runs.c.id == run_id)).scalar_one())


def recent_runs(engine: Engine, *, limit: int = 200) -> tuple[list[Row], dict[int, list[Row]]]:
    """The newest ``limit`` runs, and every attempt of each (failed ones too), oldest attempt first."""
    with engine.connect() as conn:
        found = conn.execute(sa.select(runs).order_by(runs.c.id.desc()).limit(limit)).all()
        attempts: dict[int, list[Row]] = {}
        if found:
            query = sa.select(run_attempts).where(run_attempts.c.run_id.in_([r.id for r in found])).order_by(run_attempts.c.id)
            for attempt in conn.execute(query):
                attempts.setdefault(attempt.run_id, []).append(attempt)
    return found, attempts


def run_by_key(conn: Connection, run_key: str) -> Row | None:
    return conn.execute(sa.select(runs.c.id, runs.c.state, runs.c.summary, runs.c.owner).where(runs.c.run_key == run_key)).first()


@dataclass(frozen=True)
class RunTotals:
    """A run at a glance: outcomes, quarantined rows per stage, money per insurer, obligations."""

    outcomes: dict[str, int] = field(default_factory=dict)
    quarantined_rows: dict[str, int] = field(default_factory=dict)
    per_insurer: list[tuple] = field(default_factory=list)
    obligations: list[tuple] = field(default_factory=list)


def run_totals(conn: Connection, run_id: int) -> RunTotals:
    r = {"r": run_id}
    return RunTotals(
        outcomes=dict(conn.execute(sa.text("SELECT outcome, COUNT(*) FROM contributions WHERE run_id = :r GROUP BY outcome"), r).all()),
        quarantined_rows=dict(conn.execute(sa.text(
            "SELECT stage, COUNT(DISTINCT row_no) FROM quarantine WHERE run_id = :r GROUP BY stage"), r).all()),
        per_insurer=[tuple(row) for row in conn.execute(sa.text(
            "SELECT c.insurer, COUNT(DISTINCT c.contract_no), SUM(k.amount) FROM contributions k "
            "JOIN contracts c ON c.id = k.contract_id WHERE k.run_id = :r AND k.outcome = 'contributed' "
            "GROUP BY c.insurer ORDER BY c.insurer"), r).all()],
        obligations=[tuple(row) for row in conn.execute(sa.text(
            "SELECT o.id, c.contract_no, c.insurer, o.payment_kind, o.amount, o.due_on, o.cutoff, o.state "
            "FROM payment_obligations o JOIN contracts c ON c.id = o.contract_id WHERE o.run_id = :r "
            "ORDER BY o.due_on, c.contract_no"), r).all()],
    )  # fmt: skip
