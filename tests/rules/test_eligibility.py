"""Employer scope (docs/rules.md §2) and employee assessment (docs/rules.md §3)."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from oks.rules.eligibility import AgeReference, age_reference_date, assess_employee, employer_in_scope_from, headcount_decides_scope

# --- employers ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headcount", "in_scope_from"),
    [
        (0, None),
        (4, None),
        (5, date(2019, 1, 1)),
        (9, date(2019, 1, 1)),
        (10, date(2018, 7, 1)),
        (49, date(2018, 7, 1)),
        (50, date(2018, 1, 1)),
        (99, date(2018, 1, 1)),
        (100, date(2017, 7, 1)),
        (249, date(2017, 7, 1)),
        (250, date(2017, 4, 1)),
        (999, date(2017, 4, 1)),
        (1000, date(2017, 1, 1)),
        (25000, date(2017, 1, 1)),
    ],
)
def test_private_employer_tiers(headcount, in_scope_from):
    assert employer_in_scope_from(headcount) == in_scope_from


@pytest.mark.parametrize(
    ("sector", "headcount", "in_scope_from"),
    [
        ("central_government", 3, date(2017, 4, 1)),
        ("central_government", 5000, date(2017, 4, 1)),
        ("local_government", 0, date(2018, 1, 1)),
        ("local_government", 2000, date(2018, 1, 1)),
    ],
)
def test_public_bodies_by_kind(sector, headcount, in_scope_from):
    assert employer_in_scope_from(headcount, sector) == in_scope_from


@pytest.mark.parametrize(
    ("headcount", "first_reached_five_on", "in_scope_from"),
    [
        (5, date(2019, 1, 2), date(2020, 1, 1)),  # first day after the phase-in ended
        (7, date(2024, 3, 15), date(2025, 1, 1)),
        (1200, date(2024, 3, 15), date(2025, 1, 1)),  # a new employer that grew fast: no 2017 tier
        (3, date(2024, 3, 15), date(2025, 1, 1)),  # shrank again: once in scope, stays in scope
        (6, date(2026, 12, 31), date(2027, 1, 1)),
        (5, date(2019, 1, 1), date(2019, 1, 1)),  # reached five on the last phase-in date itself
        (3, date(2018, 5, 1), date(2019, 1, 1)),  # had five before the phase-in ended, shrank since
        (300, date(2016, 5, 1), date(2017, 4, 1)),  # an old employer keeps its tier
    ],
)
def test_new_employer_rule(headcount, first_reached_five_on, in_scope_from):
    assert employer_in_scope_from(headcount, first_reached_five_on=first_reached_five_on) == in_scope_from


@pytest.mark.parametrize(
    ("args", "error"),
    [((-1,), ValueError), ((10, "cooperative"), ValueError), ((9.5,), TypeError), ((True,), TypeError)],
)
def test_employer_input_errors(args, error):
    with pytest.raises(error):
        employer_in_scope_from(*args)


@given(st.integers(min_value=0, max_value=100_000), st.integers(min_value=0, max_value=100_000))
def test_a_larger_employer_is_never_in_scope_later(a, b):
    small, large = sorted((a, b))
    small_from, large_from = employer_in_scope_from(small), employer_in_scope_from(large)
    if small_from is not None:
        assert large_from is not None and large_from <= small_from


# --- employees ----------------------------------------------------------------------------------

BASE = dict(citizenship="TR", sgk_status="4a", inclusion_date=date(2026, 3, 1))


@pytest.mark.parametrize(
    ("overrides", "eligible", "reason"),
    [
        # 45th birthday on the reference date (2026-01-01): completed, so out.
        ({"birth_date": date(1981, 1, 1)}, False, "age"),
        ({"birth_date": date(1981, 1, 2)}, True, "eligible"),
        ({"birth_date": date(1980, 12, 31)}, False, "age"),
        ({"birth_date": date(2007, 6, 1)}, True, "eligible"),
        # citizenship
        ({"birth_date": date(1990, 1, 1), "citizenship": "BLUE_CARD"}, True, "eligible"),
        ({"birth_date": date(1990, 1, 1), "citizenship": "FOREIGN"}, False, "citizenship"),
        ({"birth_date": date(1990, 1, 1), "citizenship": "FOREIGN", "has_oks_certificate": True}, False, "citizenship"),
        # SGK status
        ({"birth_date": date(1990, 1, 1), "sgk_status": "4c"}, True, "eligible"),
        ({"birth_date": date(1990, 1, 1), "sgk_status": "4b"}, False, "sgk_status"),
        ({"birth_date": date(1990, 1, 1), "sgk_status": "4b", "voluntary": True}, False, "sgk_status"),
        # over the age limit: certificate, voluntary
        ({"birth_date": date(1970, 1, 1), "has_oks_certificate": True}, True, "certificate"),
        ({"birth_date": date(1970, 1, 1), "voluntary": True}, True, "voluntary"),
        ({"birth_date": date(1970, 1, 1), "voluntary": True, "has_oks_certificate": True}, True, "certificate"),
        ({"birth_date": date(1990, 1, 1), "has_oks_certificate": True}, True, "eligible"),
    ],
)
def test_assess_employee(overrides, eligible, reason):
    outcome = assess_employee(**{**BASE, **overrides})
    assert (outcome.eligible, outcome.reason) == (eligible, reason)
    assert outcome.age_reference_date == date(2026, 1, 1)


@pytest.mark.parametrize(
    ("inclusion_date", "reference", "eligible"),
    [
        (date(2017, 1, 1), date(2017, 1, 1), True),
        (date(2018, 12, 26), date(2017, 1, 1), True),  # last day before the amendment
        (date(2018, 12, 27), date(2018, 1, 1), False),  # the amendment: reference is the year start
        (date(2019, 1, 1), date(2019, 1, 1), False),
    ],
)
def test_reference_date_switch_of_2018_12_27(inclusion_date, reference, eligible):
    # Born 1972-01-02: completes 45 on 2017-01-02, the day after the 2017 reference.
    outcome = assess_employee(birth_date=date(1972, 1, 2), citizenship="TR", sgk_status="4a", inclusion_date=inclusion_date)
    assert outcome.age_reference_date == reference
    assert outcome.eligible is eligible


@pytest.mark.parametrize(
    ("birth_date", "inclusion_date", "eligible"),
    [
        (date(1981, 6, 1), date(2026, 5, 31), True),
        (date(1981, 6, 1), date(2026, 6, 1), False),
        (date(1980, 2, 29), date(2025, 2, 28), True),  # no 29 February in 2025: not yet 45
        (date(1980, 2, 29), date(2025, 3, 1), False),
    ],
)
def test_inclusion_date_reference_is_a_setting(birth_date, inclusion_date, eligible):
    outcome = assess_employee(
        birth_date=birth_date,
        citizenship="TR",
        sgk_status="4a",
        inclusion_date=inclusion_date,
        age_reference="inclusion_date",
    )
    assert outcome.age_reference_date == inclusion_date
    assert outcome.eligible is eligible


@pytest.mark.parametrize(
    "overrides",
    [{"citizenship": "US"}, {"sgk_status": "4/a"}, {"birth_date": date(2026, 3, 2)}],
)
def test_assess_employee_refuses_unknown_values(overrides):
    with pytest.raises(ValueError):
        assess_employee(**{"birth_date": date(1990, 1, 1), **BASE, **overrides})


def test_unknown_age_reference_rule_is_refused():
    with pytest.raises(ValueError):
        age_reference_date(date(2026, 1, 1), "hire_date")
    assert age_reference_date(date(2026, 7, 1), AgeReference.YEAR_START) == date(2026, 1, 1)


@given(
    st.dates(min_value=date(1950, 1, 1), max_value=date(2008, 12, 31)),
    st.dates(min_value=date(1950, 1, 1), max_value=date(2008, 12, 31)),
    st.dates(min_value=date(2017, 1, 1), max_value=date(2030, 12, 31)),
    st.sampled_from(list(AgeReference)),
)
def test_a_younger_person_is_never_less_eligible(born_a, born_b, inclusion_date, rule):
    older, younger = sorted((born_a, born_b))
    common = dict(citizenship="TR", sgk_status="4a", inclusion_date=inclusion_date, age_reference=rule)
    if assess_employee(birth_date=older, **common).eligible:
        assert assess_employee(birth_date=younger, **common).eligible


@pytest.mark.parametrize(
    ("headcount", "first_reached_five_on", "in_scope_since", "in_scope_from"),
    [
        (3, None, date(2026, 10, 30), date(2026, 10, 30)),  # shrunk below five: still in scope
        (0, None, date(2024, 3, 29), date(2024, 3, 29)),
        (120, None, date(2026, 10, 30), date(2017, 7, 1)),  # its tier's date when earlier
        (6, date(2026, 11, 1), None, date(2027, 1, 1)),  # reached five in 2026: from next year's first wage
        (3, date(2026, 11, 1), date(2027, 1, 29), date(2027, 1, 1)),  # in since January, shrunk in March: the law's date stands
        (3, None, None, None),
    ],
)
def test_once_in_scope_an_employer_stays_in_scope(headcount, first_reached_five_on, in_scope_since, in_scope_from):
    assert employer_in_scope_from(headcount, "private", first_reached_five_on, in_scope_since) == in_scope_from


@pytest.mark.parametrize(
    ("sector", "first_reached_five_on", "in_scope_since", "decides"),
    [
        ("private", None, None, True),
        ("private", date(2026, 11, 1), None, False),
        ("private", None, date(2026, 10, 30), False),
        ("central_government", None, None, False),
        ("local_government", None, None, False),
    ],
)
def test_a_headcount_is_needed_only_where_it_decides_the_scope(sector, first_reached_five_on, in_scope_since, decides):
    assert headcount_decides_scope(sector, first_reached_five_on, in_scope_since) is decides
