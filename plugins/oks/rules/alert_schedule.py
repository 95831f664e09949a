"""When on-call hears about a payment obligation (docs/architecture.md §3, ``oks_deadline_watch``).

Late or short payment makes the employer liable for the employee's loss, so an unpaid obligation is
announced in rising steps: a *warning* the business day before it is due, a *page* on the morning of
the due day, a second *page* shortly before the cut-off (or the bank's closing time), and an
*overdue* page every business day after. Each step has a window; the planner returns only the
steps whose window contains "now" — after an outage the watch catches up with what is current,
not with a burst of stale warnings. Every alert has a dedupe key, so it is sent once whatever
the number of watch runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from oks.rules.calendar import ISTANBUL, Deadline, is_business_day, next_business_day
from oks.rules.vocabulary import AlertLevel

__all__ = ["AlertPolicy", "PlannedAlert", "previous_business_day", "alerts_due"]


@dataclass(frozen=True)
class AlertPolicy:
    """Settings of the schedule (Istanbul time)."""

    working_day_starts: time = time(9, 0)
    bank_closes: time = time(17, 0)  # last transfer time on a full business day
    cutoff_lead: timedelta = timedelta(hours=1)  # the second page comes this long before the last moment


@dataclass(frozen=True)
class PlannedAlert:
    level: str  # warn | page | overdue
    step: str  # warn | due_morning | before_cutoff | overdue
    dedupe_key: str
    message: str


def previous_business_day(d: date) -> date:
    candidate = d - timedelta(days=1)
    while not is_business_day(candidate):
        candidate -= timedelta(days=1)
    return candidate


def _at(d: date, t: time) -> datetime:
    return datetime.combine(d, t, tzinfo=ISTANBUL)


def alerts_due(
    *,
    obligation_key: str,
    deadline: Deadline,
    paid: bool,
    now: datetime,
    what: str,
    policy: AlertPolicy = AlertPolicy(),
) -> list[PlannedAlert]:
    """The alerts to send now for one obligation. ``what`` describes it for people (amount,
    contract, insurer — never personal data); ``obligation_key`` makes the dedupe keys unique."""
    if paid:
        return []
    now = now.astimezone(ISTANBUL)
    last_moment = deadline.due_at(policy.bank_closes)
    due_morning = _at(deadline.due_on, policy.working_day_starts)
    before_cutoff = last_moment - policy.cutoff_lead
    by = f"{deadline.due_on:%Y-%m-%d}" + (f" {deadline.cutoff:%H:%M}" if deadline.cutoff else "")
    planned: list[PlannedAlert] = []

    warn_from = _at(previous_business_day(deadline.due_on), policy.working_day_starts)
    if warn_from <= now < due_morning and now < before_cutoff:
        planned.append(PlannedAlert(AlertLevel.WARN, "warn", f"{obligation_key}:warn", f"Due tomorrow ({by}): {what}"))
    elif due_morning <= now < before_cutoff:
        planned.append(PlannedAlert(AlertLevel.PAGE, "due_morning", f"{obligation_key}:due_morning", f"Due TODAY by {by}: {what}"))
    elif before_cutoff <= now < last_moment:
        planned.append(
            PlannedAlert(
                AlertLevel.PAGE, "before_cutoff", f"{obligation_key}:before_cutoff",
                f"Still unpaid, {int((last_moment - now).total_seconds() // 60)} min before the deadline ({by}): {what}",
            )
        )  # fmt: skip
    elif now >= last_moment:
        today = now.date()
        # Overdue once right after the deadline, then every business day at the start of work.
        if today == deadline.due_on or (is_business_day(today) and now >= _at(today, policy.working_day_starts)):
            days = _business_days_late(deadline.due_on, today)
            planned.append(
                PlannedAlert(
                    AlertLevel.OVERDUE, "overdue", f"{obligation_key}:overdue:{today:%Y-%m-%d}",
                    f"OVERDUE since {by} ({days} business day{'s' if days != 1 else ''} late): {what}",
                )
            )  # fmt: skip
    return planned


def _business_days_late(due_on: date, today: date) -> int:
    days, d = 0, due_on
    while d < today:
        d = next_business_day(d)
        if d <= today:
            days += 1
    return days
