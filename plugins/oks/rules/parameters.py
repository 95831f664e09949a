"""Yearly SGK parameters: gross minimum wage, PEK floor and ceiling (DOMAIN.md §4).

Kept as data, one TOML file a year under ``data/parameters/``, so that a new year is a reviewed data
change, not a code change. A year may hold several periods (the minimum wage has changed mid-year
before); the lookup picks the period in force on the date. A year with no file fails loudly rather
than silently reusing last year's figures.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import lru_cache
from importlib import resources

__all__ = ["MONTH_DAYS", "ParametersUnavailable", "YearlyParameters", "parameters_for", "available_years"]

MONTH_DAYS = 30
"""SGK counts a full month as 30 days: monthly limits are daily limits × 30, prorated by SGK days."""


class ParametersUnavailable(LookupError):
    """No parameter file covers the date asked for."""


@dataclass(frozen=True)
class YearlyParameters:
    valid_from: date
    gross_minimum_wage: Decimal
    pek_floor_daily: Decimal
    pek_ceiling_daily: Decimal
    ceiling_multiple: Decimal
    contribution_rate: Decimal
    source: str

    @property
    def pek_floor_monthly(self) -> Decimal:
        return self.pek_floor_daily * MONTH_DAYS

    @property
    def pek_ceiling_monthly(self) -> Decimal:
        return self.pek_ceiling_daily * MONTH_DAYS

    def pek_bounds(self, sgk_days: int) -> tuple[Decimal, Decimal]:
        """The PEK floor and ceiling for a month of ``sgk_days`` premium days (0–30)."""
        if isinstance(sgk_days, bool) or not isinstance(sgk_days, int) or not 0 <= sgk_days <= MONTH_DAYS:
            raise ValueError(f"sgk_days must be a whole number from 0 to {MONTH_DAYS} (got {sgk_days!r})")
        return self.pek_floor_daily * sgk_days, self.pek_ceiling_daily * sgk_days


_DATA = resources.files("oks.rules") / "data" / "parameters"


@lru_cache(maxsize=None)
def _load_year(year: int) -> tuple[YearlyParameters, ...]:
    resource = _DATA / f"{year}.toml"
    if not resource.is_file():
        years = ", ".join(str(y) for y in available_years()) or "none"
        raise ParametersUnavailable(
            f"no SGK parameters for {year} (files exist for: {years}); add data/parameters/{year}.toml"
        )
    data = tomllib.loads(resource.read_text(encoding="utf-8"))
    if data.get("year") != year:
        raise ParametersUnavailable(f"{resource.name} says year {data.get('year')!r}, expected {year}")
    periods = []
    for raw in data["period"]:
        valid_from = raw["valid_from"]
        if valid_from.year != year:
            raise ParametersUnavailable(f"{resource.name}: period from {valid_from} is outside {year}")
        periods.append(
            YearlyParameters(
                valid_from=valid_from,
                gross_minimum_wage=Decimal(raw["gross_minimum_wage"]),
                pek_floor_daily=Decimal(raw["pek_floor_daily"]),
                pek_ceiling_daily=Decimal(raw["pek_ceiling_daily"]),
                ceiling_multiple=Decimal(raw["ceiling_multiple"]),
                contribution_rate=Decimal(raw["contribution_rate"]),
                source=data.get("source", ""),
            )
        )
    return tuple(sorted(periods, key=lambda p: p.valid_from))


def available_years() -> list[int]:
    return sorted(int(entry.name[:-5]) for entry in _DATA.iterdir() if entry.name.endswith(".toml"))


def parameters_for(on: date) -> YearlyParameters:
    """The parameters in force on ``on``."""
    periods = _load_year(on.year)
    in_force = [p for p in periods if p.valid_from <= on]
    if not in_force:
        raise ParametersUnavailable(f"no SGK parameters in force on {on}: the {on.year} file starts on {periods[0].valid_from}")
    return in_force[-1]
