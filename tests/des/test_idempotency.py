"""Idempotency keys: derived from content on the client, honoured exactly as the contract says on DES."""

from __future__ import annotations

import json

import pytest

from oks.des.client import DesClient
from oks.des.errors import DesUnavailable
from oks.des.keys import batch_key, content_hash, idempotency_key
from oks.des.models import PaymentItem

from .simulator import PERIOD, WAGE_DAY, RawApi, enrol, error, people, person, person_json, tckn


def test_keys_depend_on_content_not_on_order_and_carry_no_personal_data(contract, settings, sim, answers):
    persons = people(30)

    def submit(batch_size: int, group, contract_no: str = contract.contract_no, period: str = PERIOD):
        with DesClient(settings.with_(batch_size=batch_size)) as client:
            return client.submit_personnel(contract_no, period, group).idempotency_key

    same = submit(10, persons)
    assert submit(10, list(reversed(persons))) == same
    assert submit(10, persons[:-1]) != same
    assert submit(10, [*persons[:-1], person(29, mobile="+905551112233")]) != same
    assert submit(15, persons) != same  # other batches, other requests
    assert submit(10, persons, period="2026-06") != same
    assert len(same) <= 120 and all(p.tckn not in same for p in persons)


def test_key_derivation_is_stable_and_length_prefixed():
    assert content_hash("ab", "c") != content_hash("a", "bc")
    key = idempotency_key("payment", "C-1", PERIOD, "REGULAR", "x" * 64)
    assert key == idempotency_key("payment", "C-1", PERIOD, "REGULAR", "x" * 64)
    assert key.startswith("oks-pa-2026-05-") and len(key) == len("oks-pa-2026-05-") + 40
    assert key != idempotency_key("payment", "C-1", PERIOD, "SUPPLEMENTARY", "x" * 64)
    assert batch_key("payment_batch", key, "C-1", PERIOD, "REGULAR", 2, "h") != batch_key("payment_batch", key, "C-1", PERIOD, "REGULAR", 3, "h")


def test_same_key_and_body_return_the_same_list_even_when_spelled_differently(api, raw_contract, sim):
    body = {"period": PERIOD, "people": [person_json(1), person_json(2)]}
    created = api("POST", f"/contracts/{raw_contract}/personnel-lists", key="k-1", json=body)
    respelled = json.dumps({"people": body["people"], "period": PERIOD}, indent=2)  # other order, whitespace
    replay = api("POST", f"/contracts/{raw_contract}/personnel-lists", key="k-1", data=respelled, headers={"Content-Type": "application/json"})
    assert (created.status_code, replay.status_code) == (201, 200)
    assert replay.headers["Idempotent-Replayed"] == "true" and "Idempotent-Replayed" not in created.headers
    assert replay.json()["list_id"] == created.json()["list_id"]
    assert len(sim.state()["personnel_lists"]) == 1


def test_a_replay_returns_the_resource_in_its_current_state(api, raw_contract):
    body = {"period": PERIOD, "people": [person_json(1)]}
    created = api("POST", f"/contracts/{raw_contract}/personnel-lists", key="k-1", json=body).json()
    api("POST", f"/personnel-lists/{created['list_id']}/send-to-insurer")
    replay = api("POST", f"/contracts/{raw_contract}/personnel-lists", key="k-1", json=body).json()
    assert (created["state"], replay["state"]) == ("RECEIVED", "SENT")


def test_a_batch_received_again_under_another_key_is_a_replay(api, raw_contract):
    created = api(
        "POST", f"/contracts/{raw_contract}/personnel-lists", key="k-1",
        json={"period": PERIOD, "people": [person_json(1)], "batch_count": 2, "person_count": 2},
    ).json()
    batch = {"batch_no": 2, "people": [person_json(2)]}
    first = api("POST", f"/personnel-lists/{created['list_id']}/batches", key="b-1", json=batch)
    second = api("POST", f"/personnel-lists/{created['list_id']}/batches", key="b-2", json=batch)
    assert (first.status_code, second.status_code) == (201, 200)
    assert second.json()["people_received"] == 2


def test_keys_belong_to_one_customer(api, raw_contract, sim):
    sim.customer("2000002", tckn(900), "other-pass")
    other = RawApi(api.url, "2000002", tckn(900), "other-pass")
    assert other("PUT", "/contracts/C-2", json={"insurer": "FIBA", "starts_on": "2026-01-01", "employer_vkn": "2222222222"}).status_code == 201
    body = {"period": PERIOD, "people": [person_json(1)]}
    mine = api("POST", f"/contracts/{raw_contract}/personnel-lists", key="shared", json=body)
    theirs = other("POST", "/contracts/C-2/personnel-lists", key="shared", json=body)
    assert (mine.status_code, theirs.status_code) == (201, 201)
    assert mine.json()["list_id"] != theirs.json()["list_id"]
    # and neither sees the other's list or contract
    assert error(other("GET", f"/personnel-lists/{mine.json()['list_id']}")) == (404, "LIST_NOT_FOUND")
    assert error(other("GET", f"/contracts/{raw_contract}")) == (404, "CONTRACT_NOT_FOUND")
    assert error(other("PUT", f"/contracts/{raw_contract}", json={"insurer": "AGESA", "starts_on": "2026-01-01", "employer_vkn": "1234567890"})) == (409, "CONTRACT_MISMATCH")


def test_a_payment_replayed_after_a_lost_answer_is_the_same_payment(client, contract, sim):
    policies = enrol(client, contract.contract_no, people(5))
    items = [PaymentItem(tckn=t, policy_no=p, amount="100") for t, p in policies.items()]
    sim.faults(lost_response_rate=1.0)  # every POST applied, every answer lost
    with pytest.raises(DesUnavailable) as lost:
        client.submit_payment(contract.contract_no, PERIOD, "REGULAR", WAGE_DAY, items)
    assert lost.value.attempts == client.settings.max_attempts
    assert sim.counters()["responses_lost"] == client.settings.max_attempts
    assert len(sim.state()["payments"]) == 1  # applied once, whatever the number of attempts
    sim.clear_faults()
    submission = client.submit_payment(contract.contract_no, PERIOD, "REGULAR", WAGE_DAY, items)
    assert submission.reattached is True
    [payment] = sim.state()["payments"]
    assert payment["payment_id"] == submission.payment_id and payment["items"] == 5
