"""The DES sensors: when they defer, what they hand the triggerer, how they end — and one real
``dag.test()`` where the deferral runs inline against the simulator."""

from __future__ import annotations

import socket
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest
from airflow.sdk.exceptions import AirflowFailException, AirflowSensorTimeout, TaskDeferred

from oks.orchestration.sensors import (
    DesCompletionSensor,
    PolicyNumbersSensor,
    TransferSensor,
    ids_to_wait_for,
    wait_for_policy_numbers,
    wait_for_transfer,
)
from oks.orchestration.triggers import DesCompletionTrigger
from tests.des.simulator import PERIOD, WAGE_DAY, enrol, items_for, people
from tests.des_connection import connection_json


@pytest.fixture
def unreachable_des(monkeypatch):
    """``des_default`` and ``des_other`` on a loopback port nobody listens on: the sensor's first look
    gets no answer, so it defers — what these tests are about."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    for name in ("DES_DEFAULT", "DES_OTHER"):
        monkeypatch.setenv(f"AIRFLOW_CONN_{name}", connection_json(f"http://127.0.0.1:{port}"))


def deferral(sensor) -> TaskDeferred:
    with pytest.raises(TaskDeferred) as caught:
        sensor.execute({})
    return caught.value


# --- execute: defer, or nothing to wait for ------------------------------------------------------


@pytest.mark.parametrize(
    "ids",
    [[], None, [None], [None, None], {"contract_no": "C-1", "list_id": None, "people": 0},
     [{"contract_no": "C-1", "payments": {"regular": {"payment_id": None}}}]],
)  # fmt: skip
def test_nothing_to_wait_for_succeeds_at_once_without_deferring(ids):
    assert PolicyNumbersSensor(task_id="w", ids=ids).execute({}) == {}


def test_defers_to_the_des_trigger_when_des_gives_no_answer(unreachable_des):
    before = datetime.now(UTC)
    deferred = deferral(wait_for_policy_numbers(ids=["PL-1", None, "PL-2"]))

    trigger = deferred.trigger
    assert isinstance(trigger, DesCompletionTrigger)
    assert (trigger.kind, trigger.ids, trigger.conn_id, trigger.poll_interval) == ("personnel_list", ["PL-1", "PL-2"], "des_default", 300.0)
    assert before + timedelta(hours=6) <= trigger.timeout_at <= datetime.now(UTC) + timedelta(hours=6)
    assert deferred.method_name == "execute_complete"
    assert deferred.timeout > timedelta(hours=6)  # only a backstop behind the trigger's own timeout


def test_a_transfer_waits_a_day_by_default_and_takes_settings(unreachable_des):
    deferred = deferral(wait_for_transfer(ids="PAY-1", conn_id="des_other", poll_interval=timedelta(minutes=2)))
    assert deferred.trigger.kind == "payment" and deferred.trigger.ids == ["PAY-1"]
    assert deferred.trigger.conn_id == "des_other" and deferred.trigger.poll_interval == 120
    assert abs(deferred.trigger.timeout_at - datetime.now(UTC) - timedelta(hours=24)) < timedelta(minutes=1)

    custom = deferral(TransferSensor(task_id="t", ids=["PAY-1"], timeout=timedelta(hours=2)))
    assert abs(custom.trigger.timeout_at - datetime.now(UTC) - timedelta(hours=2)) < timedelta(minutes=1)


def test_ids_are_read_from_what_the_submit_steps_return():
    personnel = {"contract_no": "C-1", "list_id": "PL-9", "people": 4, "reattached": False}
    payments = {"contract_no": "C-1", "payments": {"regular": {"payment_id": "PAY-1", "total": "10.00"},
                                                   "supplementary": {"payment_id": "PAY-2"}}}  # fmt: skip
    assert ids_to_wait_for(personnel) == ["PL-9"]
    assert ids_to_wait_for(payments) == ["PAY-1", "PAY-2"]
    assert ids_to_wait_for([personnel, {"list_id": "PL-8"}, "PL-9", None]) == ["PL-9", "PL-8"]
    with pytest.raises(TypeError, match="no DES id"):
        ids_to_wait_for({"contract_no": "C-1"})


def test_kind_is_checked_and_the_doc_says_what_to_do():
    with pytest.raises(ValueError, match="kind must be one of"):
        DesCompletionSensor(task_id="x", ids=["A"], kind="contract")
    assert DesCompletionSensor.template_fields == ("ids",)
    for sensor in (wait_for_policy_numbers(ids=[]), wait_for_transfer(ids=[])):
        assert "**If it fails**" in sensor.doc_md and "clear this task" in sensor.doc_md
    assert wait_for_policy_numbers(ids=[]).task_id == "wait_for_policy_numbers"
    assert wait_for_transfer(ids=[], doc_md="ours").doc_md == "ours"


# --- execute_complete: what the event means ------------------------------------------------------


def test_done_returns_the_states():
    sensor = PolicyNumbersSensor(task_id="w", ids=["PL-1"])
    event = {"status": "done", "kind": "personnel_list", "states": {"PL-1": "COMPLETED"}}
    assert sensor.execute_complete({}, event) == {"PL-1": "COMPLETED"}


def test_timeout_says_which_list_is_stuck_and_what_to_do():
    sensor = PolicyNumbersSensor(task_id="w", ids=["PL-1"])
    event = {"status": "timeout", "kind": "personnel_list", "pending": ["PL-1"], "states": {"PL-1": "SENT"},
             "transient_errors": 0, "last_error": None, "des_unreachable": False}  # fmt: skip

    with pytest.raises(AirflowSensorTimeout) as caught:
        sensor.execute_complete({}, event)

    assert str(caught.value) == (
        "DES personnel list PL-1 still SENT after 6h: the insurer has not answered; "
        "check DES, then clear this task — it only waits, it sends nothing"
    )


def test_timeout_of_several_payments_names_each_and_an_unreachable_des():
    sensor = TransferSensor(task_id="t", ids=["P-1", "P-2", "P-3"], timeout=timedelta(hours=24, minutes=30))
    event = {"status": "timeout", "kind": "payment", "pending": ["P-2", "P-3"],
             "states": {"P-1": "TRANSFERRED", "P-2": "SENT", "P-3": "RECEIVED"},
             "transient_errors": 7, "last_error": "reading payment P-2: 503 SERVICE_UNAVAILABLE", "des_unreachable": True}  # fmt: skip

    with pytest.raises(AirflowSensorTimeout) as caught:
        sensor.execute_complete({}, event)

    message = str(caught.value)
    assert message.startswith("2 DES payments not final after 1d30m: P-2 SENT (the insurer has not confirmed the transfer); P-3 RECEIVED")
    assert "never sent on to the insurer" in message and "P-1" not in message
    assert "DES did not answer the last poll (reading payment P-2: 503 SERVICE_UNAVAILABLE; 7 failed polls)" in message


def test_an_error_event_fails_without_retry():
    sensor = PolicyNumbersSensor(task_id="w", ids=["PL-404"], retries=3)
    event = {"status": "error", "kind": "personnel_list", "id": "PL-404", "code": "LIST_NOT_FOUND",
             "message": "DES refused reading personnel list PL-404: 404 LIST_NOT_FOUND: no such list", "states": {}}  # fmt: skip

    with pytest.raises(AirflowFailException, match="404 LIST_NOT_FOUND.*clear this task"):
        sensor.execute_complete({}, event)


# --- one look before deferring -------------------------------------------------------------------


def test_what_is_already_final_ends_at_the_first_look_without_deferring(sim, client, contract, des_connection):
    sim.settings(insurer_delay=0)
    answered = client.submit_personnel(contract.contract_no, PERIOD, people(2))
    client.send_personnel_to_insurer(answered.list_id)
    assert client.read_personnel_results(answered.list_id, limit=1).state == "COMPLETED"

    assert PolicyNumbersSensor(task_id="w", ids=[answered.list_id]).execute({}) == {answered.list_id: "COMPLETED"}


def test_a_list_not_yet_answered_is_looked_at_once_then_deferred(sim, client, contract, proxy):
    sim.settings(insurer_delay=3600)
    waiting = client.submit_personnel(contract.contract_no, PERIOD, people(2))
    client.send_personnel_to_insurer(waiting.list_id)

    deferred = deferral(PolicyNumbersSensor(task_id="w", ids=[waiting.list_id]))

    assert deferred.trigger.ids == [waiting.list_id]
    looks = [r for r in proxy.requests if "/personnel-lists/" in r]
    assert looks == [f"GET /api/v1/personnel-lists/{waiting.list_id}?offset=0&limit=1"]


def test_the_first_look_refused_fails_at_once_naming_the_cause(sim, des_connection):
    with pytest.raises(AirflowFailException, match="LIST_NOT_FOUND.*clear this task"):
        PolicyNumbersSensor(task_id="w", ids=["PL-does-not-exist"]).execute({})


def test_a_missing_connection_fails_the_first_look_naming_it(monkeypatch):
    monkeypatch.delenv("AIRFLOW_CONN_DES_NOWHERE", raising=False)
    with pytest.raises(AirflowFailException, match="connection 'des_nowhere' cannot be used"):
        TransferSensor(task_id="t", ids=["PAY-1"], conn_id="des_nowhere").execute({})


# --- poke mode, for a deployment without a triggerer ---------------------------------------------


def test_without_deferral_it_pokes_des_from_the_worker(sim, client, contract, des_connection):
    policies = enrol(client, contract.contract_no, people(2))
    sim.settings(transfer_delay=0.3)
    payment = client.submit_payment(contract.contract_no, PERIOD, "REGULAR", WAGE_DAY, items_for(policies))
    client.send_payment_to_insurer(payment.payment_id)
    sensor = TransferSensor(task_id="t", ids=[payment.payment_id], deferrable=False, poll_interval=0.05, timeout=20)

    assert sensor.execute({}) == {payment.payment_id: "TRANSFERRED"}


def test_without_deferral_an_unknown_payment_fails(sim, des_connection):
    sensor = TransferSensor(task_id="t", ids=["PAY-404"], deferrable=False, poll_interval=0.05, timeout=5)
    with pytest.raises(AirflowFailException, match="PAYMENT_NOT_FOUND"):
        sensor.execute({})


def test_without_deferral_a_timeout_names_the_stuck_list(sim, client, contract, des_connection):
    sim.settings(insurer_delay=3600)
    submission = client.submit_personnel(contract.contract_no, PERIOD, people(2))
    client.send_personnel_to_insurer(submission.list_id)
    sensor = PolicyNumbersSensor(task_id="w", ids=[submission.list_id], deferrable=False, poll_interval=0.05, timeout=0.3)

    with pytest.raises(AirflowSensorTimeout, match=f"DES personnel list {submission.list_id} still SENT after 0.3s: the insurer"):
        sensor.execute({})


# --- parse cost ----------------------------------------------------------------------------------


def test_importing_the_sensors_leaves_the_trigger_and_des_client_unloaded():
    code = (
        "import sys, airflow.sdk, oks.orchestration.sensors;"
        "print(sorted(m for m in ('oks.orchestration.triggers', 'oks.des.client', 'oks.des.transport') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True).stdout
    assert out.strip().splitlines()[-1] == "[]"


# --- a real DAG run ------------------------------------------------------------------------------

DAG_FILE = '''
from datetime import datetime

from airflow.sdk import DAG, task

from oks.orchestration.sensors import PolicyNumbersSensor

PEOPLE = {people!r}

with DAG("oks_test_policy_wait", schedule=None, start_date=datetime(2026, 1, 1), catchup=False) as dag:

    @task
    def submit(contract_no):
        """What submit_personnel does, against the simulator through the des_default connection."""
        from datetime import date

        from oks.des.models import ContractRegistration, Person, WsCredentials
        from oks.orchestration.des_hook import DesHook

        people = [Person(**p) for p in PEOPLE[contract_no]]
        with DesHook().get_client() as des:
            des.register_contract(ContractRegistration(contract_no=contract_no, insurer="AGESA", starts_on=date(2026, 1, 1), employer_vkn="1234567890"))
            des.store_ws_credentials(contract_no, WsCredentials(user="u", password="p"))
            submission = des.submit_personnel(contract_no, "2026-05", people)
            des.send_personnel_to_insurer(submission.list_id)
        return {{"contract_no": contract_no, "list_id": submission.list_id, "people": len(people)}}

    @task
    def nobody():
        return {{"contract_no": "C-EMPTY", "list_id": None, "people": 0}}

    @task
    def record(states):
        states = list(states)
        assert [set(s.values()) for s in states] == [{{"COMPLETED"}}] * len(states), states
        return len(states)

    submitted = submit.expand(contract_no=sorted(PEOPLE))
    # One wait per contract, as the monthly DAG maps them…
    waited = PolicyNumbersSensor.partial(task_id="wait_for_policy_numbers", poll_interval=0.05, timeout=60).expand(ids=submitted)
    record(waited.output)
    # …or one wait for the whole batch, and one with nothing to wait for.
    PolicyNumbersSensor(task_id="wait_for_batch", ids=submitted, poll_interval=0.05, timeout=60)
    PolicyNumbersSensor(task_id="wait_for_nobody", ids=nobody(), poll_interval=0.05)
'''


def test_dag_test_runs_the_deferred_wait_inline(airflow_home, sim, des_connection):
    from airflow.models.log import Log
    from airflow.utils.session import create_session
    from airflow.utils.state import DagRunState, TaskInstanceState
    from sqlalchemy import select

    # Answered after some polls: late enough that the waits, which start as soon as the lists are
    # in, find them unanswered at their first look even on a loaded machine.
    sim.settings(insurer_delay=4)
    people_json = {"DAG-1": [p.model_dump(mode="json") for p in people(3)], "DAG-2": [p.model_dump(mode="json") for p in people(2, 10)]}
    path = airflow_home.write_dag(DAG_FILE.format(people=people_json), name="oks_test_policy_wait")
    dag = airflow_home.load_dag(path, "oks_test_policy_wait")

    run = dag.test()

    tis = run.get_task_instances()
    assert run.state == DagRunState.SUCCESS, {(ti.task_id, ti.map_index): ti.state for ti in tis}
    assert {ti.state for ti in tis} == {TaskInstanceState.SUCCESS}
    any_ti = tis[0]
    list_ids = [s["list_id"] for s in any_ti.xcom_pull(task_ids="submit", map_indexes=[0, 1])]
    assert len(set(list_ids)) == 2
    per_contract = any_ti.xcom_pull(task_ids="wait_for_policy_numbers", map_indexes=[0, 1])
    assert sorted(per_contract, key=str) == sorted(({i: "COMPLETED"} for i in list_ids), key=str)
    assert any_ti.xcom_pull(task_ids="wait_for_batch") == {i: "COMPLETED" for i in list_ids}
    assert any_ti.xcom_pull(task_ids="record") == 2
    with create_session() as session:
        events = session.execute(
            select(Log.task_id, Log.map_index, Log.event).where(Log.run_id == run.run_id, Log.task_id.like("wait_for_%")).order_by(Log.id)
        ).all()
    lifecycle: dict = {}
    for task_id, map_index, event in events:
        lifecycle.setdefault((task_id, map_index), []).append(event)
    deferred, looked_once = ["running", "deferred", "running", "success"], ["running", "success"]
    waits = [key for key in lifecycle if key != ("wait_for_nobody", -1)]
    assert sorted(waits) == [("wait_for_batch", -1), ("wait_for_policy_numbers", 0), ("wait_for_policy_numbers", 1)]
    # A wait that found the lists unanswered at its one look left the worker (deferred), its trigger
    # ran inline, and the task came back to finish; one that looked after the insurer had answered
    # ended at that look, never deferring. The first waits look long before the answer.
    assert lifecycle[waits[0]] == deferred, lifecycle
    assert all(lifecycle[key] in (deferred, looked_once) for key in waits)
    assert lifecycle[("wait_for_nobody", -1)] == ["running", "success"]
