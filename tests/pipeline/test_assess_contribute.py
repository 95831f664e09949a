"""Assessment and contribution steps: one outcome per line, amounts by the rules, overrides in order."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
import sqlalchemy as sa

from oks.payroll.sources import CsvSource, open_contract_master
from oks.pipeline.assess import assess_eligibility, decide
from oks.pipeline.contribute import compute_contributions
from oks.pipeline.extract import extract_payroll
from oks.store.schema import contributions, enrolments, payroll_lines, quarantine
from tests.payroll_files import contract, person, write_contracts_csv, write_csv
from tests.pipeline.months import run_month

D = Decimal
BASE = dict(
    wage_paid_on=date(2026, 10, 30), hire_date=date(2020, 3, 1), birth_date=date(1990, 1, 1), citizenship="TR",
    sgk_status="4a", has_oks_certificate=False, voluntary=False, employer_headcount=120, employer_sector="private",
    employer_first_reached_five_on=None, enrolment_state=None,
)  # fmt: skip


def _asked(kind: str, on: date, months: int | None = None) -> dict:
    return {"request_kind": kind, "requested_on": on, "request_months": months}


@pytest.mark.parametrize(
    ("overrides", "outcome", "reason", "enrol"),
    [
        ({}, "contributed", "eligible", True),
        # hired this year and 45 on 1 January: out
        ({"birth_date": date(1981, 1, 1), "hire_date": date(2026, 9, 1)}, "not_eligible", "age", False),
        # the same person hired in 2020 was 39 on that year's reference date: should have been enrolled then
        ({"birth_date": date(1981, 1, 1)}, "contributed", "eligible", True),
        ({"birth_date": date(1960, 1, 1), "has_oks_certificate": True}, "contributed", "certificate", True),
        ({"citizenship": "FOREIGN"}, "not_eligible", "citizenship", False),
        ({"sgk_status": "4b"}, "not_eligible", "sgk_status", False),
        ({"employer_headcount": 3}, "not_eligible", "employer_not_in_scope", False),
        # scope never drops silently: no headcount where scope depends on it is refused, never read as 0
        ({"employer_headcount": None}, "not_eligible", "employer_headcount_missing", False),
        ({"employer_headcount": None, "employer_sector": "central_government"}, "contributed", "eligible", True),
        ({"employer_headcount": None, "employer_in_scope_since": date(2026, 9, 30)}, "contributed", "eligible", True),
        # once in scope, always in scope: shrunk below five
        ({"employer_headcount": 3, "employer_in_scope_since": date(2026, 9, 30)}, "contributed", "eligible", True),
        # a new employer that reached five in 2026 is in scope only from 2027
        ({"employer_headcount": 8, "employer_first_reached_five_on": date(2026, 2, 1)}, "not_eligible", "employer_not_in_scope", False),
        # hired 2018-12-26 at an employer in scope since 2017: reference date 2017-01-01, so 45 on 2017-01-02 is fine
        ({"hire_date": date(2018, 12, 26), "birth_date": date(1972, 1, 2)}, "contributed", "eligible", True),
        # an enrolled employee who has since turned 45 stays enrolled
        ({"birth_date": date(1970, 1, 1), "enrolment_state": "enrolled"}, "contributed", "enrolment_enrolled", False),
        ({"enrolment_state": "opted_out"}, "inactive", "opted_out", False),
        ({"enrolment_state": "left"}, "inactive", "left", False),
        ({"enrolment_state": "paused", "paused_until": date(2026, 11, 30)}, "inactive", "paused", False),
        ({"enrolment_state": "paused", "paused_until": date(2026, 10, 29)}, "contributed", "pause_ended", False),
        ({"enrolment_state": "rejected", "enrolment_reason": "IDENTITY_MISMATCH"}, "rejected", "IDENTITY_MISMATCH", False),
        # Requests made at the employer, not yet decided by the insurer: from their day (the wage is paid 30 October).
        ({"enrolment_state": "enrolled", **_asked("OPT_OUT", date(2026, 10, 12))}, "inactive", "opt_out_requested", False),
        ({"enrolment_state": "enrolled", **_asked("OPT_OUT", date(2026, 10, 30))}, "inactive", "opt_out_requested", False),
        ({"enrolment_state": "enrolled", **_asked("OPT_OUT", date(2026, 10, 31))}, "contributed", "enrolment_enrolled", False),
        ({"enrolment_state": "enrolled", **_asked("LEAVE", date(2026, 9, 1))}, "inactive", "leave_requested", False),
        ({"enrolment_state": "enrolled", **_asked("PAUSE", date(2026, 10, 1), 1)}, "inactive", "pause_requested", False),
        ({"enrolment_state": "enrolled", **_asked("PAUSE", date(2026, 8, 1), 2)}, "contributed", "enrolment_enrolled", False),
        ({"enrolment_state": "paused", "paused_until": date(2026, 12, 1), **_asked("RESUME", date(2026, 10, 2))}, "contributed",
         "resume_requested", False),  # fmt: skip
        ({"enrolment_state": "submitted", **_asked("OPT_OUT", date(2026, 10, 2))}, "inactive", "opt_out_requested", False),
        # The period decided again after its first attempt: by the state in force for the wage (docs/rules.md §6).
        ({"enrolment_state": "left", "enrolment_reason": "left_employment", "ended_on": date(2026, 10, 14),
          "state_since": date(2026, 10, 14), "state_before": "enrolled", "period_starts_on": date(2026, 10, 1)},
         "contributed", "enrolment_enrolled", False),  # the leaver's last month, though its EXIT has gone
        ({"enrolment_state": "opted_out", "ended_on": date(2026, 11, 2), "state_since": date(2026, 11, 2), "state_before": "enrolled",
          "period_starts_on": date(2026, 10, 1)}, "contributed", "enrolment_enrolled", False),  # an opt-out after the wage
        ({"enrolment_state": "opted_out", "ended_on": date(2026, 10, 20), "state_since": date(2026, 10, 20), "state_before": "enrolled",
          "period_starts_on": date(2026, 10, 1)}, "inactive", "opted_out", False),  # before it
        ({"enrolment_state": "left", "enrolment_reason": "left_employment", "ended_on": date(2026, 10, 14), "hire_date": date(2026, 10, 20),
          "state_since": date(2026, 10, 14), "state_before": "enrolled", "period_starts_on": date(2026, 10, 1)},
         "contributed", "rehired", False),  # left and hired again within the month: a joiner  # fmt: skip
        # After the end: a leaver hired again is a joiner; someone who left the plan while employed is re-enrolled
        # on a notice, or once the interval (3 years by default) has passed — once.
        ({"enrolment_state": "left", "enrolment_reason": "left_employment", "ended_on": date(2025, 6, 30),
          "hire_date": date(2026, 9, 1)}, "contributed", "rehired", False),
        ({"enrolment_state": "left", "enrolment_reason": "left_employment", "ended_on": date(2025, 6, 30),
          "hire_date": date(2020, 3, 1)}, "inactive", "left", False),
        ({"enrolment_state": "opted_out", "ended_on": date(2023, 10, 30)}, "contributed", "reenrolled_after_interval", False),
        ({"enrolment_state": "opted_out", "ended_on": date(2023, 10, 31)}, "inactive", "opted_out", False),
        ({"enrolment_state": "left", "enrolment_reason": "opt_out_after_window", "ended_on": date(2023, 1, 5)}, "contributed",
         "reenrolled_after_interval", False),
        ({"enrolment_state": "opted_out", "ended_on": date(2023, 1, 5), "reenrolled_before": True}, "inactive", "opted_out", False),
        ({"enrolment_state": "opted_out", "ended_on": date(2025, 1, 5), "reenrolment_years": 1}, "contributed",
         "reenrolled_after_interval", False),
        ({"enrolment_state": "opted_out", "ended_on": date(2026, 5, 5), "reenrolment_notice": date(2026, 10, 1)}, "contributed",
         "reenrolled_on_notice", False),
        ({"enrolment_state": "opted_out", "ended_on": date(2026, 5, 5), "reenrolment_notice": date(2026, 11, 2)}, "inactive",
         "opted_out", False),  # fmt: skip
    ],
)
def test_decide(overrides, outcome, reason, enrol):
    decision = decide(**{**BASE, **overrides})
    assert (decision.outcome, decision.reason, decision.enrol) == (outcome, reason, enrol)


def test_every_line_ends_with_one_outcome_and_amounts_follow_the_rules(store, tmp_path):
    rows = [
        person(1, pek=D("33030.99")),  # 3% → 990.93 → 990
        person(2, pek=D("52340.75"), rate_override=D("0.05")),  # line override → 2617
        person(3, pek=D("40000.00"), amount_override=D("1500.00")),  # fixed → 1500
        person(4, birth_date=date(1970, 5, 5)),  # too old
        person(5, citizenship="FOREIGN"),
        person(1, pek=D("10000.00"), payment_kind="supplementary"),  # bonus of person 1 → 300
        person(6, pek="bozuk"),  # malformed: quarantined at extraction
    ]
    run_id = run_month(store, tmp_path, rows, [contract(rate=D("0.04"))])
    assessed = assess_eligibility(store, run_id)
    computed = compute_contributions(store, run_id)

    # with the contract rate at 4%, persons 1's lines use it; line overrides beat it
    expected = {1: D("1321"), 2: D("2617"), 3: D("1500"), 6: D("400")}
    with store.connect() as conn:
        got = dict(
            conn.execute(
                sa.select(payroll_lines.c.row_no, contributions.c.amount)
                .join(contributions, contributions.c.payroll_line_id == payroll_lines.c.id)
                .where(contributions.c.outcome == "contributed")
            ).all()
        )
        outcomes = dict(
            conn.execute(
                sa.select(payroll_lines.c.row_no, contributions.c.outcome).join(
                    contributions, contributions.c.payroll_line_id == payroll_lines.c.id
                )
            ).all()
        )
        quarantined = set(conn.execute(sa.select(quarantine.c.row_no)).scalars())
        states = conn.execute(sa.select(enrolments.c.state)).scalars().all()
        unattached = conn.execute(
            sa.select(sa.func.count()).select_from(contributions).where(
                contributions.c.outcome == "contributed", contributions.c.enrolment_id.is_(None)
            )
        ).scalar_one()

    assert got == expected
    assert outcomes == {1: "contributed", 2: "contributed", 3: "contributed", 4: "not_eligible", 5: "not_eligible", 6: "contributed"}
    assert quarantined == {7}
    assert set(outcomes).isdisjoint(quarantined) and set(outcomes) | quarantined == set(range(1, 8))
    assert sorted(states) == ["pending"] * 3 and unattached == 0
    assert (assessed["contributed"], assessed["not_eligible"]) == (4, 2)
    assert D(computed["total"]) == sum(expected.values())
    assert computed["by_contract"] == {"AG-2026-001/regular": "5438", "AG-2026-001/supplementary": "400"}


def test_reassessing_the_same_run_replaces_its_decisions(store, tmp_path):
    run_id = run_month(store, tmp_path, [person(1), person(2)], [contract()])
    assess_eligibility(store, run_id)
    first = compute_contributions(store, run_id)
    assess_eligibility(store, run_id)
    second = compute_contributions(store, run_id)
    with store.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(contributions)).scalar_one() == 2
        assert conn.execute(sa.select(sa.func.count()).select_from(enrolments)).scalar_one() == 2
    assert first == second


def test_a_line_without_an_employee_record_fails_loudly(store, tmp_path):
    payroll = write_csv(tmp_path / "p.csv", [person(1)])
    master = write_contracts_csv(tmp_path / "c.csv", [contract()])
    summary = extract_payroll(store, run_key="x", period="2026-10", source=CsvSource(payroll), contracts_source=open_contract_master(master))
    with pytest.raises(RuntimeError, match="1 of 1 valid lines have no employee or contract record"):
        assess_eligibility(store, summary["run_id"])
