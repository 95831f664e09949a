"""DagBag integrity: the DAG files import cleanly, cheaply, and say who owns them and what to do."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DAG_IDS = {"oks_monthly", "oks_deadline_watch", "oks_correction"}
# One run at a time where a second would race the first; corrections are decided each on its own.
ONE_RUN_AT_A_TIME = {"oks_monthly", "oks_deadline_watch"}


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
    assert "oks" in dag.tags and dag.doc_md and not dag.catchup
    assert dag.max_active_runs == 1 or dag_id not in ONE_RUN_AT_A_TIME
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


# What a DAG file costs each parse, judged by what it imports (a timed test would flake on a busy
# machine; bench/bench_dag_import.py measures the seconds). The heavy parts of the project — GX and
# pandas, the payroll readers, the DES client, the pipeline steps — load only when a task runs.
HEAVY = ("great_expectations", "pandas", "numpy", "openpyxl", "holidays", "stdnum", "phonenumbers", "tenacity")
# The glue, and two small vocabularies it names: the DES wait's final states, the alert levels.
PROJECT_AT_PARSE = ("oks.orchestration.", "oks.des.states", "oks.rules.vocabulary")


def _imported_by(dag_file: str) -> list[str]:
    code = (
        "import json, runpy, sys, airflow.sdk; before = set(sys.modules); "
        f"runpy.run_path('dags/{dag_file}'); print(json.dumps(sorted(set(sys.modules) - before)))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO)
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("dag_file", ["oks_monthly.py", "oks_deadline_watch.py", "oks_correction.py"])
def test_importing_a_dag_file_loads_nothing_heavy(dag_file):
    imported = _imported_by(dag_file)
    heavy = [m for m in imported if m.split(".")[0] in HEAVY]
    assert heavy == [], f"{dag_file} imports {heavy[:5]} at parse time"
    ours = [m for m in imported if m.startswith("oks.") and m not in ("oks.orchestration", "oks.des", "oks.rules")]
    assert ours and all(m.startswith(PROJECT_AT_PARSE) for m in ours), ours
    assert not any(m.startswith(("oks.pipeline", "oks.quality", "oks.payroll", "oks.des.client")) for m in imported)


def test_the_trigger_form_needs_nothing_and_offers_only_real_months(dagbag):
    import copy

    from airflow.sdk.definitions.param import ParamValidationError

    dag = dagbag.dags["oks_monthly"]
    assert dag.is_paused_upon_creation is True  # the schedule starts only when someone unpauses it
    params = copy.deepcopy(dag.params)
    defaults = params.validate()  # nothing is required: every optional param may stay empty
    assert {k: defaults[k] for k in ("period", "employers", "payroll_source", "expected_wage_day")} == dict.fromkeys(
        ("period", "employers", "payroll_source", "expected_wage_day"))  # fmt: skip
    for month in ("2026-13", "2026-00", "2016-12", "26-11"):
        with pytest.raises(ParamValidationError):
            params["period"] = month
    params["period"] = "2026-11"
    shown = dag.params.get_param("period").schema["values_display"]
    assert shown["2026-11"] == "2026-11 · Kasım 2026" and shown["2017-01"] == "2017-01 · Ocak 2017"
