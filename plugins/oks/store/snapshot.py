"""Runs and their payroll snapshot: set-based writes, COPY on PostgreSQL.

A run (one monthly run, or a re-run of it) owns its snapshot: ``replace_snapshot`` clears what the run
had — lines, quarantine, contributions — so a re-run starts from the source again, never from a
half-written earlier attempt.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from oks.store.schema import contributions, payroll_lines, quarantine, runs

__all__ = ["BulkLoadError", "start_run", "clear_run_data", "insert_lines", "insert_quarantine", "record_step", "finish_run", "fail_run", "runs_without_pek_limits", "refresh_statistics", "LINE_COLUMNS"]

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


def _summary_of(conn: Connection, run_id: int) -> dict:
    current = conn.execute(sa.select(runs.c.summary).where(runs.c.id == run_id)).scalar_one()
    return dict(current) if isinstance(current, dict) else {}


def record_step(conn: Connection, run_id: int, step: str, summary: dict) -> None:
    """Keep a step's summary in the run (``summary[step]``), beside the other steps' — the report,
    the run summary and ``oks parameters`` read them from here."""
    conn.execute(sa.update(runs).where(runs.c.id == run_id).values(summary={**_summary_of(conn, run_id), step: summary}))


def finish_run(conn: Connection, run_id: int, *, state: str, summary: dict | None = None) -> None:
    """End the run in ``state``; ``summary`` keys are merged into what the steps recorded (a failed
    validation keeps the extraction's counts)."""
    conn.execute(
        sa.update(runs)
        .where(runs.c.id == run_id)
        .values(state=state, summary={**_summary_of(conn, run_id), **(summary or {})}, finished_at=sa.func.current_timestamp())
    )


def fail_run(conn: Connection, run_key: str, failure: dict) -> bool:
    """Mark the run ``run_key`` failed with ``failure`` (task, error) in its summary; False if there
    is no such run yet (the failure came before extraction created it)."""
    run_id = conn.execute(sa.select(runs.c.id).where(runs.c.run_key == run_key)).scalar_one_or_none()
    if run_id is None:
        return False
    finish_run(conn, run_id, state="failed", summary={"failure": failure})
    return True


def runs_without_pek_limits(conn: Connection) -> list[dict]:
    """Runs whose validation could not check PEK against the SGK limits (their year had no file):
    run key, period, state and the reason recorded — for ``oks parameters`` and the people who must
    re-run those periods once the file is added."""
    found = []
    for row in conn.execute(sa.select(runs.c.run_key, runs.c.period, runs.c.state, runs.c.summary).order_by(runs.c.period, runs.c.id)):
        limits = ((row.summary or {}).get("validate") or {}).get("pek_limits") or {}
        if limits.get("checked") is False:
            found.append({"run_key": row.run_key, "period": row.period, "state": row.state,
                          "reason": limits.get("reason"), "missing_file": limits.get("missing_file")})  # fmt: skip
    return found


def clear_run_data(conn: Connection, run_id: int) -> None:
    """Forget the run's snapshot and everything derived from it."""
    conn.execute(sa.delete(contributions).where(contributions.c.run_id == run_id))
    conn.execute(sa.delete(quarantine).where(quarantine.c.run_id == run_id))
    conn.execute(sa.delete(payroll_lines).where(payroll_lines.c.run_id == run_id))


def _copy_field(value: object) -> str:
    # NULL is the unquoted empty field; every value is quoted, so no text — an empty name, the
    # letters \N — can ever be read back as NULL, and a separator or quote inside stays data.
    if value is None:
        return ""
    if isinstance(value, bool):
        value = "t" if value else "f"
    return '"' + str(value).replace('"', '""') + '"'


class BulkLoadError(RuntimeError):
    """A bulk load the database refused. The message names the table and the load's first row only:
    the database's own text quotes the refused value (a name, a TCKN), so it is never passed on."""


def _copy(conn: Connection, table: sa.Table, columns: Sequence[str], rows: Iterable[dict]) -> None:
    rows = list(rows)
    buffer = io.StringIO()
    for row in rows:
        buffer.write(",".join(_copy_field(row.get(c)) for c in columns))
        buffer.write("\n")
    buffer.seek(0)
    cursor = conn.connection.dbapi_connection.cursor()
    try:
        cursor.copy_expert(f"COPY {table.name} ({', '.join(columns)}) FROM STDIN WITH (FORMAT csv)", buffer)
    except Exception as exc:  # noqa: BLE001 - any driver error: its text may hold the value
        first = rows[0].get("row_no") if rows else None
        kind = type(getattr(exc, "orig", exc)).__name__
        raise BulkLoadError(
            f"loading {len(rows)} rows into {table.name} failed ({kind}; the batch starts at payroll row {first}); "
            "the database's message is withheld because it quotes personal data"
        ) from None
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

