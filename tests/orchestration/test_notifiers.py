"""Alerts reach a real SMTP listener and a real webhook receiver, each exactly once."""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal

import pytest

from oks.orchestration.notifiers import OnCallNotifier, alert_senders
from oks.pipeline.deadline_watch import AlertDeliveryError, watch_deadlines
from oks.pipeline.obligations import record_payment_obligations
from oks.rules.calendar import ISTANBUL
from tests.alert_receivers import WebhookReceiver
from tests.payroll_files import person
from tests.pipeline.months import month

# smtp, webhook (real receivers) and oks_home come from tests/orchestration/conftest.py; each test
# here has a home of its own (the outbox is written there).
pytestmark = pytest.mark.usefixtures("oks_home")


def test_channels_follow_the_configured_connections(monkeypatch, smtp):
    assert set(alert_senders()) == {"outbox", "email"}
    monkeypatch.delenv("AIRFLOW_CONN_OKS_ALERT_SMTP")
    assert set(alert_senders()) == {"outbox"}


def test_deadline_alerts_arrive_once_by_mail_webhook_and_outbox(store, tmp_path, smtp, webhook, oks_home):
    run_id = month(store, tmp_path, [person(1, pek=Decimal("40000"))])
    record_payment_obligations(store, run_id)
    morning = datetime(2026, 11, 2, 9, 30, tzinfo=ISTANBUL)
    for _ in range(3):  # the watch runs every few minutes
        watch_deadlines(store, now=morning, senders=alert_senders())

    assert len(smtp.messages) == 1 and len(webhook.requests) == 1
    mail = smtp.messages[0]
    assert mail["to"] == ["oncall@example.com"]
    assert mail["subject"].startswith("[OKS PAGE] AG-2026-001 2026-10: Due TODAY by 2026-11-02")
    assert "1,200.00 TL to AGESA" in mail["body"]
    hook = webhook.requests[0]
    assert hook["path"] == "/hooks/oks"
    assert hook["json"]["level"] == "page" and hook["json"]["dedupe_key"].endswith(":due_morning")
    outbox = (oks_home / "alerts" / "outbox.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(outbox) == 1 and json.loads(outbox[0])["subject"] == mail["subject"]


def test_a_webhook_that_fails_is_retried_on_the_next_run(store, tmp_path, smtp, monkeypatch):
    receiver = WebhookReceiver(fail_first=1).start()
    monkeypatch.setenv("AIRFLOW_CONN_OKS_ALERT_WEBHOOK", receiver.connection_json())
    try:
        run_id = month(store, tmp_path, [person(1, pek=Decimal("40000"))])
        record_payment_obligations(store, run_id)
        morning = datetime(2026, 11, 2, 9, 30, tzinfo=ISTANBUL)
        with pytest.raises(AlertDeliveryError, match="webhook"):
            watch_deadlines(store, now=morning, senders=alert_senders())
        watch_deadlines(store, now=morning, senders=alert_senders())
        assert len(receiver.requests) == 1 and len(smtp.messages) == 1
    finally:
        receiver.stop()


class _TI:
    dag_id, task_id, run_id, log_url = "oks_monthly", "submit_payment", "manual__2026-11-01", "http://airflow/log"


class _Task:
    doc_md = "Submits the payment.\n\n**If it fails** check DES status, then clear the task: it re-attaches."


def test_failure_notifier_says_what_failed_and_what_to_do(smtp, webhook):
    OnCallNotifier().notify({"ti": _TI(), "task": _Task(), "exception": RuntimeError("DES unavailable after 6 attempts")})
    (mail,) = smtp.messages
    assert mail["subject"] == "[OKS FAILED] oks_monthly.submit_payment (manual__2026-11-01)"
    assert "RuntimeError: DES unavailable after 6 attempts" in mail["body"]
    assert "What to do: check DES status, then clear the task: it re-attaches." in mail["body"]
    assert webhook.requests[0]["json"]["subject"] == mail["subject"]


class _MappedTI(_TI):
    task_id, map_index, rendered_map_index = "des.submit_payment", 3, "AG10000549 … FB10001685 (2)"


def test_each_mapped_instance_pages_under_its_own_subject_with_istanbul_time(smtp, webhook):
    OnCallNotifier().notify({"ti": _MappedTI(), "task": _Task(), "exception": RuntimeError("DES down")})
    OnCallNotifier().notify({"ti": _TI(), "task": _Task(), "exception": RuntimeError("DES down")})
    first, second = smtp.messages
    assert first["subject"] == "[OKS FAILED] oks_monthly.des.submit_payment[AG10000549 … FB10001685 (2)] (manual__2026-11-01)"
    assert first["subject"] != second["subject"]
    assert "(Istanbul)" in first["body"]
