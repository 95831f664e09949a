"""The statutory rate as its own effective-dated data: a year without SGK parameters still has it."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from oks.rules.parameters import available_years
from oks.rules.statutory_rate import MAX_RATE, MIN_RATE, RateUnavailable, rates_on_file, statutory_rate_for

FIRST = rates_on_file()[0].effective_from


def test_three_percent_since_oks_began():
    rate = statutory_rate_for(date(2017, 1, 1))
    assert (rate.rate, rate.effective_from) == (Decimal("0.03"), date(2017, 1, 1))
    assert "4632" in rate.source and "Ek Madde 2" in rate.source


@given(st.dates(min_value=FIRST, max_value=date(2100, 12, 31)))
def test_every_day_from_the_start_has_a_rate_within_the_law(on):
    # including the years whose SGK parameter file is not published yet
    rate = statutory_rate_for(on)
    assert MIN_RATE <= rate.rate <= MAX_RATE and rate.effective_from <= on


def test_years_beyond_the_parameter_files_still_have_the_rate():
    after = max(available_years()) + 1
    assert statutory_rate_for(date(after, 1, 1)).rate == Decimal("0.03")


def test_before_oks_there_is_no_rate():
    with pytest.raises(RateUnavailable, match="no statutory OKS rate before 2017-01-01"):
        statutory_rate_for(FIRST - timedelta(days=1))


def test_the_rates_take_effect_in_order_on_distinct_days():
    days = [r.effective_from for r in rates_on_file()]
    assert days == sorted(set(days))
