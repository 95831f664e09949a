"""Faults: a lossy, rate-limited, slow or absent DES still yields each list and payment exactly once,
or a clear, retryable error."""

from __future__ import annotations

from decimal import Decimal

import pytest

from oks.des.client import DesClient
from oks.des.errors import DesUnavailable
from oks.des.models import WsCredentials

from .simulator import CONTRACT, PERIOD, WAGE_DAY, amount_for, enrol, items_for, people, wait_until


def test_ten_thousand_people_and_their_payment_go_through_exactly_once(sim, settings, sqlite_ledger):
    # 30% of all requests fail with 5xx before DES does anything, 30% of the POSTs and PUTs that get
    # through are applied and then answered 502 (the answer is lost), every 9th request is answered
    # 429 with Retry-After 0.05 s. Seeded: the same faults in the same order on every run.
    sim.faults(error_rate=0.3, lost_response_rate=0.3, rate_limit_every=9, retry_after=0.05, seed=20260525)
    persons = people(10_000)
    numbers = {p.tckn: n for n, p in enumerate(persons)}
    tuned = settings.with_(batch_size=1000, page_size=1000, max_attempts=25)
    with DesClient(tuned, ledger=sqlite_ledger) as client:
        client.register_contract(CONTRACT)
        client.store_ws_credentials(CONTRACT.contract_no, WsCredentials(user="u", password="p"))
        policies = enrol(client, CONTRACT.contract_no, persons)
        assert len(policies) == 10_000
        items = items_for(policies, numbers)
        submission = client.submit_payment(CONTRACT.contract_no, PERIOD, "REGULAR", WAGE_DAY, items)
        client.send_payment_to_insurer(submission.payment_id)
        wait_until(lambda: client.read_payment(submission.payment_id, limit=1).state == "TRANSFERRED", what="transfer")
        accepted = sum(r.amount for r in client.iter_payment_items(submission.payment_id) if r.status == "ACCEPTED")

    expected = sum((amount_for(n) for n in range(10_000)), Decimal("0"))
    state = sim.state()
    [the_list] = state["personnel_lists"]
    assert (the_list["people"], the_list["state"], the_list["counts"]) == (10_000, "COMPLETED", {"ENROLLED": 10_000})
    [payment] = state["payments"]
    assert (payment["items"], payment["state"], payment["batches_received"]) == (10_000, "TRANSFERRED", 10)
    assert Decimal(payment["total"]) == Decimal(payment["accepted_total"]) == submission.total == accepted == expected
    assert state["policies"] == {"ACTIVE": 10_000}

    counters = state["faults"]["counters"]
    assert counters["errors_injected"] > 0 and counters["responses_lost"] > 0 and counters["rate_limited"] > 0
    assert counters.get("early_retries", 0) == 0  # Retry-After was honoured every time
    rows = sqlite_ledger.find(CONTRACT.contract_no)
    assert len(rows) == 1 + 10 + 10  # contract, list and its 9 batches, payment and its 9 batches
    assert {r.state for r in rows if r.kind in ("personnel_list", "payment")} == {"completed"}
    assert sum(r.attempts for r in rows) > len(rows)  # retries happened, and were counted


def test_an_outage_longer_than_the_retry_budget_is_a_clear_retryable_error(client, contract, sim, settings, sqlite_ledger):
    items = items_for(enrol(client, contract.contract_no, people(20)))
    sim.faults(outage_for=600)
    with DesClient(settings.with_(max_attempts=4), ledger=sqlite_ledger) as down, pytest.raises(DesUnavailable) as unavailable:
        down.submit_payment(contract.contract_no, PERIOD, "REGULAR", WAGE_DAY, items)
    error = unavailable.value
    assert (error.retryable, error.attempts, error.operation) == (True, 4, "payment")
    assert "DES unavailable" in str(error) and "4 attempt(s)" in str(error) and "503 SERVICE_UNAVAILABLE" in str(error)
    assert sim.counters()["outage_rejections"] == 4
    [row] = sqlite_ledger.find(contract.contract_no, kind="payment")
    assert (row.state, row.attempts, row.des_id) == ("recorded", 4, None)
    assert "503" in row.last_error
    assert sim.state()["payments"] == []

    sim.faults(outage_for=0)  # DES is back: the re-run goes through once
    with DesClient(settings, ledger=sqlite_ledger) as back:
        submission = back.submit_payment(contract.contract_no, PERIOD, "REGULAR", WAGE_DAY, items)
    assert [p["payment_id"] for p in sim.state()["payments"]] == [submission.payment_id]
    row = sqlite_ledger.get(submission.idempotency_key)
    assert (row.state, row.attempts, row.last_error) == ("accepted", 5, None)


def test_the_retry_budget_in_seconds_also_ends_an_outage_wait(contract, sim, settings):
    sim.faults(outage_for=600)
    with DesClient(settings.with_(max_attempts=10_000, retry_budget=0.3, backoff_initial=0.02, backoff_max=0.02)) as down:
        with pytest.raises(DesUnavailable) as unavailable:
            down.get_contract(contract.contract_no)
    assert 1 < unavailable.value.attempts < 10_000


def test_a_retry_after_beyond_the_budget_gives_up_at_once_and_says_how_long(contract, sim, settings):
    sim.faults(rate_limit_every=2, retry_after=3600)
    with DesClient(settings.with_(retry_budget=5)) as client, pytest.raises(DesUnavailable) as limited:
        client.get_contract(contract.contract_no)  # request 1: the token; request 2: this call, answered 429
    assert (limited.value.attempts, limited.value.retry_after) == (1, 3600)
    assert "wait 3600 s" in str(limited.value)


def test_hanging_answers_time_out_and_every_retry_reattaches(client, contract, sim, settings):
    with DesClient(settings.with_(read_timeout=0.3, max_attempts=3)) as impatient:
        impatient.get_contract(contract.contract_no)  # a token before DES starts hanging
        sim.faults(hang_rate=1.0, hang_seconds=30, path_contains="/personnel-lists")
        with pytest.raises(DesUnavailable) as hung:
            impatient.submit_personnel(contract.contract_no, PERIOD, people(5))
    assert hung.value.attempts == 3 and "timeout" in hung.value.last_error
    assert sim.counters()["held"] == 3
    [held] = sim.state()["personnel_lists"]  # three attempts, one list
    sim.clear_faults()
    again = client.submit_personnel(contract.contract_no, PERIOD, people(5))
    assert (again.list_id, again.reattached) == (held["list_id"], True)


def test_added_latency_slows_but_does_not_break(client, contract, sim):
    sim.faults(latency=0.05)
    submission = client.submit_personnel(contract.contract_no, PERIOD, people(120))
    assert (submission.batches, sim.counters()["held"]) == (2, 2)
    assert len(sim.state()["personnel_lists"]) == 1


def test_nobody_listening_is_des_unavailable_after_the_attempts(settings):
    import socket

    with socket.socket() as probe:  # a port that was free a moment ago: nothing answers there
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with DesClient(settings.with_(base_url=f"http://127.0.0.1:{port}", max_attempts=3)) as client:
        with pytest.raises(DesUnavailable) as refused:
            client.read_events("C-1")
    assert refused.value.attempts == 3 and "connection failed" in refused.value.last_error
