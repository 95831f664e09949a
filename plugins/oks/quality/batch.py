"""The batch Great Expectations validates: a view holding exactly one run's snapshot.

GX's failing-row query (``unexpected_index_query``) names the batch's table and leaves out any
filter GX applied to it — for a query asset it is not even valid SQL. Over a view that *is* the run,
the query is exact: the validation step runs it to fill the quarantine. The view lives only while the
step runs; its name carries the run id, so runs validated side by side never share one.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.engine import Engine

__all__ = ["run_view", "view_name", "view_sql"]


def view_name(run_id: int) -> str:
    return f"oks_validate_run_{int(run_id)}"


def view_sql(run_id: int) -> str:
    """The same rows as a subquery, for people reading a failing-row query after the view is gone."""
    return f"(SELECT * FROM payroll_lines WHERE run_id = {int(run_id)}) AS {view_name(run_id)}"


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
