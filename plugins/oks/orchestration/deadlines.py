"""The statutory payment deadline as an Airflow Deadline Alert reference — the monthly DAG's second net.

The first net is ``oks_deadline_watch``, which alerts from the store. This one needs nothing but
Airflow: when a monthly run is created, the scheduler asks :class:`StatutoryPaymentDeadline` for the
moment the month's contribution must be at the insurer, and if the run has not finished by then its
callback pages on-call from the triggerer.

The wage payment day is not known before payroll is extracted, so the reference assumes the day the
payroll team names in the run's ``expected_wage_day`` param (default: the period's last day — wages
are usually paid at the end of the month). An earlier real wage day is caught by the deadline watch.
"""

from __future__ import annotations

import calendar as _calendar
from datetime import date, datetime
from typing import Any

from airflow.sdk.definitions.deadline import BaseDeadlineReference

__all__ = ["StatutoryPaymentDeadline", "expected_due_at", "notify_deadline_missed"]


def expected_due_at(period: str, expected_wage_day: int | None = None) -> datetime:
    """The statutory due moment for wages of ``period`` paid on ``expected_wage_day`` (default: last day)."""
    from oks.rules.calendar import payment_deadline

    year, month = (int(part) for part in period.split("-"))
    last = _calendar.monthrange(year, month)[1]
    day = min(expected_wage_day or last, last)
    return payment_deadline(date(year, month, day)).due_at()


class StatutoryPaymentDeadline(BaseDeadlineReference):
    """Deadline reference: the statutory payment deadline of the run's pay period."""

    required_kwargs = {"dag_id", "run_id"}

    @property
    def reference_name(self) -> str:
        # What Airflow's UI prints ("Must complete within … of <this>"), where the class name read as
        # jargon; Airflow finds the class itself by its import path, never by this name.
        return "the statutory payment deadline (bank closing time on the business day after wages are paid)"

    def _evaluate_with(self, *, session: Any, **kwargs: Any) -> datetime | None:
        from airflow.models import DagRun
        from sqlalchemy import select

        run = session.scalar(select(DagRun).where(DagRun.dag_id == kwargs["dag_id"], DagRun.run_id == kwargs["run_id"]))
        if run is None:
            return None
        from oks.orchestration.monthly import resolve_period

        conf = run.conf or {}
        try:  # the month the run itself resolves, by the same rule
            period = resolve_period(conf, run.logical_date, now=run.run_after)
        except ValueError:
            return None
        return expected_due_at(period, conf.get("expected_wage_day"))


def _missed_deadline_message(context: dict) -> tuple[str, str]:
    """Subject and text of the page, from the context the scheduler hands the callback: the DagRun as
    Airflow's API model (``dag_run_id``, ``conf``) and the deadline (its time in UTC)."""
    from oks.rules.calendar import istanbul_text

    dag_run = context.get("dag_run") or {}
    if not isinstance(dag_run, dict):  # a DagRun object (tests, older Airflow)
        dag_run = {"dag_run_id": getattr(dag_run, "run_id", None), "conf": getattr(dag_run, "conf", None)}
    run_id = dag_run.get("dag_run_id") or dag_run.get("run_id") or "(unknown run)"
    period = (dag_run.get("conf") or {}).get("period")
    deadline = (context.get("deadline") or {}).get("deadline_time")
    if isinstance(deadline, str):
        deadline = datetime.fromisoformat(deadline)
    when = f" ({istanbul_text(deadline)})" if isinstance(deadline, datetime) else ""
    month = f" for {period}" if period else ""
    subject = f"[OKS OVERDUE] oks_monthly run {run_id}{month} passed the statutory payment deadline{when} unfinished"
    text = (
        f"The monthly run {run_id}{month} has not finished and the statutory payment deadline{when} has passed. "
        "Check which task is stuck, pay the insurers from `oks obligations`, and confirm with `oks confirm-payment`."
    )
    return subject, text


async def notify_deadline_missed(context: dict | None = None, **kwargs: Any) -> None:
    """Runs in the triggerer when a monthly run is still not finished at the statutory deadline."""
    from oks.orchestration.notifiers import notifiers_for

    subject, text = _missed_deadline_message(context or {})
    for notifier in notifiers_for(subject, text, "overdue").values():
        await notifier.async_notify(context or {})
