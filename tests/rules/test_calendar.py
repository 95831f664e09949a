"""Business days and payment deadlines against the 2026 calendar of docs/rules.md §5."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from oks.rules.calendar import (
    ISTANBUL,
    is_business_day,
    is_half_day,
    next_business_day,
    payment_deadline,
)

# Official full-day holidays of 2026 (Kanun 2429), lunar ones as docs/rules.md gives them.
HOLIDAYS_2026 = [
    date(2026, 1, 1),
    date(2026, 3, 20), date(2026, 3, 21), date(2026, 3, 22),  # Ramazan Bayramı
    date(2026, 4, 23),
    date(2026, 5, 1),
    date(2026, 5, 19),
    date(2026, 5, 27), date(2026, 5, 28), date(2026, 5, 29), date(2026, 5, 30),  # Kurban Bayramı
    date(2026, 7, 15),
    date(2026, 8, 30),
    date(2026, 10, 29),
]  # fmt: skip
HALF_DAYS_2026 = [date(2026, 3, 19), date(2026, 5, 26), date(2026, 10, 28)]


@pytest.mark.parametrize("day", HOLIDAYS_2026, ids=str)
def test_each_2026_holiday_is_not_a_business_day(day):
    assert not is_business_day(day)
    assert not is_half_day(day)


@pytest.mark.parametrize("day", HALF_DAYS_2026, ids=str)
def test_each_2026_half_day_is_a_business_day_with_a_cutoff(day):
    assert is_business_day(day)
    assert is_half_day(day)


def test_2026_has_no_other_weekday_holidays():
    day, closed = date(2026, 1, 1), []
    while day.year == 2026:
        if day.weekday() < 5 and not is_business_day(day):
            closed.append(day)
        day += timedelta(days=1)
    assert closed == [d for d in HOLIDAYS_2026 if d.weekday() < 5]


@pytest.mark.parametrize(
    ("wage_paid_on", "due_on", "cutoff"),
    [
        (date(2026, 1, 30), date(2026, 2, 2), None),  # Friday → Monday
        (date(2026, 1, 1), date(2026, 1, 2), None),  # wages paid on a holiday
        (date(2026, 6, 13), date(2026, 6, 15), None),  # wages paid on a Saturday
        (date(2026, 3, 18), date(2026, 3, 19), time(12, 0)),  # due on Ramazan arife
        (date(2026, 3, 19), date(2026, 3, 23), None),  # across Ramazan Bayramı
        (date(2026, 4, 22), date(2026, 4, 24), None),  # across 23 April
        (date(2026, 4, 30), date(2026, 5, 4), None),  # across 1 May and a weekend
        (date(2026, 5, 18), date(2026, 5, 20), None),  # across 19 May
        (date(2026, 5, 25), date(2026, 5, 26), time(12, 0)),  # due on Kurban arife
        (date(2026, 5, 26), date(2026, 6, 1), None),  # across Kurban Bayramı and a Sunday
        (date(2026, 7, 14), date(2026, 7, 16), None),  # across 15 July
        (date(2026, 8, 28), date(2026, 8, 31), None),  # 30 August falls on a Sunday
        (date(2026, 10, 27), date(2026, 10, 28), time(12, 0)),  # due on 28 October
        (date(2026, 10, 28), date(2026, 10, 30), None),  # across 29 October
        (date(2025, 12, 31), date(2026, 1, 2), None),  # year end
        (date(2026, 12, 31), date(2027, 1, 4), None),  # year end, New Year on a Friday
    ],
    ids=str,
)
def test_payment_deadline(wage_paid_on, due_on, cutoff):
    deadline = payment_deadline(wage_paid_on)
    assert deadline.due_on == due_on
    assert deadline.cutoff == cutoff
    assert deadline.half_day is (cutoff is not None)


def test_due_at_is_the_cutoff_in_istanbul_on_a_half_day():
    assert payment_deadline(date(2026, 5, 25)).due_at().isoformat() == "2026-05-26T12:00:00+03:00"
    assert payment_deadline(date(2026, 5, 26)).due_at(time(16, 30)).tzinfo == ISTANBUL


def test_skipped_days_name_the_holidays():
    skipped = dict(payment_deadline(date(2026, 5, 26)).skipped_days())
    assert sorted(skipped) == [date(2026, 5, d) for d in range(27, 32)]
    assert skipped[date(2026, 5, 31)] == "Sunday"


def test_half_day_cutoff_is_a_setting():
    assert payment_deadline(date(2026, 10, 27), half_day_cutoff=time(11, 30)).cutoff == time(11, 30)


@given(st.dates(min_value=date(2020, 1, 1), max_value=date(2035, 12, 31)))
def test_deadline_is_the_first_business_day_after_the_wage_day(wage_paid_on):
    deadline = payment_deadline(wage_paid_on)
    assert deadline.due_on > wage_paid_on
    assert is_business_day(deadline.due_on)
    between = wage_paid_on + timedelta(days=1)
    while between < deadline.due_on:
        assert not is_business_day(between)
        between += timedelta(days=1)
    assert (deadline.cutoff is not None) == is_half_day(deadline.due_on)
    # The longest closure: a bayram next to 23 April and two weekends (2029-04-20 → 2029-04-30 is 10 days).
    assert deadline.due_on - wage_paid_on <= timedelta(days=12)


@given(st.dates(min_value=date(2020, 1, 1), max_value=date(2035, 12, 31)))
def test_next_business_day_is_idempotent_on_business_days(day):
    following = next_business_day(day)
    assert next_business_day(following - timedelta(days=1)) == following


@pytest.mark.parametrize(
    ("known_on", "due_on"),
    [
        (date(2026, 11, 5), date(2026, 11, 19)),
        (date(2026, 3, 16), date(2026, 3, 31)),  # Ramazan arife (a half day) counts, the bayram does not
        (date(2026, 5, 20), date(2026, 6, 8)),  # across the Kurban bayram
        (date(2026, 12, 25), date(2027, 1, 11)),  # across New Year
    ],
)
def test_a_refund_is_due_ten_business_days_after_the_opt_out_became_known(known_on, due_on):
    from oks.rules.calendar import refund_deadline

    assert refund_deadline(known_on).due_on == due_on


@given(st.dates(min_value=date(2024, 1, 1), max_value=date(2028, 12, 31)))
def test_a_refund_deadline_is_the_tenth_business_day_after_any_day(known_on):
    from oks.rules.calendar import is_business_day, refund_deadline

    deadline = refund_deadline(known_on)
    between = [known_on + timedelta(days=n) for n in range(1, (deadline.due_on - known_on).days + 1)]
    assert is_business_day(deadline.due_on) and sum(map(is_business_day, between)) == 10


@pytest.mark.parametrize(
    ("paid_at", "days"),
    [
        (datetime(2026, 11, 2, 16, 59, tzinfo=ISTANBUL), 0),  # the due day, before the bank closes
        (datetime(2026, 10, 30, 9, 0, tzinfo=ISTANBUL), 0),  # early
        (datetime(2026, 11, 2, 17, 30, tzinfo=ISTANBUL), 1),  # the due day after closing: settles the next day
        (datetime(2026, 11, 3, 10, 0, tzinfo=ISTANBUL), 1),
        (datetime(2026, 11, 9, 10, 0, tzinfo=ISTANBUL), 7),  # calendar days, weekends included
        (datetime(2026, 11, 2, 15, 0, tzinfo=UTC), 1),  # 18:00 in Istanbul
    ],
)
def test_days_late_count_from_the_deadline_on_istanbuls_clock(paid_at, days):
    deadline = payment_deadline(date(2026, 10, 30))  # wages Friday 30 October: due Monday 2 November
    assert deadline.days_late(paid_at) == days


def test_days_late_on_a_half_day_count_from_its_cutoff():
    deadline = payment_deadline(date(2026, 5, 25))  # due Tuesday 26 May, Kurban arife: 12:00
    assert (deadline.due_on, deadline.cutoff) == (date(2026, 5, 26), time(12, 0))
    assert deadline.days_late(datetime(2026, 5, 26, 11, 30, tzinfo=ISTANBUL)) == 0
    assert deadline.days_late(datetime(2026, 5, 26, 12, 30, tzinfo=ISTANBUL)) == 1
