"""DagBag integrity: the DAG files import cleanly, cheaply, and say who owns them and what to do."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DAG_IDS = {"oks_monthly", "oks_deadline_watch"}


@pytest.fixture(scope="module")
def dagbag(airflow_home):
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(REPO / "dags"))


def test_no_import_errors_and_every_dag_present(dagbag):
    assert dagbag.import_errors == {}
    assert DAG_IDS <= set(dagbag.dags)


@pytest.mark.parametrize("dag_id", sorted(DAG_IDS))
def test_tags_owners_retries_docs_and_failure_alerts(dagbag, dag_id):
    dag = dagbag.dags[dag_id]
    assert "oks" in dag.tags and dag.doc_md and dag.max_active_runs == 1 and not dag.catchup
    for task in dag.tasks:
        assert task.owner.startswith("oks-"), task.task_id
        assert task.doc_md and "**If it fails**" in task.doc_md, f"{task.task_id}: say what to do when it fails"
        assert task.on_failure_callback, f"{task.task_id}: a failure must reach on-call"
        assert task.retries >= 1, task.task_id


def test_monthly_params_and_the_statutory_deadline_alert(dagbag):
    from oks.orchestration.deadlines import StatutoryPaymentDeadline, notify_deadline_missed

    dag = dagbag.dags["oks_monthly"]
    assert {"period", "employers", "dry_run", "payroll_source", "expected_wage_day", "des_batch_size"} <= set(dag.params)
    (alert,) = dag.deadline
    assert isinstance(alert.reference, StatutoryPaymentDeadline)
    assert alert.callback.path.endswith("notify_deadline_missed") or alert.callback == notify_deadline_missed


def test_the_dag_serializes_with_the_custom_deadline_reference(dagbag):
    from airflow.serialization.serialized_objects import DagSerialization

    serialized = DagSerialization.to_dict(dagbag.dags["oks_monthly"])
    restored = DagSerialization.from_dict(serialized)
    assert restored.dag_id == "oks_monthly" and len(restored.tasks) == len(dagbag.dags["oks_monthly"].tasks)
    assert "StatutoryPaymentDeadline" in str(serialized)


def _import_seconds(statement: str) -> float:
    code = f"import time; t = time.perf_counter(); {statement}; print(time.perf_counter() - t)"
    runs = [
        float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO).stdout)
        for _ in range(3)
    ]
    return min(runs)


@pytest.mark.parametrize("dag_file", ["oks_monthly.py", "oks_deadline_watch.py"])
def test_importing_a_dag_file_costs_little_beyond_airflow(dag_file, capsys):
    airflow_only = _import_seconds("import airflow.sdk")
    with_dag = _import_seconds(f"import airflow.sdk; import runpy; runpy.run_path('dags/{dag_file}')")
    extra = with_dag - airflow_only
    with capsys.disabled():
        print(f"\n{dag_file}: airflow.sdk {airflow_only:.2f}s, with the DAG file {with_dag:.2f}s (+{extra:.2f}s)")
    assert extra < 1.0, f"{dag_file} adds {extra:.2f}s to a parse"
