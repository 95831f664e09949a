"""Business days and the statutory payment deadline (docs/rules.md §5).

The contribution must be in the insurer's account at the latest on the business day after the wage
payment day ("ücret ödeme gününü takip eden iş günü"). A business day is Monday–Friday and not an
official holiday (Kanun 2429). Holiday dates, including the lunar bayrams, come from the ``holidays``
package (TR, categories ``public`` and ``half_day``).

Half days — the arife (eve) of each bayram and 28 October — close at 13:00 and banks stop sending
EFT around 12:30, so the project's policy is: a half day *is* a business day, with a 12:00 payment
cut-off. Bridge days of administrative leave (public sector only) are business days.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

__all__ = [
    "ISTANBUL",
    "HALF_DAY_CUTOFF",
    "Deadline",
    "in_istanbul",
    "istanbul_text",
    "holiday_name",
    "is_business_day",
    "is_half_day",
    "next_business_day",
    "payment_deadline",
    "REFUND_BUSINESS_DAYS",
    "refund_deadline",
]

ISTANBUL = ZoneInfo("Europe/Istanbul")
HALF_DAY_CUTOFF = time(12, 0)
"""Latest time of a payment on a half day (branches close about 12:30; EFT after that settles late)."""


def in_istanbul(moment: datetime) -> datetime:
    """``moment`` on Istanbul's clock, the one people here read. A naive value is UTC: that is what
    the store's timestamps and Airflow's are."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(ISTANBUL)


def istanbul_text(moment: datetime) -> str:
    """``02.12.2026 09:15 (Istanbul)``: how a moment is shown to people in alerts, reports and the UI."""
    return f"{in_istanbul(moment):%d.%m.%Y %H:%M} (Istanbul)"


@lru_cache(maxsize=64)
def _year(year: int, category: str) -> holidays.HolidayBase:
    return holidays.country_holidays("TR", years=year, categories=(category,))


def holiday_name(d: date) -> str | None:
    """The name of the official holiday or half day on ``d``, if any."""
    return _year(d.year, "public").get(d) or _year(d.year, "half_day").get(d)


def is_half_day(d: date) -> bool:
    """Arife days and 28 October: official holidays from 13:00."""
    return d in _year(d.year, "half_day")


def is_business_day(d: date) -> bool:
    """Monday–Friday and not a full-day official holiday (half days are business days)."""
    return d.weekday() < 5 and d not in _year(d.year, "public")


def next_business_day(d: date) -> date:
    """The first business day strictly after ``d``."""
    candidate = d + timedelta(days=1)
    while not is_business_day(candidate):
        candidate += timedelta(days=1)
    return candidate


@dataclass(frozen=True)
class Deadline:
    """When a contribution must be in the insurer's account.

    ``due_on`` is the last day; ``cutoff`` the latest time on that day when it is a half day,
    else ``None`` (the bank's ordinary hours apply).
    """

    wage_paid_on: date
    due_on: date
    cutoff: time | None

    @property
    def half_day(self) -> bool:
        return self.cutoff is not None

    def due_at(self, closing: time = time(17, 0)) -> datetime:
        """The last moment, in Istanbul time: the cut-off on a half day, else ``closing`` (a setting:
        the bank's last transfer time for the day)."""
        return datetime.combine(self.due_on, self.cutoff or closing, tzinfo=ISTANBUL)

    def days_late(self, paid_at: datetime, closing: time = time(17, 0)) -> int:
        """Calendar days the money reached the insurer after the deadline: 0 on time; paid on the due day
        but after the cut-off or the bank's closing it settles the next day, one day late (4632 md. 5
        counts the employee's loss over these days)."""
        if in_istanbul(paid_at) <= self.due_at(closing):
            return 0
        return max(1, (in_istanbul(paid_at).date() - self.due_on).days)

    def skipped_days(self) -> list[tuple[date, str]]:
        """Days between the wage day and the due day that are not business days, with the reason."""
        skipped = []
        d = self.wage_paid_on + timedelta(days=1)
        while d < self.due_on:
            skipped.append((d, holiday_name(d) or d.strftime("%A")))
            d += timedelta(days=1)
        return skipped


def payment_deadline(wage_paid_on: date, *, half_day_cutoff: time = HALF_DAY_CUTOFF) -> Deadline:
    """The statutory deadline for the contribution deducted from wages paid on ``wage_paid_on``.

    The wage day may itself be a weekend or holiday (wages are sometimes paid early or late): the
    deadline is still the first business day after it.
    """
    if isinstance(wage_paid_on, datetime):
        wage_paid_on = wage_paid_on.date()
    due_on = next_business_day(wage_paid_on)
    return Deadline(
        wage_paid_on=wage_paid_on,
        due_on=due_on,
        cutoff=half_day_cutoff if is_half_day(due_on) else None,
    )


REFUND_BUSINESS_DAYS = 10
"""A deduction made after an effective opt-out (cayma) goes back to the employee within ten business
days (docs/rules.md §6)."""


def refund_deadline(known_on: date, *, half_day_cutoff: time = HALF_DAY_CUTOFF) -> Deadline:
    """The last day to refund an employee a deduction made after their effective opt-out, counted in
    business days from the day the opt-out became known (``known_on``, the deadline's first field)."""
    due_on = known_on
    for _ in range(REFUND_BUSINESS_DAYS):
        due_on = next_business_day(due_on)
    return Deadline(wage_paid_on=known_on, due_on=due_on, cutoff=half_day_cutoff if is_half_day(due_on) else None)
