"""confirm_bank_transfer: Reject and timeout fail without retry; Approve confirms; a payment
confirmed elsewhere wins over a timeout."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from airflow.sdk.exceptions import AirflowFailException

from oks.orchestration.operators import ConfirmBankTransferOperator
from oks.pipeline.obligations import confirm_payment, record_payment_obligations
from oks.rules.calendar import ISTANBUL
from tests.payroll_files import person
from tests.pipeline.months import month


@pytest.fixture
def obligation(tmp_path, monkeypatch):
    from oks.orchestration.resources import store_engine

    monkeypatch.setenv("OKS_STORE_URL", f"sqlite:///{tmp_path / 'store.sqlite'}")
    engine = store_engine()
    (instruction,) = record_payment_obligations(engine, month(engine, tmp_path, [person(1, pek=Decimal("40000"))]))
    return engine, instruction.obligation_id


def operator(obligation_id):
    return ConfirmBankTransferOperator(task_id="confirm_bank_transfer", obligation_id=obligation_id, subject="pay")


def answer(option, amount="", bank_reference=""):
    return {"chosen_options": [option], "params_input": {"amount": amount, "bank_reference": bank_reference},
            "responded_at": datetime.now(UTC), "responded_by_user": {"id": "7", "name": "ops"}}  # fmt: skip


def obligation_row(engine, obligation_id):
    import sqlalchemy as sa

    from oks.store.schema import payment_obligations

    with engine.connect() as conn:
        return conn.execute(sa.select(payment_obligations).where(payment_obligations.c.id == obligation_id)).one()


def test_reject_fails_without_retry(obligation):
    _, obligation_id = obligation
    with pytest.raises(AirflowFailException, match="NOT made — pay now"):
        operator(obligation_id).execute_complete({}, answer("Reject"))


def test_timeout_fails_without_retry_unless_paid_meanwhile(obligation):
    engine, obligation_id = obligation
    timeout = {"error": "timed out", "error_type": "timeout"}
    with pytest.raises(AirflowFailException, match="no confirmation by the statutory deadline"):
        operator(obligation_id).execute_complete({}, timeout)
    confirm_payment(engine, obligation_id=obligation_id, confirmed_by="bank-statement-job")
    assert operator(obligation_id).execute_complete({}, timeout)["already_confirmed"] is True


@pytest.mark.parametrize(("approved_at", "state", "days_late"), [
    (datetime(2026, 11, 2, 10, 0, tzinfo=ISTANBUL), "paid", None),  # the due day (wages of 30 October)
    (datetime(2026, 11, 4, 10, 0, tzinfo=ISTANBUL), "late", 2),  # two days after it: late, on record
])  # fmt: skip
def test_approve_with_the_amount_owed_confirms_and_a_retry_asks_nobody(obligation, approved_at, state, days_late):
    import time_machine

    engine, obligation_id = obligation
    owed = obligation_row(engine, obligation_id).amount
    turkish = f"{owed:,.2f}".replace(",", "X").replace(".", ",").replace("X", ".")  # 1.200,00
    with time_machine.travel(approved_at, tick=True):
        done = operator(obligation_id).execute_complete({}, answer("Approve", turkish, " TR-EFT-2026-000123 "))
    assert done["chosen_options"] == ["Approve"]
    row = obligation_row(engine, obligation_id)
    assert (row.state, row.days_late, row.confirmed_by, row.bank_reference) == (state, days_late, "airflow:ops", "TR-EFT-2026-000123")
    assert operator(obligation_id).execute({})["already_confirmed"] is True  # a retry does not ask again


@pytest.mark.parametrize(
    ("amount", "why"),
    [("", "no amount given"), ("1,00", "does not match"), ("1.200", "ambiguous|thousands|not an amount|amount"), ("abc", "amount")],
)
def test_an_approval_without_the_amount_owed_confirms_nothing(obligation, amount, why):
    from oks.orchestration.operators import TransferNotConfirmed

    engine, obligation_id = obligation
    with pytest.raises(TransferNotConfirmed, match=why) as caught:
        operator(obligation_id).execute_complete({}, answer("Approve", amount))
    assert f"obligation #{obligation_id}: not confirmed" in str(caught.value)
    assert obligation_row(engine, obligation_id).state == "due"  # still due: the alerts go on


def test_an_answer_after_the_payment_was_confirmed_elsewhere_needs_no_amount(obligation):
    engine, obligation_id = obligation
    confirm_payment(engine, obligation_id=obligation_id, confirmed_by="bank-statement-job")
    assert operator(obligation_id).execute_complete({}, answer("Approve"))["chosen_options"] == ["Approve"]
    assert obligation_row(engine, obligation_id).confirmed_by == "bank-statement-job"


@pytest.mark.parametrize(
    ("until_due", "window"),
    [(timedelta(days=10), timedelta(days=10)), (timedelta(hours=73), timedelta(hours=73)), (timedelta(minutes=1), timedelta(hours=72)),
     (timedelta(0), timedelta(hours=72)), (-timedelta(days=5), timedelta(hours=72))],
)  # fmt: skip
def test_an_approval_stays_open_until_the_deadline_and_never_less_than_the_grace(until_due, window, monkeypatch):
    from oks.orchestration.monthly import approval_grace
    from oks.pipeline.obligations import approval_window

    monkeypatch.delenv("OKS_APPROVAL_GRACE_HOURS", raising=False)
    assert approval_window(until_due, approval_grace()) == window
    monkeypatch.setenv("OKS_APPROVAL_GRACE_HOURS", "24")
    assert approval_window(-timedelta(days=5), approval_grace()) == timedelta(hours=24)


@pytest.mark.parametrize(
    "dag_id, task_id, mapped_with, fields",
    [
        ("oks_monthly", "confirm_bank_transfer", {"obligation_id": 1, "subject": "pay", "body": "."}, ["amount", "bank_reference"]),
        ("oks_correction", "confirm_bank_transfer", {"obligation_id": 1, "subject": "pay", "body": "."}, ["amount", "bank_reference"]),
        ("oks_correction", "decide_correction", None, ["wage_paid_on", "reason"]),
    ],
)
def test_the_approval_form_asks_its_fields_in_the_deployed_dags(dag_id, task_id, mapped_with, fields):
    """The form operations fill is the task's own params, none of the DAG's: Airflow hands every
    task the DAG's params first (a mapped one when it is unmapped), and HITL drops those."""
    from pathlib import Path

    from oks.orchestration.local_run import load_dag

    task = load_dag(Path(__file__).resolve().parents[2] / "dags", dag_id).get_task(task_id)
    asked = (task.unmap(mapped_with) if mapped_with is not None else task).serialized_params
    assert list(asked) == fields
    assert all(asked[name]["source"] == "task" for name in fields)
