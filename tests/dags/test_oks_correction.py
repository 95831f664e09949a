"""``oks_correction`` end to end with ``dag.test()``: a correction of a transferred month is decided in
Airflow's human-in-the-loop request — answered through the REST API as the UI does — sent once with
its own obligation, whose bank transfer is then confirmed like any other; a rejection sends nothing."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa

from oks.orchestration.airflow_api import AirflowApi
from oks.orchestration.local_run import BankStatementJob, load_dag
from oks.store.schema import payment_corrections, payment_obligations
from tests.dags.corrected_month import corrected_month
from tests.hitl_responder import Responder, request_of
from tests.payroll_files import person
from tests.pipeline.des_months import des_payments

REPO = Path(__file__).resolve().parents[2]
D = Decimal


def decide(local_airflow, correction_id: int, option: str, **form):
    """Trigger oks_correction and answer its request with ``option`` and ``form``; returns the run's
    state and what the approver was shown."""
    api, shown = AirflowApi(local_airflow), []
    form = {"wage_paid_on": None, "reason": "", **form}

    def operations_answer(detail: dict) -> None:
        shown.append(detail["subject"] + "\n" + (detail.get("body") or ""))
        api.answer(request_of(detail), option, form)

    dag = load_dag(REPO / "dags", "oks_correction")
    with Responder(api, "decide_correction", operations_answer), BankStatementJob(AirflowApi(local_airflow), interval=0.3):
        dag_run = dag.test(run_conf={"correction_id": correction_id})
    return str(getattr(dag_run.state, "value", dag_run.state)), shown


def test_an_approved_correction_is_sent_once_and_its_transfer_confirmed(des, local_airflow, tmp_path, monkeypatch):
    engine, proposal = corrected_month(des, tmp_path, monkeypatch, {3: D("61000.00")})
    before = des_payments(des)
    state, asked = decide(local_airflow, proposal["id"], "Approve", wage_paid_on="2026-11-27")
    assert state.endswith("success")
    assert [text for text in asked if text.startswith(f"Correction #{proposal['id']}: 30.00 TL to AGESA")]
    assert "****" in asked[0] and not any(person(n)["tckn"] in text for n in (1, 2, 3) for text in asked)  # masked
    assert sorted(des_payments(des)) == sorted([*before, ("SUPPLEMENTARY", D("30"))])  # the difference, once
    with engine.connect() as conn:
        sent = conn.execute(sa.select(payment_corrections).where(payment_corrections.c.id == proposal["id"])).one()
        obligation = conn.execute(sa.select(payment_obligations).where(payment_obligations.c.correction_id == proposal["id"])).one()
    assert (sent.state, sent.decided_by, str(sent.wage_paid_on)) == ("sent", sent.decided_by, "2026-11-27")
    assert sent.decided_by.startswith("airflow:")
    # Confirmed: paid, or late once this machine's day is past the deduction day's deadline (2026-11-30).
    assert (obligation.amount, obligation.state in ("paid", "late"), obligation.confirmed_by) == (D("30"), True, "bank-statement-job")

    # Triggered again for the same correction: nothing is asked, nothing is sent.
    state, asked = decide(local_airflow, proposal["id"], "Approve")
    assert state.endswith("success") and asked == [] and len(des_payments(des)) == len(before) + 1


def test_a_rejected_correction_sends_nothing_and_keeps_the_reason(des, local_airflow, tmp_path, monkeypatch):
    engine, proposal = corrected_month(des, tmp_path, monkeypatch, {2: D("49000.00"), 3: D("61000.00")})
    before = des_payments(des)
    state, asked = decide(local_airflow, proposal["id"], "Reject", reason="payroll entered the wrong PEK")
    assert state.endswith("success") and asked
    assert des_payments(des) == before
    with engine.connect() as conn:
        refused = conn.execute(sa.select(payment_corrections).where(payment_corrections.c.id == proposal["id"])).one()
        assert conn.execute(sa.select(payment_obligations).where(payment_obligations.c.correction_id == proposal["id"])).first() is None
    assert (refused.state, refused.reason) == ("refused", "payroll entered the wrong PEK")


def test_an_approval_whose_sending_was_interrupted_is_sent_by_the_retry_without_asking(des, local_airflow, tmp_path, monkeypatch):
    engine, proposal = corrected_month(des, tmp_path, monkeypatch, {3: D("61000.00")})
    before = des_payments(des)
    with engine.begin() as conn:  # answered Approve, then the worker died before DES was called
        conn.execute(sa.update(payment_corrections).where(payment_corrections.c.id == proposal["id"]).values(
            state="approved", decided_by="airflow:ops", wage_paid_on=date(2026, 11, 27)))  # fmt: skip
    state, asked = decide(local_airflow, proposal["id"], "Reject")  # nobody is asked, so nobody can reject it
    assert state.endswith("success") and asked == []
    assert sorted(des_payments(des)) == sorted([*before, ("SUPPLEMENTARY", D("30"))])
    with engine.connect() as conn:
        sent = conn.execute(sa.select(payment_corrections).where(payment_corrections.c.id == proposal["id"])).one()
    assert (sent.state, sent.decided_by) == ("sent", "airflow:ops")
