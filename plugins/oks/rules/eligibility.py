"""Who must enrol: employers (docs/rules.md §2) and employees (docs/rules.md §3)."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date

__all__ = [
    "AgeReference",
    "Assessment",
    "AGE_LIMIT_YEARS",
    "REFERENCE_SWITCH",
    "employer_in_scope_from",
    "headcount_decides_scope",
    "age_reference_date",
    "assess_employee",
]

# ---------------------------------------------------------------------------------------------
# Employers
# ---------------------------------------------------------------------------------------------

SECTORS = ("private", "central_government", "local_government")

# (minimum headcount, in scope from), largest first: the 2017–2019 phase-in of the private sector.
_PRIVATE_TIERS: tuple[tuple[int, date], ...] = (
    (1000, date(2017, 1, 1)),
    (250, date(2017, 4, 1)),
    (100, date(2017, 7, 1)),
    (50, date(2018, 1, 1)),
    (10, date(2018, 7, 1)),
    (5, date(2019, 1, 1)),
)
_PUBLIC_FROM = {
    "central_government": date(2017, 4, 1),  # central government bodies and SGK
    "local_government": date(2018, 1, 1),  # local administrations and state enterprises (KİT)
}
_LAST_PHASE = _PRIVATE_TIERS[-1][1]


def employer_in_scope_from(
    headcount: int,
    sector: str = "private",
    first_reached_five_on: date | None = None,
    in_scope_since: date | None = None,
) -> date | None:
    """The date from which an employer must enrol its staff, or ``None`` if it is not obliged.

    ``headcount`` is the employer's whole SGK 4/a headcount across all workplaces (from the last
    A-coded monthly premium and service document). Public bodies were phased in by kind, whatever
    their size. ``first_reached_five_on`` is the date an employer first had five or more staff
    (its workplace registration, or the first monthly document with 5+): one that got there after
    the phase-in ended (2019-01-01) must enrol at the first wage payment of the following calendar
    year, whatever its headcount now — once in scope, an employer stays in scope: ``in_scope_since``,
    the first wage day it was found in scope, keeps it in whatever its headcount has become.
    """
    found = _in_scope_from(headcount, sector, first_reached_five_on)
    if in_scope_since is not None and (found is None or in_scope_since < found):
        return in_scope_since
    return found


def _in_scope_from(headcount: int, sector: str, first_reached_five_on: date | None) -> date | None:
    if isinstance(headcount, bool) or not isinstance(headcount, int):
        raise TypeError(f"headcount must be a whole number, got {type(headcount).__name__}")
    if headcount < 0:
        raise ValueError(f"headcount cannot be negative (got {headcount})")
    if sector not in SECTORS:
        raise ValueError(f"sector must be one of {', '.join(SECTORS)} (got {sector!r})")
    if sector in _PUBLIC_FROM:
        return _PUBLIC_FROM[sector]
    if first_reached_five_on is not None and first_reached_five_on > _LAST_PHASE:
        return date(first_reached_five_on.year + 1, 1, 1)
    for minimum, in_scope_from in _PRIVATE_TIERS:
        if headcount >= minimum:
            return in_scope_from
    if first_reached_five_on is not None:
        # Had five or more before the phase-in ended and has shrunk since: still in scope.
        return _LAST_PHASE
    return None


def headcount_decides_scope(sector: str, first_reached_five_on: date | None = None, in_scope_since: date | None = None) -> bool:
    """Whether an employer's scope depends on its headcount: a private employer neither known to be in
    scope already nor known when it reached five. Where it does, a missing headcount is refused, never
    read as zero (which would put every employee out of scope without a word)."""
    return sector not in _PUBLIC_FROM and first_reached_five_on is None and in_scope_since is None


# ---------------------------------------------------------------------------------------------
# Employees
# ---------------------------------------------------------------------------------------------

AGE_LIMIT_YEARS = 45
REFERENCE_SWITCH = date(2018, 12, 27)
"""The 2018 amendment of the regulation (RG 27.12.2018) moved the age reference date."""

ELIGIBLE_CITIZENSHIP = frozenset({"TR", "BLUE_CARD"})
CITIZENSHIPS = frozenset({"TR", "BLUE_CARD", "FOREIGN"})
ELIGIBLE_SGK_STATUS = frozenset({"4a", "4c"})
SGK_STATUSES = frozenset({"4a", "4b", "4c"})


class AgeReference(enum.StrEnum):
    """How the date on which the 45-year test is made is chosen (docs/rules.md §3; unsettled, so a setting).

    ``YEAR_START`` (default, Yönetmelik 8/A as Vakıf Emeklilik explains it): 2017-01-01 for anyone
    who had to be included before 2018-12-27, else 1 January of the year of inclusion.
    ``INCLUSION_DATE``: the inclusion date itself (the reading of some commentaries).
    """

    YEAR_START = "year_start"
    INCLUSION_DATE = "inclusion_date"


@dataclass(frozen=True)
class Assessment:
    """The outcome for one employee: ``eligible`` and a stable ``reason`` code.

    Reasons when eligible: ``eligible`` (automatic), ``certificate`` (over the age limit but holds an
    OKS certificate in force), ``voluntary`` (over the limit, joins on request). When not:
    ``citizenship``, ``sgk_status``, ``age``.
    """

    eligible: bool
    reason: str
    age_reference_date: date


def age_reference_date(inclusion_date: date, rule: AgeReference | str = AgeReference.YEAR_START) -> date:
    rule = AgeReference(rule)
    if rule is AgeReference.INCLUSION_DATE:
        return inclusion_date
    if inclusion_date < REFERENCE_SWITCH:
        return date(2017, 1, 1)
    return date(inclusion_date.year, 1, 1)


def _anniversary(birth_date: date, years: int) -> date:
    # Someone born on 29 February completes a year on 1 March in a common year: on 28 February the
    # full year has not yet elapsed.
    try:
        return birth_date.replace(year=birth_date.year + years)
    except ValueError:
        return date(birth_date.year + years, 3, 1)


def assess_employee(
    *,
    birth_date: date,
    citizenship: str,
    sgk_status: str,
    inclusion_date: date,
    has_oks_certificate: bool = False,
    voluntary: bool = False,
    age_reference: AgeReference | str = AgeReference.YEAR_START,
) -> Assessment:
    """Decide whether an employee is enrolled automatically, may join, or is out, and why.

    Citizenship and SGK status exclude whatever the age; the age test is waived by an OKS
    certificate in force (the insurer confirms it) and, since 2022, by the employee's own request.
    """
    if citizenship not in CITIZENSHIPS:
        raise ValueError(f"citizenship must be one of {', '.join(sorted(CITIZENSHIPS))} (got {citizenship!r})")
    if sgk_status not in SGK_STATUSES:
        raise ValueError(f"sgk_status must be one of {', '.join(sorted(SGK_STATUSES))} (got {sgk_status!r})")
    if birth_date > inclusion_date:
        raise ValueError(f"birth_date {birth_date} is after the inclusion date {inclusion_date}")

    reference = age_reference_date(inclusion_date, age_reference)
    if citizenship not in ELIGIBLE_CITIZENSHIP:
        return Assessment(False, "citizenship", reference)
    if sgk_status not in ELIGIBLE_SGK_STATUS:
        return Assessment(False, "sgk_status", reference)
    if reference < _anniversary(birth_date, AGE_LIMIT_YEARS):
        return Assessment(True, "eligible", reference)
    if has_oks_certificate:
        return Assessment(True, "certificate", reference)
    if voluntary:
        return Assessment(True, "voluntary", reference)
    return Assessment(False, "age", reference)
