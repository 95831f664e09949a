"""Months of payroll through every pipeline step against the simulator, each on its own wage day, for
the employment-lifecycle tests: the process's clock — and the in-process simulator's — travels to the
month, so no event date depends on the machine's.

A plain module, not a test module: test modules are never imported by other modules.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time

import sqlalchemy as sa
import time_machine

from oks.des.models import WsCredentials
from oks.pipeline.assess import assess_eligibility
from oks.pipeline.contribute import compute_contributions
from oks.pipeline.obligations import record_payment_obligations
from oks.pipeline.reconcile import reconcile_run
from oks.pipeline.status_sync import sync_insurer_status
from oks.pipeline.submission import (
    contracts_with_work,
    record_payment_results,
    record_personnel_results,
    register_contracts,
    submit_payments,
    submit_personnel,
)
from oks.rules.calendar import ISTANBUL
from oks.store.schema import contracts, employees, enrolments
from tests.pipeline.des_steps import wait
from tests.pipeline.months import run_month


def credentials_for(contract_no: str, insurer: str) -> WsCredentials:
    if insurer == "ANADOLU":
        return WsCredentials(user="oks", password="secret", client_id="oks", client_secret="secret")
    return WsCredentials(user="oks", password="secret")


@dataclass
class Month:
    run_id: int
    listed: dict[str, dict] = field(default_factory=dict)  # per contract: what submit_personnel sent
    answered: dict[str, dict] = field(default_factory=dict)  # per contract: what the insurer said
    paid: dict[str, dict] = field(default_factory=dict)  # per contract: the payments per kind
    synced: dict = field(default_factory=dict)


def on(day: date):
    """The process's clock (and the in-process simulator's) at 10:00 Istanbul on ``day``, ticking."""
    return time_machine.travel(datetime.combine(day, time(10), tzinfo=ISTANBUL), tick=True)


def through_des(store, gateway, tmp_path, rows, contract_rows, *, period: str, wage_day: date, run_key: str,
                reenrolment_years: int = 3) -> Month:  # fmt: skip
    """One month, every step, on its wage day: extract, register, sync, assess, contribute, then per
    contract the DES steps, the obligations, and the run reconciled (it must)."""
    rows = [{**r, "period": period, "wage_paid_on": wage_day} for r in rows]
    with on(wage_day):
        run_id = run_month(store, tmp_path, rows, contract_rows, run_key=run_key, period=period)
        month = Month(run_id, synced=sync_insurer_status(store, gateway))
        assess_eligibility(store, run_id, reenrolment_years=reenrolment_years)
        compute_contributions(store, run_id)
        for contract_no in contracts_with_work(store, run_id):
            register_contracts(store, gateway, run_id, [contract_no], credentials_for=credentials_for)
            listed = month.listed[contract_no] = submit_personnel(store, gateway, run_id, contract_no)
            if listed["list_id"]:
                wait(lambda listed=listed: gateway.read_personnel_results(listed["list_id"], limit=1).state, lambda s: s == "COMPLETED")
                month.answered[contract_no] = record_personnel_results(store, gateway, run_id, contract_no, listed["list_id"])
            paid = month.paid[contract_no] = submit_payments(store, gateway, run_id, contract_no)["payments"]
            ids = {}
            for kind, payment in paid.items():
                wait(lambda payment=payment: gateway.read_payment(payment["payment_id"], limit=1).state,
                     lambda s: s in ("TRANSFERRED", "REJECTED"))  # fmt: skip
                record_payment_results(store, gateway, run_id, contract_no, payment["payment_id"])
                ids[f"{contract_no}/{kind}"] = payment["payment_id"]
            record_payment_obligations(store, run_id, contract_no=contract_no, des_payment_ids=ids)
        assert reconcile_run(store, run_id, gateway=gateway)["problems"] == 0
    return month


def held(sim, contract_no: str | None = None) -> dict[str, dict]:
    """The insurer's policies, by TCKN (one contract, or all when each person has one)."""
    return {p["tckn"]: p for p in sim.policies(contract_no)}


def store_states(store) -> dict[str, tuple]:
    """Each enrolment by TCKN: (state, reason, left on)."""
    with store.connect() as conn:
        rows = conn.execute(sa.select(employees.c.tckn, enrolments.c.state, enrolments.c.reason, enrolments.c.left_on)
                            .join(enrolments, enrolments.c.employee_id == employees.c.id)).all()  # fmt: skip
    return {r.tckn: (r.state, r.reason, r.left_on) for r in rows}


INSURER_STATE = {"enrolled": "ACTIVE", "paused": "PAUSED", "opted_out": "OPTED_OUT", "left": "LEFT"}


def store_view(store) -> dict[tuple[str, str], dict]:
    """What the store holds of every enrolment the insurer knows (a policy number), as the insurer
    would show it: state, policy, the person's record, the exit day of a leaver."""
    with store.connect() as conn:
        rows = conn.execute(
            sa.select(contracts.c.contract_no, employees.c.tckn, enrolments.c.state, enrolments.c.reason, enrolments.c.policy_no,
                      enrolments.c.left_on, employees.c.mobile, employees.c.iban, employees.c.email)
            .join(enrolments, enrolments.c.employee_id == employees.c.id).join(contracts, contracts.c.id == enrolments.c.contract_id)
            .where(enrolments.c.policy_no.is_not(None))
        ).all()  # fmt: skip
    # An opt-out the insurer reported after the cayma window is, to the store, leaving the plan (no refund);
    # the insurer still calls it an opt-out.
    def insurer_state(r) -> str:
        return "OPTED_OUT" if r.reason == "opt_out_after_window" else INSURER_STATE[r.state]

    return {
        (r.contract_no, r.tckn): {"state": insurer_state(r), "policy_no": r.policy_no, "mobile": r.mobile, "iban": r.iban,
                                  "email": r.email, "exit_date": r.left_on.isoformat() if r.reason == "left_employment" else None}
        for r in rows
    }  # fmt: skip


def insurer_view(sim) -> dict[tuple[str, str], dict]:
    """The same, from the simulator's policies."""
    return {
        (p["contract_no"], p["tckn"]): {"state": p["state"], "policy_no": p["policy_no"], "mobile": p["mobile"], "iban": p["iban"],
                                        "email": p["email"], "exit_date": p["exit_date"]}
        for p in sim.policies()
    }  # fmt: skip
