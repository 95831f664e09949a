"""The simulator as users run it (`oks simulator`, a separate process): stopped and started again on
the same state file, it carries on where it was — lists, payments, tokens, settings."""

from __future__ import annotations

import subprocess
from decimal import Decimal

import pytest
import requests

from oks.des.client import DesClient
from oks.des.models import WsCredentials

from .simulator import CONTRACT, OKS, PERIOD, WAGE_DAY, SimControl, fast_settings, items_for, people, run_simulator, wait_until, write_register


@pytest.fixture
def simulators():
    started = []
    yield started
    for process in started:
        process.stop()


def test_a_restart_loses_nothing(tmp_path, simulators):
    db, ready = tmp_path / "des.sqlite", tmp_path / "ready"
    first = run_simulator(db, ready, "--insurer-delay", "0.05")
    simulators.append(first)
    settings = fast_settings(first.url)
    client = DesClient(settings)
    client.register_contract(CONTRACT)
    client.store_ws_credentials(CONTRACT.contract_no, WsCredentials(user="u", password="p"))
    submission = client.submit_personnel(CONTRACT.contract_no, PERIOD, people(300))
    client.send_personnel_to_insurer(submission.list_id)

    first.stop()
    assert first.process.returncode in (0, -15)  # graceful stop on SIGTERM
    with pytest.raises(requests.ConnectionError):
        requests.get(first.url + "/health", timeout=2)
    second = run_simulator(db, ready, port=first.port)  # no --insurer-delay: the stored setting holds
    simulators.append(second)

    # The same client, the same token: DES still knows both.
    wait_until(lambda: client.read_personnel_results(submission.list_id, limit=1).state == "COMPLETED", what="insurer after restart")
    policies = {r.tckn: r.policy_no for r in client.iter_personnel_results(submission.list_id)}
    assert len(policies) == 300 and None not in policies.values()
    assert client.transport.tokens_fetched == 1
    control = SimControl(second.url)
    assert control.state()["tokens_issued"] == 1 and control.state()["settings"]["insurer_delay"] == 0.05

    items = items_for(policies)
    payment = client.submit_payment(CONTRACT.contract_no, PERIOD, "REGULAR", WAGE_DAY, items)
    second.stop()
    third = run_simulator(db, ready, port=first.port)
    simulators.append(third)

    # A fresh client (a re-run) re-attaches to the payment the stopped simulator took in.
    with DesClient(settings) as rerun:
        again = rerun.submit_payment(CONTRACT.contract_no, PERIOD, "REGULAR", WAGE_DAY, items)
        assert (again.payment_id, again.reattached) == (payment.payment_id, True)
        rerun.send_payment_to_insurer(payment.payment_id)
        wait_until(lambda: rerun.read_payment(payment.payment_id, limit=1).state == "TRANSFERRED", what="transfer")
        assert rerun.read_payment(payment.payment_id).accepted_total == sum((i.amount for i in items), Decimal("0"))
    state = SimControl(third.url).state()
    assert (len(state["personnel_lists"]), len(state["payments"]), state["tokens_issued"]) == (1, 1, 2)
    client.close()


def test_tokens_issued_before_a_restart_expire_on_time_and_the_client_reauthenticates(tmp_path, simulators):
    db, ready = tmp_path / "des.sqlite", tmp_path / "ready"
    first = run_simulator(db, ready)
    simulators.append(first)
    client = DesClient(fast_settings(first.url))
    client.register_contract(CONTRACT)
    first.stop()
    second = run_simulator(db, ready, port=first.port)
    simulators.append(second)
    SimControl(second.url).expire_tokens()
    assert client.get_contract(CONTRACT.contract_no).contract_no == CONTRACT.contract_no
    assert client.transport.tokens_fetched == 2
    client.close()


def test_the_command_takes_customers_register_and_faults_from_flags(tmp_path, simulators):
    persons = people(3)
    register = write_register(tmp_path / "identity_register.csv", persons[:2])
    sim = run_simulator(
        tmp_path / "des.sqlite", tmp_path / "ready",
        "--customer", "5550001:17291716060:flag-pass", "--identity-register", str(register),
        "--insurer-delay", "0", "--rate-limit-every", "3", "--retry-after", "0.01", "--seed", "1",
    )
    simulators.append(sim)
    state = SimControl(sim.url).state()
    assert state["register"] == {"loaded": True, "people": 2}
    assert state["faults"]["config"]["rate_limit_every"] == 3
    settings = fast_settings(sim.url, customer_no="5550001", tckn="17291716060", password="flag-pass")
    with DesClient(settings) as client:
        client.register_contract(CONTRACT)
        client.store_ws_credentials(CONTRACT.contract_no, WsCredentials(user="u", password="p"))
        submission = client.submit_personnel(CONTRACT.contract_no, PERIOD, persons)
        client.send_personnel_to_insurer(submission.list_id)
        wait_until(lambda: client.read_personnel_results(submission.list_id).state == "COMPLETED", what="insurer")
        statuses = sorted(r.status for r in client.iter_personnel_results(submission.list_id))
    assert statuses == ["ENROLLED", "ENROLLED", "REJECTED"]
    assert SimControl(sim.url).counters()["rate_limited"] > 0


def test_oks_help_lists_the_simulator_and_bad_flags_are_usage_errors():
    assert "simulator" in subprocess.run([OKS, "--help"], capture_output=True, text=True, timeout=60).stdout
    bad = subprocess.run([OKS, "simulator", "--customer", "only-one-part"], capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "MHN:TCKN:PASSWORD" in bad.stderr
