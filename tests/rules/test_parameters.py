"""Yearly SGK parameters as versioned data (docs/rules.md §4)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from oks.rules.parameters import (
    DATA_FOLDER,
    ParametersUnavailable,
    available_years,
    parameters_for,
    pek_limits_for,
    period_start,
    years_on_file,
)

D = Decimal
ROOT = Path(__file__).resolve().parents[2]


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
    with pytest.raises(ParametersUnavailable, match=rf"no SGK parameters for {on.year} .*2025, 2026") as caught:
        parameters_for(on)
    assert caught.value.year == on.year and caught.value.missing_file == f"{DATA_FOLDER}/{on.year}.toml"


def test_the_missing_file_is_named_where_it_belongs_in_the_checkout():
    assert (ROOT / DATA_FOLDER / "2026.toml").is_file()


# The limits belong to the pay period (the premium month), never to the day wages are paid: every
# month of a year on file is checked with that year's figures, every month of a year not on file is not
# checked at all — whatever came before it.
@pytest.mark.parametrize("year", range(2024, 2031))
@pytest.mark.parametrize("month", range(1, 13))
def test_the_limits_of_a_period_come_from_its_own_year_or_not_at_all(year, month):
    period = f"{year}-{month:02d}"
    limits = pek_limits_for(period)
    if year in available_years():
        assert limits.checked and limits.parameters == parameters_for(date(year, month, 1))
        assert limits.parameters.valid_from.year == year
        assert limits.as_summary()["file"] == f"{year}.toml"
    else:
        assert not limits.checked and limits.parameters is None
        assert limits.missing_file == f"{DATA_FOLDER}/{year}.toml"
        assert limits.missing_file in limits.reason and str(year) in limits.reason
        assert limits.as_summary() == {"checked": False, "period": period, "reason": limits.reason, "missing_file": limits.missing_file}


def test_a_december_wage_paid_in_january_keeps_decembers_limits():
    assert pek_limits_for("2025-12").parameters == parameters_for(date(2025, 12, 1))
    assert pek_limits_for("2025-12").parameters != parameters_for(date(2026, 1, 5))


@pytest.mark.parametrize("bad", ["2026-13", "2026", "26-01", "2026-00", ""])
def test_a_period_must_be_a_month(bad):
    with pytest.raises(ValueError, match="YYYY-MM"):
        period_start(bad)


def test_years_on_file_list_source_and_effective_dates():
    on_file = {y.year: y for y in years_on_file()}
    assert set(on_file) == set(available_years())
    assert on_file[2026].file == "2026.toml" and on_file[2026].effective_from == (date(2026, 1, 1),)
    assert "2026/2" in on_file[2026].source


def test_years_on_file():
    assert {2025, 2026} <= set(available_years())
