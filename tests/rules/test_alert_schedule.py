"""The deadline alert schedule: rising steps, one at a time, each once."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from oks.rules.alert_schedule import alerts_due, previous_business_day
from oks.rules.calendar import ISTANBUL, payment_deadline

FULL_DAY = payment_deadline(date(2026, 10, 29))  # wages 29 Oct (holiday) → due Fri 30 Oct, no cut-off
HALF_DAY = payment_deadline(date(2026, 5, 25))  # due Tue 26 May (Kurban arife), cut-off 12:00


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=ISTANBUL)


def step(deadline, now, paid=False):
    alerts = alerts_due(obligation_key="obl:1", deadline=deadline, paid=paid, now=at(now), what="AGESA AG-1 2026-10 regular 12.345 TL")
    assert len(alerts) <= 1
    return (alerts[0].step, alerts[0].dedupe_key) if alerts else None


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        ("2026-10-28T08:59", None),  # the business day before (28 Oct, a half day) but before work starts
        ("2026-10-28T09:00", ("warn", "obl:1:warn")),
        ("2026-10-29T15:00", ("warn", "obl:1:warn")),  # 29 Oct is a holiday: still the warning window
        ("2026-10-30T09:00", ("due_morning", "obl:1:due_morning")),
        ("2026-10-30T15:59", ("due_morning", "obl:1:due_morning")),
        ("2026-10-30T16:00", ("before_cutoff", "obl:1:before_cutoff")),
        ("2026-10-30T17:00", ("overdue", "obl:1:overdue:2026-10-30")),
        ("2026-10-31T10:00", None),  # Saturday: no daily overdue page
        ("2026-11-02T08:30", None),  # Monday before work
        ("2026-11-02T09:00", ("overdue", "obl:1:overdue:2026-11-02")),
        ("2026-11-03T11:00", ("overdue", "obl:1:overdue:2026-11-03")),
    ],
)
def test_full_day_schedule(now, expected):
    assert step(FULL_DAY, now) == expected


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        ("2026-05-25T10:00", ("warn", "obl:1:warn")),
        ("2026-05-26T09:30", ("due_morning", "obl:1:due_morning")),
        ("2026-05-26T11:00", ("before_cutoff", "obl:1:before_cutoff")),
        ("2026-05-26T12:00", ("overdue", "obl:1:overdue:2026-05-26")),
        ("2026-05-29T10:00", None),  # bayram: not a business day
        ("2026-06-01T09:00", ("overdue", "obl:1:overdue:2026-06-01")),
    ],
)
def test_half_day_schedule_uses_the_cutoff(now, expected):
    assert step(HALF_DAY, now) == expected


def test_a_paid_obligation_raises_nothing():
    assert step(FULL_DAY, "2026-10-30T16:30", paid=True) is None
    assert step(FULL_DAY, "2026-11-05T10:00", paid=True) is None


def test_messages_say_what_and_by_when():
    (alert,) = alerts_due(obligation_key="k", deadline=HALF_DAY, paid=False, now=at("2026-05-26T11:30"), what="X")
    assert alert.level == "page" and "30 min before the deadline (2026-05-26 12:00)" in alert.message
    (late,) = alerts_due(obligation_key="k", deadline=HALF_DAY, paid=False, now=at("2026-06-02T09:00"), what="X")
    assert "2 business days late" in late.message


def test_previous_business_day_skips_holidays_and_weekends():
    assert previous_business_day(date(2026, 6, 1)) == date(2026, 5, 26)


@given(
    st.dates(min_value=date(2026, 1, 1), max_value=date(2026, 12, 31)),
    st.integers(min_value=-3 * 24 * 60, max_value=10 * 24 * 60),
)
def test_each_moment_gets_at_most_one_alert_and_keys_never_repeat_across_days(wage_day, minutes):
    deadline = payment_deadline(wage_day)
    start = datetime.combine(deadline.due_on, datetime.min.time(), tzinfo=ISTANBUL)
    now = start + timedelta(minutes=minutes)
    alerts = alerts_due(obligation_key="o", deadline=deadline, paid=False, now=now, what="x")
    assert len(alerts) <= 1
    for alert in alerts:
        if alert.step == "overdue":
            assert alert.dedupe_key.endswith(now.strftime("%Y-%m-%d"))
            assert now >= deadline.due_at()
        else:
            assert now < deadline.due_at()
