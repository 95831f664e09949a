"""The statutory contribution rate, with the dates it takes effect (docs/rules.md §4).

3% of PEK is law (4632 sayılı Kanun Ek Madde 2); a presidential decision may set the rate between 1%
and 6% from a date of its own. So the rate is its own effective-dated data
(``data/statutory_rate.toml``), not part of the yearly SGK parameters: a year whose minimum wage and
PEK limits are not yet published still has its rate, and the run computes its contributions.

The rate of a wage is the one in force on the first day of its pay period (the premium month), as for
the PEK limits.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import lru_cache
from importlib import resources

__all__ = ["MIN_RATE", "MAX_RATE", "StatutoryRate", "RateUnavailable", "statutory_rate_for", "rates_on_file"]

MIN_RATE, MAX_RATE = Decimal("0.01"), Decimal("0.06")
"""The range a presidential decision may set (4632 Ek Madde 2)."""


class RateUnavailable(LookupError):
    """No statutory rate is in force on the date asked for (before OKS began)."""


@dataclass(frozen=True)
class StatutoryRate:
    effective_from: date
    rate: Decimal
    source: str


@lru_cache(maxsize=1)
def rates_on_file() -> tuple[StatutoryRate, ...]:
    """Every rate on file, oldest first; a file that breaks the law's range is refused as a whole."""
    data = tomllib.loads((resources.files("oks.rules") / "data" / "statutory_rate.toml").read_text(encoding="utf-8"))
    rates = sorted(
        (StatutoryRate(raw["effective_from"], Decimal(raw["rate"]), raw["source"]) for raw in data["rate"]),
        key=lambda r: r.effective_from,
    )
    for rate in rates:
        if not MIN_RATE <= rate.rate <= MAX_RATE:
            raise ValueError(f"statutory_rate.toml: {rate.rate} from {rate.effective_from} is outside {MIN_RATE}–{MAX_RATE}")
    if len({r.effective_from for r in rates}) != len(rates):
        raise ValueError("statutory_rate.toml: two rates take effect on the same day")
    return tuple(rates)


def statutory_rate_for(on: date) -> StatutoryRate:
    """The rate in force on ``on`` (for a wage: the first day of its pay period)."""
    in_force = [r for r in rates_on_file() if r.effective_from <= on]
    if not in_force:
        raise RateUnavailable(f"no statutory OKS rate before {rates_on_file()[0].effective_from} (asked for {on})")
    return in_force[-1]
