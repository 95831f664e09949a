"""``oks_deadline_watch`` under ``dag.test()``: alerts reach a real SMTP listener and a webhook
receiver, each exactly once however often the watch runs, and stop once the payment is confirmed."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest
import time_machine

from oks.orchestration.local_run import load_dag
from oks.orchestration.resources import store_engine
from oks.pipeline.obligations import confirm_payment, record_payment_obligations
from tests.alert_receivers import SmtpListener, WebhookReceiver
from tests.payroll_files import person
from tests.pipeline.months import month

REPO = Path(__file__).resolve().parents[2]
DUE_MORNING = "2026-11-02T09:30:00+03:00"  # wages Fri 30 Oct → due Mon 2 Nov
OVERDUE = "2026-11-03T09:10:00+03:00"


@pytest.fixture
def receivers(local_airflow, monkeypatch):
    smtp, webhook = SmtpListener().start(), WebhookReceiver().start()
    monkeypatch.setenv("AIRFLOW_CONN_OKS_ALERT_SMTP", smtp.connection_json(["oncall@example.com"]))
    monkeypatch.setenv("AIRFLOW_CONN_OKS_ALERT_WEBHOOK", webhook.connection_json())
    yield smtp, webhook
    smtp.stop()
    webhook.stop()


def watch_at(dag, moment: str, conf: dict | None = None) -> None:
    """One watch run with the clock at ``moment`` (the clock keeps ticking from there). ``as_of`` is
    always given: dag.test() keeps a DAG object's params from one call to the next."""
    with time_machine.travel(datetime.fromisoformat(moment), tick=True):
        assert str(dag.test(run_conf={"as_of": None, **(conf or {})}).state).endswith("success")


def test_each_alert_arrives_once_and_stops_when_paid(receivers, tmp_path):
    smtp, webhook = receivers
    engine = store_engine()
    run_id = month(engine, tmp_path, [person(1, pek=Decimal("40000")), person(2, pek=Decimal("50000"))], run_key="watch-test")
    (obligation,) = record_payment_obligations(engine, run_id)
    dag = load_dag(REPO / "dags", "oks_deadline_watch")

    # A drill earlier that morning, for the very moment of the real page: marked, and it leaves the page alone.
    watch_at(dag, "2026-11-02T08:00:00+03:00", {"as_of": DUE_MORNING})
    assert [m["subject"].split(":")[0] for m in smtp.messages] == ["[OKS DRILL PAGE] AG-2026-001 2026-10"]
    for moment in (DUE_MORNING, "2026-11-02T09:45:00+03:00"):  # the watch runs every 15 minutes: the page goes out once
        watch_at(dag, moment)
    assert len(smtp.messages) == 2 and len(webhook.requests) == 2
    assert smtp.messages[1]["subject"].startswith("[OKS PAGE] AG-2026-001 2026-10: Due TODAY by 2026-11-02")
    assert "2,700.00 TL to AGESA" in smtp.messages[1]["body"] and "DRILL" not in smtp.messages[1]["body"]
    assert webhook.requests[1]["json"]["dedupe_key"] == f"obligation:{obligation.obligation_id}:due_morning"

    watch_at(dag, OVERDUE)
    assert [m["subject"].split(":")[0] for m in smtp.messages[1:]] == ["[OKS PAGE] AG-2026-001 2026-10", "[OKS OVERDUE] AG-2026-001 2026-10"]

    confirm_payment(engine, obligation_id=obligation.obligation_id, confirmed_by="ops", amount=obligation.amount)
    watch_at(dag, "2026-11-04T09:10:00+03:00")
    assert len(smtp.messages) == 3 and len(webhook.requests) == 3
