"""The batch Great Expectations validates: a view holding exactly one run's snapshot.

GX's failing-row query (``unexpected_index_query``) names the batch's table and leaves out any
filter GX applied to it — for a query asset it is not even valid SQL. Over a view that *is* the run,
the query is exact: the validation step runs it to fill the quarantine. The view lives only while the
step runs; its name carries the run id, so runs validated side by side never share one.

On PostgreSQL the sessions that read the batch get a few settings of their own (see
:func:`postgres_session_settings`).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.engine import Engine

__all__ = ["run_view", "view_name", "view_sql", "postgres_session_settings"]


def view_name(run_id: int) -> str:
    return f"oks_validate_run_{int(run_id)}"


def view_sql(run_id: int) -> str:
    """The same rows as a subquery, for people reading a failing-row query after the view is gone."""
    return f"(SELECT * FROM payroll_lines WHERE run_id = {int(run_id)}) AS {view_name(run_id)}"


def postgres_session_settings(lines: int) -> dict[str, str]:
    """What the validation queries need from a PostgreSQL session, for a snapshot of ``lines`` rows.

    ``jit = off``: the checks are wide expressions; compiling them costs seconds per query and saves
    less than that on a month's payroll (bench/bench_quality.py).
    ``work_mem``: the duplicate check asks "is this row_no among the repeats?". The planner cannot
    know the repeats are few and guesses a third of the rows; when that guess does not fit in
    work_mem it probes an unhashed list once per row — hours at a million rows instead of
    seconds. Sized from the guess; the memory actually used is the size of the real repeats.
    """
    guessed_hash_mib = lines / 3 * 64 / 2**20
    work_mem_mib = max(16, math.ceil(guessed_hash_mib * 1.5))
    return {"jit": "off", "work_mem": f"{work_mem_mib}MB"}


@contextmanager
def run_view(engine: Engine, run_id: int) -> Iterator[str]:
    name = view_name(run_id)
    with engine.begin() as conn:
        # A crashed earlier attempt may have left it behind.
        conn.exec_driver_sql(f"DROP VIEW IF EXISTS {name}")
        conn.exec_driver_sql(f"CREATE VIEW {name} AS SELECT * FROM payroll_lines WHERE run_id = {int(run_id)}")
    try:
        yield name
    finally:
        with engine.begin() as conn:
            conn.exec_driver_sql(f"DROP VIEW IF EXISTS {name}")
