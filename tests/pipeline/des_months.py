"""October through DES as the DAG runs it, for the correction tests (pipeline and DAG): the payroll,
the month sent and paid, and what the simulator holds.

A plain module, not a test module: test modules are never imported by other modules. Its ``month``
goes all the way through DES; :func:`tests.pipeline.months.month` stops after the contributions.
"""

from __future__ import annotations

from decimal import Decimal

from oks.pipeline.assess import assess_eligibility
from oks.pipeline.contribute import compute_contributions
from oks.pipeline.obligations import record_payment_obligations
from oks.pipeline.status_sync import sync_insurer_status
from oks.pipeline.submission import (
    record_payment_results,
    record_personnel_results,
    register_contracts,
    submit_payments,
    submit_personnel,
)
from tests.payroll_files import CONTRACT, contract, person
from tests.pipeline.des_steps import CREDENTIALS, wait
from tests.pipeline.months import run_month

D = Decimal


def month(store, gateway, tmp_path, rows, run_key="oct"):
    """One October run through DES: the steps the DAG runs, in order; returns the run and its payments."""
    run_id = run_month(store, tmp_path, rows, [contract()], run_key=run_key)
    sync_insurer_status(store, gateway)
    assess_eligibility(store, run_id)
    compute_contributions(store, run_id)
    register_contracts(store, gateway, run_id, [CONTRACT], credentials_for=lambda *_: CREDENTIALS)
    listed = submit_personnel(store, gateway, run_id, CONTRACT)
    if listed["list_id"]:
        wait(lambda: gateway.read_personnel_results(listed["list_id"], limit=1).state, lambda s: s == "COMPLETED")
        record_personnel_results(store, gateway, run_id, CONTRACT, listed["list_id"])
    payments = submit_payments(store, gateway, run_id, CONTRACT)["payments"]
    ids = {}
    for kind, payment in payments.items():
        wait(lambda payment=payment: gateway.read_payment(payment["payment_id"], limit=1).state, lambda s: s == "TRANSFERRED")
        record_payment_results(store, gateway, run_id, CONTRACT, payment["payment_id"])
        ids[f"{CONTRACT}/{kind}"] = payment["payment_id"]
    record_payment_obligations(store, run_id, des_payment_ids=ids)
    return run_id, payments


def october(changes=None):
    changes = changes or {}
    rows = {
        1: person(1, pek=D("40000.00")),
        2: person(2, pek=D("50000.00")),
        3: person(3, pek=D("60000.00")),
        "bonus": person(1, pek=D("10000.00"), payment_kind="supplementary"),
    }
    for key, pek in changes.items():
        rows[key] = {**rows[key], "pek": pek}
    return list(rows.values())


def des_payments(sim):
    return sorted((p["kind"], D(p["total"])) for p in sim.state()["payments"])
