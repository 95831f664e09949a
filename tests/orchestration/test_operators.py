"""confirm_bank_transfer: Reject and timeout fail without retry; Approve confirms; a payment
confirmed elsewhere wins over a timeout."""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

import pytest
from airflow.sdk.exceptions import AirflowFailException

from oks.orchestration.operators import ConfirmBankTransferOperator
from oks.pipeline.obligations import confirm_payment, record_payment_obligations
from tests.payroll_files import person
from tests.pipeline.test_obligations import month


@pytest.fixture
def obligation(tmp_path, monkeypatch):
    from oks.orchestration.resources import store_engine

    monkeypatch.setenv("OKS_STORE_URL", f"sqlite:///{tmp_path / 'store.sqlite'}")
    engine = store_engine()
    (instruction,) = record_payment_obligations(engine, month(engine, tmp_path, [person(1, pek=Decimal("40000"))]))
    return engine, instruction.obligation_id


def operator(obligation_id):
    return ConfirmBankTransferOperator(task_id="confirm_bank_transfer", obligation_id=obligation_id, subject="pay")


def answer(option):
    return {"chosen_options": [option], "params_input": {}, "responded_at": datetime.now(timezone.utc),
            "responded_by_user": {"id": "7", "name": "ops"}}  # fmt: skip


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


def test_approve_confirms_and_a_retry_asks_nobody(obligation):
    engine, obligation_id = obligation
    assert operator(obligation_id).execute_complete({}, answer("Approve"))["chosen_options"] == ["Approve"]
    import sqlalchemy as sa

    from oks.store.schema import payment_obligations

    with engine.connect() as conn:
        row = conn.execute(sa.select(payment_obligations).where(payment_obligations.c.id == obligation_id)).one()
    assert (row.state, row.confirmed_by) == ("paid", "airflow:ops")
    assert operator(obligation_id).execute({})["already_confirmed"] is True  # a retry does not ask again
