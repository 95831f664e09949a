"""Contribution amounts (docs/rules.md §4): 3% of PEK, overrides, truncation, refusals."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from oks.rules.contributions import ContributionError, contribution

D = Decimal


@pytest.mark.parametrize(
    ("pek", "kwargs", "expected"),
    [
        (D("33030.00"), {}, D("990")),  # 990.90 → 990
        (D("33030.99"), {}, D("990")),
        (D("33333.33"), {}, D("999")),  # 999.9999: truncation at .99, never up to 1000
        (D("33333.33"), {"rounding": "kurus"}, D("999.99")),
        (D("33030.99"), {"rounding": "kurus"}, D("990.92")),  # 990.9297
        (D("100"), {}, D("3")),
        (D("33.33"), {}, D("0")),  # 0.9999 → 0
        (D("0"), {}, D("0")),
        (50000, {}, D("1500")),
        ("297270.00", {}, D("8918")),  # 2026 ceiling: 8918.10
        (D("52340.75"), {"rate": D("0.05")}, D("2617")),  # 2617.0375
        (D("52340.75"), {"rate": "0.035", "rounding": "kurus"}, D("1831.92")),  # 1831.92625
        (D("33030.00"), {"fixed_amount": D("1500")}, D("1500")),
        (D("33030.00"), {"fixed_amount": D("500")}, D("990")),  # below the statutory share: raised to it
        (D("33030.00"), {"fixed_amount": D("1500.75")}, D("1500")),
        (D("33030.00"), {"fixed_amount": D("1500.75"), "rounding": "kurus"}, D("1500.75")),
        (D("0"), {"fixed_amount": D("1500")}, D("0")),  # no wage, no deduction
        (D("40000"), {"statutory_rate": D("0.04")}, D("1600")),  # a presidential decision changed the rate
    ],
)
def test_contribution(pek, kwargs, expected):
    amount = contribution(pek, **kwargs)
    assert isinstance(amount, Decimal)
    assert amount == expected
    assert amount.as_tuple().exponent == (-2 if kwargs.get("rounding") == "kurus" else 0)


@pytest.mark.parametrize(
    ("pek", "kwargs", "code"),
    [
        (D("-1"), {}, "negative"),
        (33030.0, {}, "float"),
        ("otuz bin", {}, "not_numeric"),
        (None, {}, "not_numeric"),
        (True, {}, "not_numeric"),
        (D("NaN"), {}, "not_numeric"),
        ("Infinity", {}, "not_numeric"),
        ([1], {}, "not_numeric"),
        (D("1000"), {"rate": D("0.02")}, "rate"),  # below the statutory 3%
        (D("1000"), {"rate": D("3")}, "rate"),  # 3 meant as percent
        (D("1000"), {"rate": 0.05}, "float"),
        (D("1000"), {"rate": D("0.05"), "fixed_amount": D("100")}, "override"),
        (D("1000"), {"fixed_amount": D("-5")}, "negative"),
        (D("1000"), {"rounding": "up"}, "rounding"),
        (D("1000"), {"statutory_rate": D("0")}, "rate"),
    ],
)
def test_contribution_refuses_bad_input(pek, kwargs, code):
    with pytest.raises(ContributionError) as caught:
        contribution(pek, **kwargs)
    assert caught.value.code == code


money = st.decimals(min_value=0, max_value=10_000_000, places=2, allow_nan=False, allow_infinity=False)
rates = st.decimals(min_value=D("0.03"), max_value=D("0.20"), places=4, allow_nan=False, allow_infinity=False)


@given(money, rates, st.sampled_from(["lira", "kurus"]))
def test_contribution_is_never_above_rate_times_pek_nor_negative(pek, rate, rounding):
    amount = contribution(pek, rate=rate, rounding=rounding)
    exact = pek * rate
    assert D(0) <= amount <= exact
    assert exact - amount < (D("1") if rounding == "lira" else D("0.01"))


@given(money, money)
def test_contribution_is_monotone_in_pek(a, b):
    low, high = sorted((a, b))
    assert contribution(low) <= contribution(high)


@given(money, money)
def test_fixed_amount_never_pays_less_than_the_statutory_share(pek, fixed):
    assert contribution(pek, fixed_amount=fixed) >= contribution(pek)
