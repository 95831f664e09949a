"""Approvals with logins on (the simple auth manager as `oks ui` runs it): only the approvers named
in ``OKS_APPROVERS`` may answer — a viewer and even an admin are refused (403) — and the approver's
real name is what the store records. A correction decided through the real api-server."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa

from oks.orchestration.airflow_api import AirflowApi
from oks.orchestration.local_run import DEMO_WS, BankStatementJob, load_dag
from oks.store.schema import payment_corrections, payment_obligations
from tests.dags.corrected_month import corrected_month
from tests.des_connection import connection_json
from tests.hitl_responder import Responder
from tests.secured_airflow import secured_airflow, token

REPO = Path(__file__).resolve().parents[2]
USERS = {"admin": ("admin", "admin-pw-1"), "ops": ("user", "ops-pw-2"), "viewer": ("viewer", "viewer-pw-3")}
PASSWORDS = {name: password for name, (_, password) in USERS.items()}


@pytest.fixture(scope="module")
def secured(airflow_home, tmp_path_factory):
    with secured_airflow(tmp_path_factory.mktemp("oks-home"), USERS, OKS_TASK_RETRIES="0", OKS_DES_POLL_SECONDS="0.2",
                         AIRFLOW_CONN_OKS_WS_DEFAULT=json.dumps(DEMO_WS), OKS_APPROVERS="ops") as url:  # fmt: skip
        yield url


def bearer(url: str, user: str) -> dict:
    return {"Authorization": f"Bearer {token(url, user, PASSWORDS[user])}"}


def viewer_admin_then_operations(url: str, statuses: list):
    """Viewer, admin, then operations answer each waiting request, in that order; statuses kept."""

    def respond(detail: dict) -> None:
        ti = detail["task_instance"]
        path = (f"{url}/api/v2/dags/{ti['dag_id']}/dagRuns/{ti['dag_run_id']}/taskInstances/"
                f"{ti['task_id']}/{ti['map_index']}/hitlDetails")  # fmt: skip
        form = {"chosen_options": ["Approve"], "params_input": {"wage_paid_on": "2026-11-27", "reason": ""}}
        for user in ("viewer", "admin", "ops"):
            statuses.append((user, requests.patch(path, json=form, headers=bearer(url, user), timeout=10).status_code))

    return respond


def test_only_the_assigned_approver_may_answer_and_is_recorded_by_name(secured, sim, tmp_path, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_DES_DEFAULT", connection_json(sim.url))
    sim.settings(insurer_delay=0.2, transfer_delay=0.2)
    engine, proposal = corrected_month(sim, tmp_path, monkeypatch, {3: Decimal("61000.00")})
    dag = load_dag(REPO / "dags", "oks_correction")
    bank_job = AirflowApi(secured, username="ops", password=PASSWORDS["ops"])
    statuses: list = []
    admin = AirflowApi(secured, username="admin", password=PASSWORDS["admin"])
    with Responder(admin, "decide_correction", viewer_admin_then_operations(secured, statuses)), \
            BankStatementJob(bank_job, engine=engine, interval=0.3):
        dag_run = dag.test(run_conf={"correction_id": proposal["id"]})
    assert str(getattr(dag_run.state, "value", dag_run.state)).endswith("success")
    assert statuses[:3] == [("viewer", 403), ("admin", 403), ("ops", 200)]
    with engine.connect() as conn:
        decided = conn.execute(sa.select(payment_corrections.c.state, payment_corrections.c.decided_by)
                               .where(payment_corrections.c.id == proposal["id"])).one()  # fmt: skip
        obligation = conn.execute(sa.select(payment_obligations.c.state).where(payment_obligations.c.correction_id == proposal["id"])).one()
    assert tuple(decided) == ("sent", "airflow:ops") and obligation.state in ("paid", "late")  # late: past 2026-11-30 today
