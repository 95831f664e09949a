"""Yearly SGK parameters as versioned data (DOMAIN.md §4)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from oks.rules.parameters import ParametersUnavailable, available_years, parameters_for

D = Decimal


@pytest.mark.parametrize(
    ("on", "minimum_wage", "floor_daily", "ceiling_daily", "ceiling_monthly"),
    [
        (date(2025, 1, 1), D("26005.50"), D("866.85"), D("6501.38"), D("195041.40")),
        (date(2025, 12, 31), D("26005.50"), D("866.85"), D("6501.38"), D("195041.40")),
        (date(2026, 1, 1), D("33030.00"), D("1101.00"), D("9909.00"), D("297270.00")),
        (date(2026, 7, 15), D("33030.00"), D("1101.00"), D("9909.00"), D("297270.00")),
    ],
)
def test_parameters_for(on, minimum_wage, floor_daily, ceiling_daily, ceiling_monthly):
    params = parameters_for(on)
    assert params.gross_minimum_wage == minimum_wage
    assert params.pek_floor_daily == floor_daily
    assert params.pek_ceiling_daily == ceiling_daily
    assert params.pek_ceiling_monthly == ceiling_monthly
    assert params.contribution_rate == D("0.03")


@pytest.mark.parametrize("year", available_years())
def test_each_year_file_is_consistent(year):
    params = parameters_for(date(year, 12, 31))
    # The gross minimum wage is the PEK floor, and the ceiling is a whole multiple of the floor.
    assert params.pek_floor_monthly == params.gross_minimum_wage
    assert abs(params.pek_ceiling_monthly - params.pek_floor_monthly * params.ceiling_multiple) < D("1")
    assert params.source


def test_bounds_are_prorated_by_sgk_days():
    params = parameters_for(date(2026, 3, 1))
    assert params.pek_bounds(30) == (D("33030.00"), D("297270.00"))
    assert params.pek_bounds(15) == (D("16515.00"), D("148635.00"))
    assert params.pek_bounds(0) == (D("0"), D("0"))
    for bad in (-1, 31, 15.5, True):
        with pytest.raises(ValueError):
            params.pek_bounds(bad)


@pytest.mark.parametrize("on", [date(2024, 6, 1), date(2030, 1, 1)])
def test_a_year_without_a_file_fails_clearly(on):
    with pytest.raises(ParametersUnavailable, match=rf"no SGK parameters for {on.year} .*2025, 2026"):
        parameters_for(on)


def test_years_on_file():
    assert {2025, 2026} <= set(available_years())
