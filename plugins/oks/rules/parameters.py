"""Yearly SGK parameters: gross minimum wage, PEK floor and ceiling (docs/rules.md §4).

Kept as data, one TOML file a year under ``data/parameters/``, so that a new year is a reviewed data
change, not a code change. A year may hold several periods (the minimum wage has changed mid-year
before); the lookup picks the period in force on the first day of the pay period.

The limits of a wage belong to its premium month (the pay period), whatever day it is paid: a
December wage paid on 5 January is checked against December's limits. Next year's figures are
published in the last days of December (minimum wage) and early January (SGK circular), so a run may
well come before its year's file: :func:`pek_limits_for` then says *why* the limits are unknown, and
the caller reports the check as not performed — the figures of another year are never used instead.
The contribution itself does not need these limits (3% of PEK as payroll reports it); its rate is law
and lives in :mod:`oks.rules.statutory_rate`.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import cache
from importlib import resources

__all__ = [
    "MONTH_DAYS",
    "DATA_FOLDER",
    "ParametersUnavailable",
    "YearlyParameters",
    "YearOnFile",
    "PekLimits",
    "available_years",
    "parameters_for",
    "pek_limits_for",
    "period_start",
    "years_on_file",
]

MONTH_DAYS = 30
"""SGK counts a full month as 30 days: monthly limits are daily limits × 30, prorated by SGK days."""

DATA_FOLDER = "plugins/oks/rules/data/parameters"
"""Where a new year's file goes, as a path a person can act on (relative to the checkout)."""


class ParametersUnavailable(LookupError):
    """No parameter file covers the date asked for; ``year`` and ``missing_file`` say which."""

    def __init__(self, message: str, *, year: int, missing_file: str | None = None) -> None:
        super().__init__(message)
        self.year = year
        self.missing_file = missing_file


@dataclass(frozen=True)
class YearlyParameters:
    valid_from: date
    gross_minimum_wage: Decimal
    pek_floor_daily: Decimal
    pek_ceiling_daily: Decimal
    ceiling_multiple: Decimal
    source: str
    file: str

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


@dataclass(frozen=True)
class YearOnFile:
    """One year's file, for ``oks parameters``: its source and the dates its periods take effect."""

    year: int
    file: str
    source: str
    effective_from: tuple[date, ...]


@dataclass(frozen=True)
class PekLimits:
    """The answer to "which PEK limits apply to this pay period?": the parameters, or why there are none.

    ``checked`` is False when the period's year has no file yet; ``reason`` is then a sentence for
    people and ``missing_file`` the file to add.
    """

    period: str
    parameters: YearlyParameters | None
    reason: str | None = None
    missing_file: str | None = None

    @property
    def checked(self) -> bool:
        return self.parameters is not None

    def as_summary(self) -> dict[str, object]:
        """What validation, the report and the run summary record (JSON-ready, no personal data)."""
        if self.parameters is None:
            return {"checked": False, "period": self.period, "reason": self.reason, "missing_file": self.missing_file}
        p = self.parameters
        return {
            "checked": True,
            "period": self.period,
            "valid_from": p.valid_from.isoformat(),
            "file": p.file,
            "source": p.source,
            "floor_daily": str(p.pek_floor_daily),
            "ceiling_daily": str(p.pek_ceiling_daily),
        }


_DATA = resources.files("oks.rules") / "data" / "parameters"
_PERIOD = re.compile(r"(\d{4})-(0[1-9]|1[0-2])")


@cache
def _load_year(year: int) -> tuple[YearlyParameters, ...]:
    resource = _DATA / f"{year}.toml"
    missing = f"{DATA_FOLDER}/{year}.toml"
    if not resource.is_file():
        years = ", ".join(str(y) for y in available_years()) or "none"
        raise ParametersUnavailable(
            f"no SGK parameters for {year} (files exist for: {years}); add {missing}", year=year, missing_file=missing
        )
    data = tomllib.loads(resource.read_text(encoding="utf-8"))
    if data.get("year") != year:
        raise ParametersUnavailable(f"{resource.name} says year {data.get('year')!r}, expected {year}", year=year)
    periods = []
    for raw in data["period"]:
        valid_from = raw["valid_from"]
        if valid_from.year != year:
            raise ParametersUnavailable(f"{resource.name}: period from {valid_from} is outside {year}", year=year)
        periods.append(
            YearlyParameters(
                valid_from=valid_from,
                gross_minimum_wage=Decimal(raw["gross_minimum_wage"]),
                pek_floor_daily=Decimal(raw["pek_floor_daily"]),
                pek_ceiling_daily=Decimal(raw["pek_ceiling_daily"]),
                ceiling_multiple=Decimal(raw["ceiling_multiple"]),
                source=data.get("source", ""),
                file=resource.name,
            )
        )
    return tuple(sorted(periods, key=lambda p: p.valid_from))


def available_years() -> list[int]:
    return sorted(int(entry.name[:-5]) for entry in _DATA.iterdir() if entry.name.endswith(".toml"))


def years_on_file() -> list[YearOnFile]:
    """Every year's file with its source and the effective dates of its periods."""
    on_file = []
    for year in available_years():
        periods = _load_year(year)
        on_file.append(YearOnFile(year, periods[0].file, periods[0].source, tuple(p.valid_from for p in periods)))
    return on_file


def parameters_for(on: date) -> YearlyParameters:
    """The parameters in force on ``on``; :class:`ParametersUnavailable` if its year has no file."""
    periods = _load_year(on.year)
    in_force = [p for p in periods if p.valid_from <= on]
    if not in_force:
        raise ParametersUnavailable(
            f"no SGK parameters in force on {on}: the {on.year} file starts on {periods[0].valid_from}", year=on.year
        )
    return in_force[-1]


def period_start(period: str) -> date:
    """The first day of a pay period ``YYYY-MM``."""
    match = _PERIOD.fullmatch(period)
    if match is None:
        raise ValueError(f"period must be YYYY-MM (got {period!r})")
    return date(int(match.group(1)), int(match.group(2)), 1)


def pek_limits_for(period: str) -> PekLimits:
    """The PEK limits of pay period ``period`` (YYYY-MM), or the reason they cannot be checked."""
    start = period_start(period)
    try:
        return PekLimits(period, parameters_for(start))
    except ParametersUnavailable as exc:
        reason = (
            f"the SGK parameters for {exc.year} are not on file yet, so PEK was not checked against the floor and "
            f"ceiling (contributions are still 3% of PEK as payroll reports it). Add {exc.missing_file} once the "
            "minimum wage and the SGK circular are published, then re-run the period."
            if exc.missing_file
            else f"the SGK parameters do not cover {start}: {exc}"
        )
        return PekLimits(period, None, reason=reason, missing_file=exc.missing_file)
