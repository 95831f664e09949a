"""A client that dies between "request recorded" and "answer recorded" must not pay twice on re-run."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from dataclasses import asdict
from decimal import Decimal
from pathlib import Path

import pytest

from oks.des.client import DesClient
from oks.des.errors import LedgerConflict
from oks.des.ledger import Ledger

from .simulator import PERIOD, WAGE_DAY, enrol, items_for, people, wait_until

ROOT = Path(__file__).resolve().parents[2]


class SimulatedCrash(BaseException):
    """Not an Exception: nothing in the client may catch it, as nothing catches a power cut."""


def crash_on(method: str, path_end: str):
    def hook(response, *args, **kwargs):
        if response.request.method == method and response.request.path_url.endswith(path_end):
            raise SimulatedCrash(f"crashed on receiving the answer to {method} …{path_end}")
        return response

    return hook


@pytest.fixture
def enrolled(client, contract):
    policies = enrol(client, contract.contract_no, people(250))
    return items_for(policies)


def test_the_ledger_row_exists_before_the_request_reaches_des(settings, contract, enrolled, sqlite_ledger):
    seen = []

    def look(response, *args, **kwargs):
        if response.request.path_url.endswith("/payments"):
            seen.extend(sqlite_ledger.find(contract.contract_no, kind="payment"))
        return response

    with DesClient(settings, ledger=sqlite_ledger) as client:
        client.session.hooks["response"].append(look)
        submission = client.submit_payment(contract.contract_no, PERIOD, "REGULAR", WAGE_DAY, enrolled)
    [row_while_on_the_wire] = seen
    assert (row_while_on_the_wire.state, row_while_on_the_wire.des_id) == ("recorded", None)
    assert row_while_on_the_wire.idempotency_key == submission.idempotency_key
    assert sqlite_ledger.get(submission.idempotency_key).state == "accepted"


def test_a_crash_on_receiving_the_answer_then_a_rerun_makes_no_second_payment(settings, contract, enrolled, sim, sqlite_ledger):
    with DesClient(settings, ledger=sqlite_ledger) as client:
        client.session.hooks["response"].append(crash_on("POST", "/payments"))
        with pytest.raises(SimulatedCrash):
            client.submit_payment(contract.contract_no, PERIOD, "REGULAR", WAGE_DAY, enrolled)
    [held] = sim.state()["payments"]  # DES has it…
    [row] = sqlite_ledger.find(contract.contract_no, kind="payment")
    assert (row.state, row.des_id) == ("recorded", None)  # …the ledger never heard the answer
    with DesClient(settings, ledger=sqlite_ledger) as client:  # the re-run
        again = client.submit_payment(contract.contract_no, PERIOD, "REGULAR", WAGE_DAY, enrolled)
    assert (again.payment_id, again.reattached) == (held["payment_id"], True)
    [payment] = sim.state()["payments"]
    assert (payment["items"], Decimal(payment["total"])) == (250, sum(i.amount for i in enrolled))
    row = sqlite_ledger.get(again.idempotency_key)
    assert (row.state, row.des_id, row.attempts) == ("accepted", held["payment_id"], 1)


def test_a_crash_between_two_batches_resumes_with_the_missing_batches_only(settings, contract, enrolled, sim, sqlite_ledger):
    with DesClient(settings, ledger=sqlite_ledger) as client:
        client.session.hooks["response"].append(crash_on("POST", "/batches"))
        with pytest.raises(SimulatedCrash):
            client.submit_payment(contract.contract_no, PERIOD, "REGULAR", WAGE_DAY, enrolled)
    assert [p["batches_received"] for p in sim.state()["payments"]] == [2]
    states = [r.state for r in sqlite_ledger.find(contract.contract_no, period=PERIOD) if r.kind.startswith("payment")]
    assert states == ["accepted", "recorded", "recorded"]
    with DesClient(settings, ledger=sqlite_ledger) as client:
        again = client.submit_payment(contract.contract_no, PERIOD, "REGULAR", WAGE_DAY, enrolled)
    [payment] = sim.state()["payments"]
    assert (payment["payment_id"], payment["batches_received"], payment["items"]) == (again.payment_id, 3, 250)


class CrashingLedger(Ledger):
    """Dies right after the ledger write, before anything is sent."""

    def record(self, entries):
        rows = super().record(entries)
        if any(e.kind == "payment" for e in entries):
            raise SimulatedCrash("crashed after recording")
        return rows


def test_a_crash_after_recording_and_before_sending_sends_once_on_rerun(settings, contract, enrolled, sim, sqlite_ledger):
    with DesClient(settings, ledger=CrashingLedger(sqlite_ledger.engine)) as client, pytest.raises(SimulatedCrash):
        client.submit_payment(contract.contract_no, PERIOD, "REGULAR", WAGE_DAY, enrolled)
    assert sim.state()["payments"] == []
    assert {r.state for r in sqlite_ledger.find(contract.contract_no, period=PERIOD) if r.kind.startswith("payment")} == {"recorded"}
    with DesClient(settings, ledger=sqlite_ledger) as client:
        submission = client.submit_payment(contract.contract_no, PERIOD, "REGULAR", WAGE_DAY, enrolled)
    assert [p["payment_id"] for p in sim.state()["payments"]] == [submission.payment_id]


def test_a_client_killed_with_sigkill_while_des_holds_the_answer_pays_once_after_rerun(
    settings, contract, enrolled, sim, sqlite_url, sqlite_ledger, tmp_path
):
    job = tmp_path / "job.json"
    worker_settings = {**asdict(settings), "batch_size": 100, "read_timeout": 120.0}
    job.write_text(
        json.dumps(
            {
                "settings": worker_settings,
                "ledger_url": sqlite_url,
                "contract_no": contract.contract_no,
                "period": PERIOD,
                "wage_paid_on": WAGE_DAY.isoformat(),
                "items": [[i.tckn, i.policy_no, str(i.amount)] for i in enrolled],
            }
        )
    )
    # DES applies the payment, then holds its answer: the worker is inside the call when it dies.
    sim.faults(latency=120, path_contains="/payments")
    worker = subprocess.Popen(
        [sys.executable, "-m", "tests.des.payment_worker", str(job)], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        wait_until(lambda: sim.state()["payments"] or worker.poll() is not None, timeout=60, what="payment on DES")
        assert worker.poll() is None, worker.communicate()
        [row] = sqlite_ledger.find(contract.contract_no, kind="payment")
        assert (row.state, row.des_id) == ("recorded", None)
        worker.send_signal(signal.SIGKILL)
        assert worker.wait(timeout=30) == -signal.SIGKILL
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait(timeout=30)
    [held] = sim.state()["payments"]
    assert held["batches_received"] == 1  # died on the first request, with batches 2 and 3 unsent
    sim.clear_faults()
    with DesClient(settings.with_(batch_size=100), ledger=sqlite_ledger) as client:
        again = client.submit_payment(contract.contract_no, PERIOD, "REGULAR", WAGE_DAY, enrolled)
    assert (again.payment_id, again.reattached, again.adopted) == (held["payment_id"], True, False)
    [payment] = sim.state()["payments"]
    assert (payment["items"], payment["batches_received"], Decimal(payment["total"])) == (250, 3, sum(i.amount for i in enrolled))
    row = sqlite_ledger.get(again.idempotency_key)
    assert (row.state, row.des_id) == ("accepted", held["payment_id"])


def test_a_rerun_with_another_batch_size_stops_instead_of_sending_a_second_list(settings, contract, sim, sqlite_ledger):
    persons = people(120)
    with DesClient(settings.with_(batch_size=50), ledger=sqlite_ledger) as client:
        client.session.hooks["response"].append(crash_on("POST", "/batches"))
        with pytest.raises(SimulatedCrash):
            client.submit_personnel(contract.contract_no, PERIOD, persons)
    before = sim.counters()["api_requests"]
    with DesClient(settings.with_(batch_size=40), ledger=sqlite_ledger) as client, pytest.raises(LedgerConflict) as refused:
        client.submit_personnel(contract.contract_no, PERIOD, persons)
    assert "batch_size" in str(refused.value)
    assert sim.counters()["api_requests"] == before and len(sim.state()["personnel_lists"]) == 1
    with DesClient(settings.with_(batch_size=50), ledger=sqlite_ledger) as client:  # as the first run: resumes
        resumed = client.submit_personnel(contract.contract_no, PERIOD, persons)
    [held] = sim.state()["personnel_lists"]
    assert (held["list_id"], held["people"], held["batches_received"]) == (resumed.list_id, 120, 3)
