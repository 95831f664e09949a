"""The DES steps end to end against the real simulator: enrol, reject, pay, never twice, opt-outs."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
import sqlalchemy as sa

from oks.pipeline.assess import assess_eligibility
from oks.pipeline.contribute import compute_contributions
from oks.pipeline.obligations import record_payment_obligations
from oks.pipeline.reconcile import InvariantBroken, reconcile_run
from oks.pipeline.status_sync import sync_insurer_status
from oks.pipeline.submission import (
    contracts_with_work,
    record_payment_results,
    record_personnel_results,
    register_contracts,
    submit_payments,
    submit_personnel,
)
from oks.store.schema import contributions, enrolments, payroll_lines, quarantine
from tests.payroll_files import CONTRACT, contract, person
from tests.pipeline.des_steps import CREDENTIALS, register_file, wait
from tests.pipeline.months import run_month

D = Decimal
def month_through_des(store, gateway, sim, tmp_path, rows, run_key, period="2026-10"):
    run_id = run_month(store, tmp_path, rows, [contract()], run_key=run_key, period=period)
    sync_insurer_status(store, gateway)
    assess_eligibility(store, run_id)
    compute_contributions(store, run_id)
    (contract_no,) = contracts_with_work(store, run_id)
    register_contracts(store, gateway, run_id, [contract_no], credentials_for=lambda *_: CREDENTIALS)
    listed = submit_personnel(store, gateway, run_id, contract_no)
    results = {}
    if listed["list_id"]:  # nobody new to send: nothing to wait for
        wait(lambda: gateway.read_personnel_results(listed["list_id"], limit=1).state, lambda s: s == "COMPLETED")
        results = record_personnel_results(store, gateway, run_id, contract_no, listed["list_id"])
    paid = submit_payments(store, gateway, run_id, contract_no)
    payment_id = paid["payments"]["regular"]["payment_id"]
    wait(lambda: gateway.read_payment(payment_id, limit=1).state, lambda s: s in ("TRANSFERRED", "REJECTED"))
    transfer = record_payment_results(store, gateway, run_id, contract_no, payment_id)
    instructions = record_payment_obligations(store, run_id, des_payment_ids={f"{contract_no}/regular": payment_id})
    reconciled = reconcile_run(store, run_id, gateway=gateway)
    assert reconciled["problems"] == 0 and reconciled["contracts_checked"] == 1
    return run_id, results, paid, transfer, instructions


def test_a_month_with_a_rejection_then_a_rerun_then_an_opt_out(store, gateway, sim, tmp_path):
    rows = [person(n, pek=D("40000") + n) for n in range(1, 6)]
    sim.load_register(register_file(tmp_path, rows, mismatch={"P00004"}))

    run_id, results, paid, transfer, (instruction,) = month_through_des(store, gateway, sim, tmp_path, rows, "oct")
    assert results["contract_no"] == CONTRACT
    assert (results["enrolled"], results["rejected"]) == (4, 1)
    regular = paid["payments"]["regular"]
    assert (regular["items"], D(regular["total"])) == (4, D("4800"))  # 3% of 40001..40005 without person 4, truncated
    assert transfer["state"] == "TRANSFERRED" and D(transfer["accepted_total"]) == D("4800")
    assert instruction.amount == D("4800") and instruction.due_on == date(2026, 11, 2)
    with store.connect() as conn:
        outcomes = dict(conn.execute(
            sa.select(payroll_lines.c.payroll_id, contributions.c.outcome)
            .join(contributions, contributions.c.payroll_line_id == payroll_lines.c.id)
        ).all())  # fmt: skip
        (rejected,) = conn.execute(sa.select(quarantine).where(quarantine.c.stage == "insurer")).all()
        states = sorted(conn.execute(sa.select(enrolments.c.state)).scalars())
    assert outcomes["P00004"] == "rejected" and list(outcomes.values()).count("contributed") == 4
    assert rejected.rule == "IDENTITY_MISMATCH" and person(4)["tckn"] not in rejected.message
    assert states == ["enrolled"] * 4 + ["rejected"]

    # The same month run again: DES keeps one list and one payment, the totals do not move.
    again = month_through_des(store, gateway, sim, tmp_path, rows, "oct")
    assert again[2]["payments"]["regular"]["payment_id"] == regular["payment_id"]
    assert again[4][0].obligation_id == instruction.obligation_id and again[4][0].amount == D("4800")
    state = sim.state()
    assert (len(state["personnel_lists"]), len(state["payments"])) == (1, 1)

    # Person 2 opts out directly with the insurer; November deducts nothing for them. Payroll corrects
    # person 4's surname to the register's: they are sent again and enrolled.
    sim.event(CONTRACT, "OPTED_OUT", person(2)["tckn"], effective_on="2026-11-10", notified_on="2026-11-10")
    november = [{**r, "period": "2026-11", "wage_paid_on": date(2026, 11, 30)} for r in rows]
    november[3]["last_name"] = "Başkası"
    nov_run, *_ = month_through_des(store, gateway, sim, tmp_path, november, "nov", period="2026-11")
    with store.connect() as conn:
        by_person = dict(conn.execute(
            sa.select(payroll_lines.c.payroll_id, contributions.c.outcome)
            .join(contributions, contributions.c.payroll_line_id == payroll_lines.c.id)
            .where(contributions.c.run_id == nov_run)
        ).all())  # fmt: skip
    assert by_person["P00002"] == "inactive"
    assert by_person["P00004"] == "contributed"
    with store.connect() as conn:
        assert sorted(conn.execute(sa.select(enrolments.c.state)).scalars()) == ["enrolled"] * 4 + ["opted_out"]
    assert sorted(p["kind"] for p in sim.state()["payments"]) == ["REGULAR", "REGULAR"]  # October and November


def test_reconciliation_catches_a_contribution_changed_after_payment(store, gateway, sim, tmp_path):
    rows = [person(n, pek=D("40000")) for n in range(1, 4)]
    sim.load_register(register_file(tmp_path, rows))
    run_id, *_ = month_through_des(store, gateway, sim, tmp_path, rows, "oct")
    with store.begin() as conn:
        conn.execute(sa.update(contributions).where(contributions.c.id == 1).values(amount=D("1")))
    with pytest.raises(InvariantBroken, match=r"AG-2026-001/regular: contributions 2401.00 ≠ payment obligations 3600.00"):
        reconcile_run(store, run_id, gateway=gateway)


def test_reconciliation_catches_a_second_supplementary_payment_for_the_same_wage_day(store, gateway, sim, tmp_path):
    from oks.des.models import PaymentItem

    rows = [person(n, pek=D("40000")) for n in range(1, 3)] + [person(1, pek=D("10000"), payment_kind="supplementary")]
    sim.load_register(register_file(tmp_path, rows[:2]))
    run_id = run_month(store, tmp_path, rows, [contract()], run_key="bonus")
    sync_insurer_status(store, gateway)
    assess_eligibility(store, run_id)
    compute_contributions(store, run_id)
    register_contracts(store, gateway, run_id, [CONTRACT], credentials_for=lambda *_: CREDENTIALS)
    listed = submit_personnel(store, gateway, run_id, CONTRACT)
    wait(lambda: gateway.read_personnel_results(listed["list_id"], limit=1).state, lambda s: s == "COMPLETED")
    record_personnel_results(store, gateway, run_id, CONTRACT, listed["list_id"])
    paid = submit_payments(store, gateway, run_id, CONTRACT)["payments"]
    ids = {}
    for kind, payment in paid.items():
        wait(lambda payment=payment: gateway.read_payment(payment["payment_id"], limit=1).state, lambda s: s == "TRANSFERRED")
        record_payment_results(store, gateway, run_id, CONTRACT, payment["payment_id"])
        ids[f"{CONTRACT}/{kind}"] = payment["payment_id"]
    record_payment_obligations(store, run_id, des_payment_ids=ids)
    assert reconcile_run(store, run_id, gateway=gateway)["problems"] == 0

    # Another SUPPLEMENTARY payment for the same wage day reaches DES (by hand, another channel, a bug):
    first = gateway.read_payment(paid["supplementary"]["payment_id"], limit=1)
    item = gateway.read_payment(paid["supplementary"]["payment_id"]).items[0]
    second = gateway.submit_payment(CONTRACT, "2026-10", "SUPPLEMENTARY", first.wage_paid_on,
                                    [PaymentItem(tckn=item.tckn, policy_no=item.policy_no, amount=D("1.00"))], run_id=run_id)  # fmt: skip
    with pytest.raises(InvariantBroken, match=rf"{CONTRACT} 2026-10: 2 SUPPLEMENTARY payments for wages of {first.wage_paid_on} on DES .*paid twice"):
        reconcile_run(store, run_id, gateway=gateway)
    assert second.payment_id != first.payment_id


def test_reconciliation_never_skips_the_rows_read_check(store, tmp_path):
    from oks.store.schema import runs

    run_id = run_month(store, tmp_path, [person(1)], [contract()], run_key="counts")
    assess_eligibility(store, run_id)
    compute_contributions(store, run_id)
    record_payment_obligations(store, run_id)
    with store.begin() as conn:
        conn.execute(sa.update(runs).where(runs.c.id == run_id).values(summary={}))
    with pytest.raises(InvariantBroken, match="no extraction counts"):
        reconcile_run(store, run_id)


def test_reconciliation_names_lines_without_an_outcome_and_lines_with_two(store, tmp_path):
    # Counted in the database, not by holding every line of the run: the counts and the first rows named.
    rows = [person(n) for n in range(1, 5)]
    run_id = run_month(store, tmp_path, rows, [contract()], run_key="outcomes")
    assess_eligibility(store, run_id)
    compute_contributions(store, run_id)
    record_payment_obligations(store, run_id)
    assert reconcile_run(store, run_id)["lines"] == 4
    with store.begin() as conn:
        lines = dict(conn.execute(sa.select(payroll_lines.c.row_no, payroll_lines.c.id).where(payroll_lines.c.run_id == run_id)).all())
        conn.execute(sa.delete(contributions).where(contributions.c.payroll_line_id.in_([lines[2], lines[4]])))
        conn.execute(sa.insert(quarantine).values(run_id=run_id, row_no=3, stage="validate", field="tckn", rule="x", message="row 3"))
    with pytest.raises(InvariantBroken) as broken:
        reconcile_run(store, run_id)
    assert "2 payroll line(s) have no outcome (rows [2, 4])" in str(broken.value)
    assert "1 payroll line(s) have more than one outcome (rows [3])" in str(broken.value)
