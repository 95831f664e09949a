"""The Deadline Alert's statutory reference and its callback (the monthly DAG's second net)."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime

import pytest

from oks.orchestration.deadlines import StatutoryPaymentDeadline, expected_due_at, notify_deadline_missed
from oks.rules.calendar import ISTANBUL


@pytest.mark.parametrize(
    ("period", "wage_day", "due"),
    [
        ("2026-05", None, "2026-06-01T17:00:00+03:00"),  # wages Sun 31 May → Mon 1 June
        ("2026-05", 25, "2026-05-26T12:00:00+03:00"),  # wages 25 May → Kurban arife, 12:00 cut-off
        ("2026-10", 28, "2026-10-30T17:00:00+03:00"),  # wages 28 Oct → across 29 October
        ("2026-02", 31, "2026-03-02T17:00:00+03:00"),  # day 31 of February means its last day
    ],
)
def test_expected_due_moment(period, wage_day, due):
    assert expected_due_at(period, wage_day) == datetime.fromisoformat(due).astimezone(ISTANBUL)


def test_reference_reads_the_runs_period_from_its_conf(airflow_home):
    from airflow.models import DagRun
    from airflow.utils.session import create_session
    from airflow.utils.state import DagRunState
    from airflow.utils.types import DagRunType

    now = datetime.now(ISTANBUL)
    with create_session() as session:
        session.add(
            DagRun(dag_id="oks_monthly", run_id="deadline-ref-test", run_type=DagRunType.MANUAL, state=DagRunState.RUNNING,
                   conf={"period": "2026-05", "expected_wage_day": 25}, run_after=now)
        )  # fmt: skip
        session.flush()
        due = StatutoryPaymentDeadline()._evaluate_with(session=session, dag_id="oks_monthly", run_id="deadline-ref-test")
        missing = StatutoryPaymentDeadline()._evaluate_with(session=session, dag_id="oks_monthly", run_id="no-such-run")
        session.rollback()
    assert due == datetime.fromisoformat("2026-05-26T12:00:00+03:00")
    assert missing is None


def _scheduler_context(run_id: str, conf: dict, deadline_time: datetime) -> dict:
    """The context Airflow's scheduler hands the callback (``Deadline.handle_miss``): the DagRun as the
    API's DAGRunResponse, dumped to JSON, and the deadline — built the same way, from a real DagRun."""
    from airflow.api_fastapi.core_api.datamodels.dag_run import DAGRunResponse
    from airflow.models import DagModel, DagRun
    from airflow.models.dagbundle import DagBundleModel
    from airflow.utils.session import create_session
    from airflow.utils.state import DagRunState
    from airflow.utils.types import DagRunType

    with create_session() as session:
        if session.get(DagBundleModel, "oks-deadline-test") is None:
            session.add(DagBundleModel(name="oks-deadline-test"))
            session.flush()
        if session.get(DagModel, "oks_monthly") is None:
            session.add(DagModel(dag_id="oks_monthly", bundle_name="oks-deadline-test"))
        session.flush()
        run = DagRun(dag_id="oks_monthly", run_id=run_id, run_type=DagRunType.SCHEDULED, state=DagRunState.RUNNING,
                     conf=conf, run_after=deadline_time)  # fmt: skip
        session.add(run)
        session.flush()
        context = {
            "dag_run": DAGRunResponse.model_validate(session.get(DagRun, run.id)).model_dump(mode="json"),
            "deadline": {"id": "d-1", "deadline_time": deadline_time},
        }
        session.rollback()
    return context


def test_missed_deadline_callback_pages_naming_the_run_its_month_and_the_moment(airflow_home, tmp_path, monkeypatch):
    monkeypatch.setenv("OKS_HOME", str(tmp_path))
    monkeypatch.delenv("AIRFLOW_CONN_OKS_ALERT_SMTP", raising=False)
    monkeypatch.delenv("AIRFLOW_CONN_OKS_ALERT_WEBHOOK", raising=False)
    due = datetime.fromisoformat("2026-05-26T09:00:00+00:00")  # 12:00 in Istanbul: the arife cut-off
    asyncio.run(notify_deadline_missed(_scheduler_context("scheduled__2026-05-25", {"period": "2026-05"}, due)))
    (line,) = (tmp_path / "alerts" / "outbox.jsonl").read_text(encoding="utf-8").splitlines()
    alert = json.loads(line)
    assert alert["level"] == "overdue"
    assert "run scheduled__2026-05-25 for 2026-05" in alert["subject"] and "None" not in alert["subject"]
    assert "26.05.2026 12:00 (Istanbul)" in alert["subject"] and "26.05.2026 12:00 (Istanbul)" in alert["text"]
