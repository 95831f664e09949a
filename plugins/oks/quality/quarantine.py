"""Failing rows into the store's quarantine: every row an error-level check refused, with field, rule
and a masked message; streamed, so memory stays bounded by the chunk size whatever the headcount.

The rows are the ones GX's ``unexpected_index_query`` selects. Each query's row count must equal
the count GX reported for that expectation, or the step stops: a quarantine that silently misses
rows would let them through.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from oks.quality.batch import postgres_session_settings
from oks.quality.checks import QualitySettings, RunFacts
from oks.quality.gx_runtime import Outcome
from oks.store.schema import payroll_lines, quarantine
from oks.store.snapshot import insert_quarantine

__all__ = ["STAGE", "record_failures", "quarantined_rows"]

STAGE = "validate"
_MESSAGE_LENGTH = 500


def _failing_lines(run_id: int, outcome: Outcome) -> sa.Select:
    # literal_column, not text(): GX's SQL may hold ":" (a regex) that text() would read as a parameter.
    failing = sa.literal_column(f"(SELECT failing.row_no FROM ({outcome.index_query}) AS failing)")
    columns = dict.fromkeys(("row_no", "payroll_id", *outcome.check.columns))
    return (
        sa.select(*(payroll_lines.c[name] for name in columns))
        .where(payroll_lines.c.run_id == run_id, payroll_lines.c.row_no.op("IN")(failing))
        .order_by(payroll_lines.c.row_no)
    )


def record_failures(
    engine: Engine,
    facts: RunFacts,
    outcomes: Iterable[Outcome],
    settings: QualitySettings,
    *,
    lines: int,
    chunk_size: int = 5_000,
) -> Counter[tuple[str, str]]:
    """Replace the run's validation quarantine with the failing rows of ``outcomes`` (error level);
    ``lines`` is the snapshot's size. Returns rows per (field, rule)."""
    counts: Counter[tuple[str, str]] = Counter()
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            for name, value in postgres_session_settings(lines).items():
                conn.exec_driver_sql(f"SET LOCAL {name} = '{value}'")
        conn.execute(sa.delete(quarantine).where(quarantine.c.run_id == facts.run_id, quarantine.c.stage == STAGE))
        for outcome in outcomes:
            check = outcome.check
            if check.level != "error" or not outcome.unexpected_count:
                continue
            if not outcome.index_query:
                raise RuntimeError(f"check {check.name}: GX gave no failing-row query")
            key = (check.field, check.rule)
            result = conn.execution_options(stream_results=True, yield_per=chunk_size).execute(
                _failing_lines(facts.run_id, outcome)
            )
            for chunk in result.mappings().partitions():
                insert_quarantine(
                    conn,
                    [
                        {
                            "run_id": facts.run_id,
                            "row_no": row["row_no"],
                            "payroll_id": row["payroll_id"],
                            "stage": STAGE,
                            "field": check.field,
                            "rule": check.rule,
                            "message": f"row {row['row_no']}, {check.message(row, facts, settings)}"[:_MESSAGE_LENGTH],
                        }
                        for row in chunk
                    ],
                )
                counts[key] += len(chunk)
            if counts[key] != outcome.unexpected_count:
                raise RuntimeError(
                    f"check {check.name}: GX counted {outcome.unexpected_count} failing rows, its query found {counts[key]}"
                )
    return counts


def quarantined_rows(engine: Engine, run_id: int, *, stage: str | None = None) -> int:
    """Distinct rows of the run in the quarantine (of one stage, or of all)."""
    query = sa.select(sa.func.count(sa.distinct(quarantine.c.row_no))).where(quarantine.c.run_id == run_id)
    if stage is not None:
        query = query.where(quarantine.c.stage == stage)
    with engine.connect() as conn:
        return conn.execute(query).scalar_one()
