"""Corrections of a transferred month, exactly once: a re-run with corrected payroll never creates a
second payment of a kind; the difference per person is proposed, sent only when approved, as its own
SUPPLEMENTARY payment with its own obligation — against the real simulator, on both stores."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
import sqlalchemy as sa

from oks.pipeline.corrections import CorrectionError, approve_correction, open_corrections, refuse_correction
from oks.pipeline.obligations import confirm_payment
from oks.pipeline.reconcile import InvariantBroken, reconcile_run
from oks.rules.calendar import payment_deadline
from oks.store.schema import payment_obligations, runs
from tests.payroll_files import CONTRACT, person
from tests.pipeline.des_months import des_payments, month, october
from tests.pipeline.des_steps import register_file, wait

D = Decimal
WAGES = date(2026, 10, 30)


def run_state(store, run_id):
    with store.connect() as conn:
        return conn.execute(sa.select(runs.c.state, runs.c.summary).where(runs.c.id == run_id)).one()


def test_a_corrected_month_is_proposed_approved_and_sent_once(store, gateway, sim, tmp_path):
    rows = october()
    sim.load_register(register_file(tmp_path, rows[:3]))
    run_id, first = month(store, gateway, tmp_path, rows)
    assert des_payments(sim) == [("REGULAR", D("4500")), ("SUPPLEMENTARY", D("300"))]
    assert reconcile_run(store, run_id, gateway=gateway)["problems"] == 0
    for kind in ("regular", "supplementary"):  # operations paid the insurer
        confirm_payment(store, contract_no=CONTRACT, period="2026-10", payment_kind=kind, confirmed_by="ops")
    with store.connect() as conn:
        paid = sorted(conn.execute(sa.select(payment_obligations.c.payment_kind, payment_obligations.c.amount, payment_obligations.c.state)).all())

    # Payroll corrects two PEKs and a bonus after the transfer and re-runs October.
    corrected = october({2: D("51000.00"), 3: D("59000.00"), "bonus": D("12000.00")})
    again, payments = month(store, gateway, tmp_path, corrected)
    assert again == run_id
    assert des_payments(sim) == [("REGULAR", D("4500")), ("SUPPLEMENTARY", D("300"))]  # no second payment of any kind
    assert {k: p["payment_id"] for k, p in payments.items()} == {k: p["payment_id"] for k, p in first.items()}
    with store.connect() as conn:  # the paid obligations are what DES holds, untouched
        assert sorted(conn.execute(sa.select(payment_obligations.c.payment_kind, payment_obligations.c.amount,
                                             payment_obligations.c.state)).all()) == paid  # fmt: skip
    proposed = {c["payment_kind"]: c for c in open_corrections(store)}
    regular, bonus = proposed["regular"], proposed["supplementary"]
    assert (regular["to_pay"], regular["over_paid"], regular["people"]) == (D("30"), D("30"), 2)  # +1000 and -1000 PEK at 3%
    assert (bonus["to_pay"], bonus["over_paid"]) == (D("60"), D("0"))
    assert sorted(i["difference"] for i in regular["items"]) == [D("-30"), D("30")]
    assert all("*" in i["tckn"] for i in regular["items"])  # masked for the reviewer
    summary = reconcile_run(store, run_id, gateway=gateway)
    assert summary["problems"] == 0 and sorted(summary["corrections_pending"]) == sorted([regular["id"], bonus["id"]])
    assert run_state(store, run_id).state == "pending_approval"

    # Operations approve the regular correction: only its positive difference goes, as its own payment.
    done = approve_correction(store, gateway, regular["id"], approved_by="ops", wage_paid_on=date(2026, 11, 27))
    assert done["sent_now"] and des_payments(sim) == [("REGULAR", D("4500")), ("SUPPLEMENTARY", D("30")), ("SUPPLEMENTARY", D("300"))]
    with store.connect() as conn:
        obligation = conn.execute(sa.select(payment_obligations).where(payment_obligations.c.id == done["obligation_id"])).one()
    deadline = payment_deadline(date(2026, 11, 27))
    assert (obligation.payment_kind, obligation.amount, obligation.due_on, obligation.state) == ("correction", D("30"), deadline.due_on, "due")
    assert obligation.reference == f"OKS {CONTRACT} 2026-10 DUZELTME" and obligation.des_payment_id == done["des_payment_id"]
    assert approve_correction(store, gateway, regular["id"], approved_by="ops")["sent_now"] is False  # never twice
    assert len(sim.state()["payments"]) == 3

    done = approve_correction(store, gateway, bonus["id"], approved_by="ops", wage_paid_on=date(2026, 11, 27))
    wait(lambda: gateway.read_payment(done["des_payment_id"], limit=1).state, lambda s: s == "TRANSFERRED")
    summary = reconcile_run(store, run_id, gateway=gateway)
    assert (summary["problems"], summary["corrections_pending"], run_state(store, run_id).state) == (0, [], "reconciled")

    # The same corrected payroll once more: everything is paid, nothing new is proposed or sent.
    month(store, gateway, tmp_path, corrected)
    assert open_corrections(store) == [] and len(sim.state()["payments"]) == 4
    assert reconcile_run(store, run_id, gateway=gateway)["problems"] == 0


def test_a_refused_correction_is_never_sent_and_the_month_does_not_reconcile(store, gateway, sim, tmp_path):
    rows = october()
    sim.load_register(register_file(tmp_path, rows[:3]))
    run_id, _ = month(store, gateway, tmp_path, rows)
    month(store, gateway, tmp_path, october({2: D("52000.00")}))
    (proposal,) = open_corrections(store)
    refuse_correction(store, proposal["id"], by="ops", reason="payroll was wrong")
    with pytest.raises(CorrectionError, match="only a proposed one"):
        refuse_correction(store, proposal["id"], by="ops", reason="again")
    with pytest.raises(CorrectionError, match="was refused"):
        approve_correction(store, gateway, proposal["id"], approved_by="ops")
    assert len(sim.state()["payments"]) == 2
    with pytest.raises(InvariantBroken, match=r"contributions .* ≠ payment obligations"):
        reconcile_run(store, run_id, gateway=gateway)  # payroll and DES differ until payroll is fixed


def test_an_approval_interrupted_before_the_answer_sends_once_when_retried(store, gateway, sim, tmp_path):
    rows = october()
    sim.load_register(register_file(tmp_path, rows[:3]))
    month(store, gateway, tmp_path, rows)
    month(store, gateway, tmp_path, october({2: D("52000.00")}))
    (proposal,) = open_corrections(store)

    class LostAnswer(Exception):
        pass

    class Flaky:
        """Sends the payment, then loses the answer (a crash after DES created it)."""

        def __getattr__(self, name):
            return getattr(gateway, name)

        def send_payment_to_insurer(self, payment_id):
            raise LostAnswer(payment_id)

    with pytest.raises(LostAnswer):
        approve_correction(store, Flaky(), proposal["id"], approved_by="ops", wage_paid_on=date(2026, 11, 27))
    assert [c["state"] for c in open_corrections(store)] == ["approved"]
    done = approve_correction(store, gateway, proposal["id"], approved_by="someone else, next day", wage_paid_on=date(2026, 11, 28))
    assert done["wage_paid_on"] == "2026-11-27"  # fixed at approval: the same key, DES re-attaches
    assert des_payments(sim) == [("REGULAR", D("4500")), ("SUPPLEMENTARY", D("60")), ("SUPPLEMENTARY", D("300"))]


def test_the_report_shows_a_correction_waiting_for_approval(store, gateway, sim, tmp_path):
    from oks.pipeline.report import publish_report

    rows = october()
    sim.load_register(register_file(tmp_path, rows[:3]))
    run_id, _ = month(store, gateway, tmp_path, rows)
    month(store, gateway, tmp_path, october({2: D("52000.00")}))
    reconcile_run(store, run_id, gateway=gateway)
    publish_report(store, run_id, out_dir=tmp_path / "report")
    page = (tmp_path / "report" / "report.html").read_text(encoding="utf-8")
    assert "Corrections of payments DES already holds" in page and "1 correction(s) wait for approval" in page
    assert "<td class=n>60.00</td>" in page  # +2000 PEK at 3%


def test_operations_review_and_approve_a_correction_with_the_oks_command(store, database_url, gateway, sim, tmp_path):
    import os
    import subprocess
    import sys
    from pathlib import Path

    from tests.des_connection import connection_json

    rows = october()
    sim.load_register(register_file(tmp_path, rows[:3]))
    month(store, gateway, tmp_path, rows)
    month(store, gateway, tmp_path, october({3: D("61000.00")}))
    (proposal,) = open_corrections(store)
    oks = str(Path(sys.executable).parent / "oks")
    env = {**os.environ, "AIRFLOW_CONN_DES_DEFAULT": connection_json(sim.url), "OKS_HOME": str(tmp_path / "home"), "NO_COLOR": "1"}

    listed = subprocess.run([oks, "corrections", "--people", "--store", database_url], env=env, capture_output=True, text=True, timeout=60)
    assert listed.returncode == 0, listed.stderr
    assert f"correction #{proposal['id']} proposed" in listed.stdout and "30.00 TL to pay, 0.00 TL over-paid" in listed.stdout
    assert person(3)["tckn"] not in listed.stdout and "difference       +30.00" in listed.stdout

    approved = subprocess.run([oks, "correction", "approve", str(proposal["id"]), "--by", "ops:ayse", "--wage-paid-on", "27.11.2026",
                               "--store", database_url], env=env, capture_output=True, text=True, timeout=60)  # fmt: skip
    assert approved.returncode == 0, approved.stderr
    assert f"correction #{proposal['id']} approved by ops:ayse: 30.00 TL sent to DES" in approved.stdout
    again = subprocess.run([oks, "correction", "approve", str(proposal["id"]), "--by", "ops:ayse", "--store", database_url],
                           env=env, capture_output=True, text=True, timeout=60)  # fmt: skip
    assert again.returncode == 0 and "was sent already" in again.stdout
    assert des_payments(sim) == [("REGULAR", D("4500")), ("SUPPLEMENTARY", D("30")), ("SUPPLEMENTARY", D("300"))]
    outbox = (tmp_path / "home" / "alerts" / "outbox.jsonl").read_text(encoding="utf-8")
    assert "[OKS PAY] correction 30.00 TL to AGESA" in outbox and "DUZELTME" in outbox


class _Crash(BaseException):
    """Not an Exception: nothing in the pipeline may catch it, as nothing catches a power cut."""


def _crash_on_payment_answer(response, *args, **kwargs):
    if response.request.method == "POST" and response.request.path_url.endswith("/payments") and response.status_code == 201:
        raise _Crash("died on receiving DES's answer to the payment")
    return response


def test_a_payment_an_attempt_created_and_died_before_recording_becomes_the_held_month_payroll_changes_are_a_correction(
        store, gateway, sim, tmp_path):  # fmt: skip
    rows = october()[:3]
    sim.load_register(register_file(tmp_path, rows))
    gateway.session.hooks["response"].append(_crash_on_payment_answer)
    with pytest.raises(_Crash):
        month(store, gateway, tmp_path, rows)
    gateway.session.hooks["response"].remove(_crash_on_payment_answer)
    [created] = sim.state()["payments"]  # DES holds it; the ledger never heard
    # Payroll corrects a PEK, then the month runs again: DES refuses a second REGULAR payment for the month.
    run_id, payments = month(store, gateway, tmp_path, october({2: D("51000.00")})[:3])
    assert [p["payment_id"] for p in sim.state()["payments"]] == [created["payment_id"]]  # never paid twice
    assert payments["regular"]["payment_id"] == created["payment_id"] and payments["regular"]["correction"]
    (correction,) = open_corrections(store)
    assert (correction["to_pay"], correction["over_paid"], correction["people"], correction["state"]) == (D("30"), D("0"), 1, "proposed")
    assert reconcile_run(store, run_id, gateway=gateway)["corrections_pending"] == [correction["id"]]
    assert run_state(store, run_id).state == "pending_approval"
    approve_correction(store, gateway, correction["id"], approved_by="ops", wage_paid_on=WAGES)
    assert des_payments(sim) == [("REGULAR", D("4500")), ("SUPPLEMENTARY", D("30"))]


def test_a_payment_nobody_here_sent_stops_the_month_saying_so(store, gateway, sim, tmp_path, settings):
    from oks.des.client import DesClient
    from oks.des.errors import PaymentConflict
    from oks.des.models import PaymentItem
    from oks.orchestration.runbook import advice_for

    rows = october()[:3]
    sim.load_register(register_file(tmp_path, rows))
    month(store, gateway, tmp_path, rows)  # October, the people enrolled
    policies = {policy["tckn"]: policy["policy_no"] for policy in sim.policies(CONTRACT)}
    with DesClient(settings) as elsewhere:  # another system, no ledger: one person only
        tckn, policy_no = next(iter(policies.items()))
        other = elsewhere.submit_payment(CONTRACT, "2026-11", "REGULAR", date(2026, 11, 30),
                                         [PaymentItem(tckn=tckn, policy_no=policy_no, amount=D("100.00"))])  # fmt: skip
    with pytest.raises(PaymentConflict) as stopped:
        gateway.submit_payment(CONTRACT, "2026-11", "REGULAR", date(2026, 11, 30),
                               [PaymentItem(tckn=t, policy_no=p, amount=D("1350.00")) for t, p in policies.items()])  # fmt: skip
    assert stopped.value.lost_attempt_key is None and other.payment_id in str(stopped.value)
    assert "no attempt in this project's ledger sent" in str(stopped.value)
    advice = advice_for(stopped.value)
    assert "cancelled on DES" in advice.what_to_do and "oks corrections --people" not in advice.what_to_do
