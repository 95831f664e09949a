"""The DES trigger, run on an event loop against the real simulator on loopback.

Each test drives ``DesCompletionTrigger.run()`` to its end (bounded by ``asyncio.wait_for``) and
checks it fired exactly one event, with what it says, against what DES really holds.
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import time
from datetime import UTC, datetime, timedelta, timezone

import pytest

from oks.des.models import PaymentItem
from oks.des.simulator.server import DEMO_CUSTOMER
from oks.orchestration.triggers import DesCompletionTrigger
from tests.des.simulator import PERIOD, WAGE_DAY, enrol, items_for, people, person
from tests.des_connection import connection_json

POLL = 0.05


def trigger(kind: str, ids, *, within: float = 10.0, poll: float = POLL, **kwargs) -> DesCompletionTrigger:
    return DesCompletionTrigger(
        kind=kind, ids=ids, timeout_at=datetime.now(UTC) + timedelta(seconds=within), poll_interval=poll, **kwargs
    )


async def _events(t: DesCompletionTrigger, limit: float) -> list:
    async def collect() -> list:
        return [event async for event in t.run()]

    return await asyncio.wait_for(collect(), limit)


def events_of(t: DesCompletionTrigger, *, limit: float = 20.0) -> list:
    """Every event ``run()`` yields until it returns (it must return, within ``limit`` seconds)."""
    return asyncio.run(_events(t, limit))


def only_event(t: DesCompletionTrigger, **kw) -> dict:
    events = events_of(t, **kw)
    assert len(events) == 1, events
    payload = events[0].payload
    json.dumps(payload)  # goes through the metadata database: JSON only
    return payload


def sent_list(client, contract, count: int = 3, start: int = 0) -> str:
    submission = client.submit_personnel(contract.contract_no, PERIOD, people(count, start))
    client.send_personnel_to_insurer(submission.list_id)
    return submission.list_id


# --- personnel lists -----------------------------------------------------------------------------


def test_a_list_the_insurer_answers_completes_the_wait(sim, client, contract, des_connection):
    sim.settings(insurer_delay=0.3)  # several polls see SENT before the insurer answers
    list_id = sent_list(client, contract)
    t = trigger("personnel_list", [list_id])
    started = time.monotonic()

    event = only_event(t)

    assert event == {"status": "done", "kind": "personnel_list", "states": {list_id: "COMPLETED"}}
    assert time.monotonic() - started >= 0.25  # it waited for the insurer, it did not stop at SENT
    page = client.read_personnel_results(list_id)
    assert page.state == "COMPLETED" and page.counts == {"ENROLLED": 3}
    assert t.tokens_fetched == 1 and t.transient_errors == 0


def test_polls_read_one_small_page_whatever_the_list_size(sim, client, contract, proxy):
    sim.settings(insurer_delay=0.3)
    list_id = sent_list(client, contract, count=250)

    event = only_event(trigger("personnel_list", [list_id]))

    assert event["states"] == {list_id: "COMPLETED"}
    reads = [r for r in proxy.requests if r.startswith("GET ")]
    assert len(reads) >= 3, proxy.requests  # SENT at least twice, then COMPLETED
    assert all(r == f"GET /api/v1/personnel-lists/{list_id}?offset=0&limit=1" for r in reads), reads
    assert proxy.requests.count("POST /api/v1/auth/token") == 1
    # A page of 250 results is some 30 kB; one person per page keeps each answer well under 2 kB.
    assert proxy.bytes_down < 2_000 * len(proxy.requests), proxy.bytes_down


def test_a_batch_waits_for_every_list(sim, client, contract, des_connection):
    first = sent_list(client, contract, count=2)
    second = sent_list(client, contract, count=2, start=10)

    event = only_event(trigger("personnel_list", [first, second, first]))

    assert event["status"] == "done"
    assert event["states"] == {first: "COMPLETED", second: "COMPLETED"}


def test_times_out_listing_what_is_still_pending(sim, client, contract, des_connection):
    answered = sent_list(client, contract, count=2)
    sim.process()
    sim.settings(insurer_delay=3600)  # the insurer goes quiet
    waiting = sent_list(client, contract, count=2, start=10)
    t = trigger("personnel_list", [answered, waiting], within=0.5)
    started = time.monotonic()

    event = only_event(t)

    assert 0.45 <= time.monotonic() - started < 5
    assert event["status"] == "timeout"
    assert event["pending"] == [waiting]
    assert event["states"] == {answered: "COMPLETED", waiting: "SENT"}
    assert event["des_unreachable"] is False and event["transient_errors"] == 0
    assert client.read_personnel_results(waiting, limit=1).state == "SENT"  # it only looked


def test_a_list_that_was_never_sent_stays_received(sim, client, contract, des_connection):
    submission = client.submit_personnel(contract.contract_no, PERIOD, people(2))

    event = only_event(trigger("personnel_list", [submission.list_id], within=0.3))

    assert event["status"] == "timeout"
    assert event["states"] == {submission.list_id: "RECEIVED"}


def test_an_unknown_list_is_an_error_not_a_wait(sim, des_connection):
    t = trigger("personnel_list", ["PL-does-not-exist"], within=30)
    started = time.monotonic()

    event = only_event(t)

    assert time.monotonic() - started < 5
    assert event["status"] == "error"
    assert event["code"] == "LIST_NOT_FOUND" and event["id"] == "PL-does-not-exist"
    assert "404 LIST_NOT_FOUND" in event["message"]


# --- payments ------------------------------------------------------------------------------------


def test_a_payment_waits_until_transferred(sim, client, contract, des_connection):
    policies = enrol(client, contract.contract_no, people(3))
    sim.settings(transfer_delay=0.3)
    payment = client.submit_payment(contract.contract_no, PERIOD, "REGULAR", WAGE_DAY, items_for(policies))
    client.send_payment_to_insurer(payment.payment_id)

    event = only_event(trigger("payment", [payment.payment_id]))

    assert event == {"status": "done", "kind": "payment", "states": {payment.payment_id: "TRANSFERRED"}}
    assert client.read_payment(payment.payment_id, limit=1).state == "TRANSFERRED"


def test_a_payment_the_insurer_rejects_whole_is_final_too(sim, client, contract, des_connection):
    # Nobody here holds a policy: the insurer rejects every item, so the payment ends REJECTED.
    items = [PaymentItem(tckn=person(n).tckn, policy_no=f"NOPE{n}", amount="100.00") for n in range(2)]
    payment = client.submit_payment(contract.contract_no, PERIOD, "REGULAR", WAGE_DAY, items)
    client.send_payment_to_insurer(payment.payment_id)

    event = only_event(trigger("payment", [payment.payment_id]))

    assert event["status"] == "done" and event["states"] == {payment.payment_id: "REJECTED"}


def test_an_unknown_payment_is_an_error(sim, des_connection):
    event = only_event(trigger("payment", ["PAY-404"]))

    assert event["status"] == "error" and event["code"] == "PAYMENT_NOT_FOUND"


def test_a_list_id_is_not_a_payment(sim, client, contract, des_connection):
    list_id = sent_list(client, contract)

    event = only_event(trigger("payment", [list_id]))

    assert event["status"] == "error" and event["code"] == "PAYMENT_NOT_FOUND"


# --- a DES that misbehaves -----------------------------------------------------------------------


def test_server_errors_only_delay_the_answer(sim, client, contract, des_connection):
    sim.settings(insurer_delay=0.3)
    list_id = sent_list(client, contract)
    sim.faults(error_rate=0.5, seed=11)
    t = trigger("personnel_list", [list_id])

    event = only_event(t)

    assert event["status"] == "done" and event["states"] == {list_id: "COMPLETED"}
    counters = sim.counters()
    assert counters.get("errors_injected", 0) >= 2, counters
    assert t.transient_errors == counters["errors_injected"]


def test_rate_limits_are_waited_out_as_des_asks(sim, client, contract, des_connection):
    sim.settings(insurer_delay=0.4)
    list_id = sent_list(client, contract)
    sim.faults(rate_limit_every=2, retry_after=0.2)
    t = trigger("personnel_list", [list_id])

    event = only_event(t)

    assert event["status"] == "done" and event["states"] == {list_id: "COMPLETED"}
    counters = sim.counters()
    assert counters.get("rate_limited", 0) >= 2 and t.transient_errors == counters["rate_limited"], counters
    # Retry-After (0.2 s) is four poll intervals: a trigger that ignored it would have come back early.
    assert counters.get("early_retries", 0) == 0, counters


def test_an_expired_token_is_renewed_once_mid_wait(sim, client, contract, des_connection):
    sim.settings(insurer_delay=0.6)
    list_id = sent_list(client, contract)
    t = trigger("personnel_list", [list_id])

    async def wait_while_tokens_expire():
        waiting = asyncio.ensure_future(_events(t, 20))
        await asyncio.sleep(0.25)
        assert not waiting.done()
        assert await asyncio.to_thread(sim.expire_tokens) >= 1
        return await waiting

    events = asyncio.run(wait_while_tokens_expire())

    assert [e.payload for e in events] == [{"status": "done", "kind": "personnel_list", "states": {list_id: "COMPLETED"}}]
    assert t.tokens_fetched == 2 and t.transient_errors == 0


def test_credentials_refused_after_renewal_end_the_wait(sim, client, contract, des_connection, caplog):
    sim.settings(insurer_delay=60)
    list_id = sent_list(client, contract)
    t = trigger("personnel_list", [list_id], within=20)

    async def wait_while_password_changes():
        waiting = asyncio.ensure_future(_events(t, 20))
        await asyncio.sleep(0.2)
        await asyncio.to_thread(sim.customer, DEMO_CUSTOMER.customer_no, DEMO_CUSTOMER.tckn, "rotated-password")
        await asyncio.to_thread(sim.expire_tokens)
        return await waiting

    with caplog.at_level(logging.DEBUG):
        events = asyncio.run(wait_while_password_changes())

    (event,) = [e.payload for e in events]
    assert event["status"] == "error" and event["code"] == "INVALID_CREDENTIALS"
    assert "des_default" in event["message"] and "rotated" not in event["message"]
    assert DEMO_CUSTOMER.password not in caplog.text and DEMO_CUSTOMER.tckn not in caplog.text


def test_an_outage_past_the_deadline_is_reported_as_des_unreachable(sim, client, contract, des_connection):
    list_id = sent_list(client, contract)
    sim.settings(insurer_delay=3600)
    sim.faults(outage_for=60)

    event = only_event(trigger("personnel_list", [list_id], within=0.4))

    assert event["status"] == "timeout" and event["pending"] == [list_id]
    assert event["states"] == {list_id: None}  # never got an answer: no state to claim
    assert event["des_unreachable"] is True
    assert event["transient_errors"] >= 3 and "503 SERVICE_UNAVAILABLE" in event["last_error"]


def test_a_des_that_refuses_connections_is_unreachable_not_an_error(monkeypatch):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("AIRFLOW_CONN_DES_DEFAULT", connection_json(f"http://127.0.0.1:{port}"))

    event = only_event(trigger("payment", ["PAY-1"], within=0.3))

    assert event["status"] == "timeout" and event["des_unreachable"] is True
    assert "connection failed" in event["last_error"]


def test_des_recovering_before_the_deadline_still_completes(sim, client, contract, des_connection):
    sim.settings(insurer_delay=0.1)
    list_id = sent_list(client, contract)
    sim.faults(outage_for=0.4)

    t = trigger("personnel_list", [list_id])
    event = only_event(t)

    assert event["status"] == "done" and t.transient_errors >= 2


def test_secrets_never_reach_the_log(sim, client, contract, des_connection, caplog):
    sim.settings(insurer_delay=0.2)
    list_id = sent_list(client, contract)
    sim.faults(error_rate=0.3, seed=3)
    t = trigger("personnel_list", [list_id])

    with caplog.at_level(logging.DEBUG):
        only_event(t)
        asyncio.run(asyncio.sleep(0))

    assert list_id in caplog.text  # the log says what it waited for…
    for secret in (DEMO_CUSTOMER.password, DEMO_CUSTOMER.tckn, t._client.transport._token.value):
        assert secret not in caplog.text  # …never who we are


def test_a_connection_that_cannot_work_is_an_error_naming_the_field(sim, monkeypatch):
    broken = json.loads(connection_json(sim.url))
    del broken["extra"]["tckn"]
    monkeypatch.setenv("AIRFLOW_CONN_DES_DEFAULT", json.dumps(broken))

    event = only_event(trigger("personnel_list", ["PL-1"]))

    assert event["status"] == "error" and event["code"] == "CONNECTION_UNUSABLE"
    assert "extra.tckn" in event["message"] and DEMO_CUSTOMER.password not in event["message"]


def test_a_connection_that_does_not_exist_is_an_error(monkeypatch):
    monkeypatch.delenv("AIRFLOW_CONN_DES_DEFAULT", raising=False)

    event = only_event(trigger("payment", ["PAY-1"], conn_id="des_nowhere"))

    assert event["status"] == "error" and event["code"] == "CONNECTION_UNUSABLE"
    assert "des_nowhere" in event["message"]


# --- construction and serialisation ---------------------------------------------------------------


def test_serialize_round_trips_through_json():
    from airflow.sdk._shared.module_loading import import_string

    at = datetime(2026, 6, 1, 9, 30, tzinfo=timezone(timedelta(hours=3)))
    original = DesCompletionTrigger(kind="payment", ids=["P-1", "P-2"], timeout_at=at, conn_id="des_other", poll_interval=120)

    classpath, kwargs = json.loads(json.dumps(original.serialize()))
    rebuilt = import_string(classpath)(**kwargs)

    assert classpath == "oks.orchestration.triggers.DesCompletionTrigger"
    assert kwargs == {"kind": "payment", "ids": ["P-1", "P-2"], "timeout_at": "2026-06-01T06:30:00+00:00",
                      "conn_id": "des_other", "poll_interval": 120.0}  # fmt: skip
    assert rebuilt.serialize() == original.serialize()
    assert rebuilt.timeout_at == at


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"kind": "contract"}, "kind must be one of"),
        ({"ids": []}, "at least one DES id"),
        ({"ids": [" "]}, "none may be empty"),
        ({"timeout_at": datetime(2026, 6, 1, 9, 30)}, "timezone-aware"),
        ({"poll_interval": 0}, "positive"),
    ],
)
def test_refuses_what_could_never_work(changes, message):
    kwargs = {"kind": "payment", "ids": ["P-1"], "timeout_at": datetime.now(UTC), **changes}
    with pytest.raises(ValueError, match=message):
        DesCompletionTrigger(**kwargs)
