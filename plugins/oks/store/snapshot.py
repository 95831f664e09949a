"""Runs and their payroll snapshot: set-based writes (oks.store.bulk: COPY on PostgreSQL).

A run (one monthly run, or a re-run of it) owns its snapshot: ``replace_snapshot`` clears what the run
had — lines, quarantine, contributions — so a re-run starts from the source again, never from a
half-written earlier attempt.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from oks.store.bulk import bulk_insert
from oks.store.schema import contributions, payroll_lines, quarantine, run_attempts, runs

__all__ = ["RunBusy", "start_run", "ensure_owner", "release_run", "clear_run_data", "insert_lines", "insert_quarantine", "record_step", "finish_run", "fail_run", "runs_without_pek_limits", "LINE_COLUMNS"]

LINE_COLUMNS: tuple[str, ...] = tuple(c.name for c in payroll_lines.columns if c.name != "id")
QUARANTINE_COLUMNS: tuple[str, ...] = ("run_id", "row_no", "payroll_id", "stage", "field", "rule", "message")


class RunBusy(RuntimeError):
    """The period (and employer set) is being run by another owner right now: one run at a time."""


def _busy(conn: Connection, run_key: str, period: str, wanted_by: str | None) -> RunBusy:
    from oks.rules.calendar import istanbul_text

    row = conn.execute(sa.select(runs.c.owner, runs.c.owned_since, runs.c.started_at).where(runs.c.run_key == run_key)).first()
    since = istanbul_text(row.owned_since or row.started_at) if row is not None else "just now"
    holder = (row.owner if row is not None else None) or "another run"
    return RunBusy(
        f"period {period} (run {run_key}) is already being run by {holder} since {since}; "
        f"{wanted_by or 'this run'} does not start a second one. Wait until it finishes, or — if it is dead — "
        f"release it: oks release-run {run_key} --by <who>"
    )


def start_run(
    conn: Connection,
    *,
    run_key: str,
    period: str,
    employers: Sequence[str] | None = None,
    dry_run: bool = False,
    source: str | None = None,
    owner: str | None = None,
) -> int:
    """The id of the run ``run_key``, created or — for a re-run of the same key — reset to running.

    ``owner`` (an Airflow run id) claims it: a run still *running* under another owner is not reset
    but refused with :class:`RunBusy` — two runs of one period at once, from two triggers, two
    machines or two Airflow homes on one store, would replace each other's snapshot. The claim is one
    conditional UPDATE, atomic on SQLite and PostgreSQL alike; the same owner may always re-claim
    (a task retried, a run cleared)."""
    values = dict(
        period=period,
        employers=list(employers) if employers else None,
        dry_run=dry_run,
        source=source,
        state="running",
        finished_at=None,
        summary=None,
        owner=owner,
        owned_since=sa.func.current_timestamp(),
    )
    existing = conn.execute(sa.select(runs.c.id, runs.c.period).where(runs.c.run_key == run_key)).first()
    if existing is None:
        # ON CONFLICT DO NOTHING: a run created by another owner this very moment is not an error
        # that aborts the transaction, but a row to claim (or be refused) like any other.
        insert = _insert_for(conn).values(run_key=run_key, **values).on_conflict_do_nothing(index_elements=["run_key"])
        created = conn.execute(insert.returning(runs.c.id)).scalar_one_or_none()
        if created is not None:
            _new_attempt(conn, created, owner)
            return created
        existing = conn.execute(sa.select(runs.c.id, runs.c.period).where(runs.c.run_key == run_key)).one()
    if existing.period != period:
        raise ValueError(f"run {run_key!r} is for period {existing.period}, not {period}")
    free = sa.or_(runs.c.state != "running", runs.c.owner.is_(None), *([runs.c.owner == owner] if owner else []))
    claimed = conn.execute(
        sa.update(runs).where(runs.c.id == existing.id, free).values(started_at=sa.func.current_timestamp(), **values)
    )
    if claimed.rowcount != 1:
        raise _busy(conn, run_key, period, owner)
    _new_attempt(conn, existing.id, owner)
    return existing.id


def _new_attempt(conn: Connection, run_id: int, owner: str | None) -> None:
    # An attempt left open (its process killed, its task retried) ended when the next one began.
    conn.execute(
        sa.update(run_attempts).where(run_attempts.c.run_id == run_id, run_attempts.c.finished_at.is_(None))
        .values(state="superseded", finished_at=sa.func.current_timestamp())
    )  # fmt: skip
    conn.execute(sa.insert(run_attempts).values(run_id=run_id, owner=owner))


def _insert_for(conn: Connection):
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(runs)


def ensure_owner(conn: Connection, run_id: int, owner: str | None) -> None:
    """Stop a step of ``owner`` whose run was taken over (released and claimed by another run)."""
    if owner is None:
        return
    row = conn.execute(sa.select(runs.c.run_key, runs.c.owner).where(runs.c.id == run_id)).first()
    if row is not None and row.owner not in (None, owner):
        raise RunBusy(f"run {row.run_key} now belongs to {row.owner}: {owner} was released and stops here")


def release_run(conn: Connection, run_key: str, *, by: str) -> bool:
    """End a running run whose owner is gone (a killed process, a deleted Airflow run), so the period
    can run again; recorded as failed, released by ``by``. False if it was not running."""
    row = conn.execute(sa.select(runs.c.id, runs.c.state, runs.c.owner).where(runs.c.run_key == run_key)).first()
    if row is None or row.state != "running":
        return False
    finish_run(conn, row.id, state="failed", summary={"failure": {"task": None, "error": f"released by {by}", "owner": row.owner}})
    return True


def _summary_of(conn: Connection, run_id: int) -> dict:
    current = conn.execute(sa.select(runs.c.summary).where(runs.c.id == run_id)).scalar_one()
    return dict(current) if isinstance(current, dict) else {}


def record_step(conn: Connection, run_id: int, step: str, summary: dict) -> None:
    """Keep a step's summary in the run (``summary[step]``), beside the other steps' — the report,
    the run summary and ``oks parameters`` read them from here."""
    conn.execute(sa.update(runs).where(runs.c.id == run_id).values(summary={**_summary_of(conn, run_id), step: summary}))


def finish_run(conn: Connection, run_id: int, *, state: str, summary: dict | None = None) -> None:
    """End the run in ``state``; ``summary`` keys are merged into what the steps recorded (a failed
    validation keeps the extraction's counts). Its latest attempt ends the same way, and keeps it."""
    merged = {**_summary_of(conn, run_id), **(summary or {})}
    conn.execute(
        sa.update(runs).where(runs.c.id == run_id).values(state=state, summary=merged, finished_at=sa.func.current_timestamp())
    )
    failure = (summary or {}).get("failure") or ({"error": (summary or {}).get("error")} if (summary or {}).get("error") else None)
    latest = sa.select(sa.func.max(run_attempts.c.id)).where(run_attempts.c.run_id == run_id).scalar_subquery()
    conn.execute(
        sa.update(run_attempts).where(run_attempts.c.id == latest)
        .values(state=state, finished_at=sa.func.current_timestamp(), failure=failure)
    )  # fmt: skip


def fail_run(conn: Connection, run_key: str, failure: dict, *, owner: str | None = None) -> bool:
    """Mark the run ``run_key`` failed with ``failure`` (task, error) in its summary; False if there
    is no such run yet (the failure came before extraction created it) or it belongs to another owner
    (a run refused as a second one must not fail the first)."""
    row = conn.execute(sa.select(runs.c.id, runs.c.owner).where(runs.c.run_key == run_key)).first()
    if row is None or (owner is not None and row.owner not in (None, owner)):
        return False
    finish_run(conn, row.id, state="failed", summary={"failure": failure})
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


def insert_lines(conn: Connection, rows: list[dict]) -> None:
    """Bulk-insert typed payroll lines (dicts keyed by ``LINE_COLUMNS``)."""
    bulk_insert(conn, payroll_lines, LINE_COLUMNS, rows)


def insert_quarantine(conn: Connection, rows: list[dict]) -> None:
    """Bulk-insert quarantine records; each message must already be masked."""
    bulk_insert(conn, quarantine, QUARANTINE_COLUMNS, rows)

