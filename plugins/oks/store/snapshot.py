"""Runs and their payroll snapshot: set-based writes, COPY on PostgreSQL.

A run (one monthly run, or a re-run of it) owns its snapshot: ``replace_snapshot`` clears what the run
had — lines, quarantine, contributions — so a re-run starts from the source again, never from a
half-written earlier attempt.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from oks.store.schema import contributions, payroll_lines, quarantine, runs

__all__ = ["start_run", "clear_run_data", "insert_lines", "insert_quarantine", "finish_run", "refresh_statistics", "LINE_COLUMNS"]

LINE_COLUMNS: tuple[str, ...] = tuple(c.name for c in payroll_lines.columns if c.name != "id")
QUARANTINE_COLUMNS: tuple[str, ...] = ("run_id", "row_no", "payroll_id", "stage", "field", "rule", "message")


def start_run(
    conn: Connection,
    *,
    run_key: str,
    period: str,
    employers: Sequence[str] | None = None,
    dry_run: bool = False,
    source: str | None = None,
) -> int:
    """The id of the run ``run_key``, created or — for a re-run of the same key — reset to running."""
    existing = conn.execute(sa.select(runs.c.id, runs.c.period).where(runs.c.run_key == run_key)).first()
    values = dict(
        period=period,
        employers=list(employers) if employers else None,
        dry_run=dry_run,
        source=source,
        state="running",
        finished_at=None,
        summary=None,
    )
    if existing is None:
        return conn.execute(sa.insert(runs).values(run_key=run_key, **values).returning(runs.c.id)).scalar_one()
    if existing.period != period:
        raise ValueError(f"run {run_key!r} is for period {existing.period}, not {period}")
    conn.execute(sa.update(runs).where(runs.c.id == existing.id).values(started_at=sa.func.current_timestamp(), **values))
    return existing.id


def finish_run(conn: Connection, run_id: int, *, state: str, summary: dict | None = None) -> None:
    conn.execute(
        sa.update(runs)
        .where(runs.c.id == run_id)
        .values(state=state, summary=summary, finished_at=sa.func.current_timestamp())
    )


def clear_run_data(conn: Connection, run_id: int) -> None:
    """Forget the run's snapshot and everything derived from it."""
    conn.execute(sa.delete(contributions).where(contributions.c.run_id == run_id))
    conn.execute(sa.delete(quarantine).where(quarantine.c.run_id == run_id))
    conn.execute(sa.delete(payroll_lines).where(payroll_lines.c.run_id == run_id))


def _copy_value(value: object) -> str:
    if value is None:
        return r"\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    return str(value)


def _copy(conn: Connection, table: sa.Table, columns: Sequence[str], rows: Iterable[dict]) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    for row in rows:
        writer.writerow([_copy_value(row.get(c)) for c in columns])
    buffer.seek(0)
    cursor = conn.connection.dbapi_connection.cursor()
    try:
        cursor.copy_expert(
            f"COPY {table.name} ({', '.join(columns)}) FROM STDIN WITH (FORMAT csv, NULL '\\N')",
            buffer,
        )
    finally:
        cursor.close()


def _bulk(conn: Connection, table: sa.Table, columns: Sequence[str], rows: list[dict]) -> None:
    if not rows:
        return
    if conn.dialect.name == "postgresql":
        _copy(conn, table, columns, rows)
    else:
        conn.execute(sa.insert(table), [{c: row.get(c) for c in columns} for row in rows])


def refresh_statistics(conn: Connection, *tables: str) -> None:
    """ANALYZE tables after a bulk load (PostgreSQL): with the statistics of an empty table the planner
    picks nested loops over a hundred thousand rows — minutes instead of seconds."""
    if conn.dialect.name == "postgresql":
        for table in tables:
            conn.exec_driver_sql(f"ANALYZE {table}")


def insert_lines(conn: Connection, rows: list[dict]) -> None:
    """Bulk-insert typed payroll lines (dicts keyed by ``LINE_COLUMNS``)."""
    _bulk(conn, payroll_lines, LINE_COLUMNS, rows)


def insert_quarantine(conn: Connection, rows: list[dict]) -> None:
    """Bulk-insert quarantine records; each message must already be masked."""
    _bulk(conn, quarantine, QUARANTINE_COLUMNS, rows)

