"""The request ledger on the store's des_requests table, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa

from oks.des.client import DesClient
from oks.des.errors import LedgerConflict
from oks.des.ledger import LedgerEntry
from oks.store.schema import des_requests

from .simulator import PERIOD, people, tckn


def entry(n: int, content: str = "c", kind: str = "payment_batch") -> LedgerEntry:
    return LedgerEntry(kind, "C-1", PERIOD, "REGULAR", f"key-{n}", f"hash-{n}-{content}")


def test_record_is_insert_or_get(ledger):
    first = ledger.record([entry(1), entry(2)])
    again = ledger.record([entry(2), entry(3)])
    assert first["key-2"].id == again["key-2"].id
    assert {r.state for r in again.values()} == {"recorded"}
    assert {r.attempts for r in again.values()} == {0}
    with ledger.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(des_requests)).scalar() == 3


def test_a_key_recorded_for_other_content_is_refused(ledger):
    ledger.record([entry(1, "a")])
    with pytest.raises(LedgerConflict, match="key-1"):
        ledger.record([entry(1, "b")])


def test_concurrent_runs_recording_the_same_keys_share_one_row_per_key(ledger):
    entries = [entry(n) for n in range(60)]
    results, failures = [], []
    barrier = threading.Barrier(6)

    def run():
        try:
            barrier.wait()
            results.append({k: r.id for k, r in ledger.record(entries).items()})
        except Exception as exc:  # noqa: BLE001 - reported below
            failures.append(exc)

    threads = [threading.Thread(target=run) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert failures == []
    assert len(results) == 6 and all(r == results[0] for r in results)
    with ledger.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(des_requests)).scalar() == 60


def test_states_only_move_forward(ledger):
    ledger.record([entry(1, kind="payment")])
    ledger.accepted("key-1", "PAY-1", attempts=2)
    assert ledger.advance("payment", "PAY-1", "sent") == 1
    ledger.accepted("key-1", "PAY-1", attempts=1)  # a replay heard later does not undo "sent"
    row = ledger.get("key-1")
    assert (row.state, row.des_id, row.attempts, row.held_by_des) == ("sent", "PAY-1", 3, True)
    ledger.advance("payment", "PAY-1", "completed")
    ledger.advance("payment", "PAY-1", "sent")
    assert ledger.get("key-1").state == "completed"


def test_an_unanswered_call_stays_recorded_with_its_attempts_and_a_masked_error(ledger):
    ledger.record([entry(1)])
    ledger.unanswered("key-1", attempts=4, error=f"503 for person {tckn(5)} and TR330006100519786457841326")
    row = ledger.get("key-1")
    assert (row.state, row.attempts, row.des_id, row.held_by_des) == ("recorded", 4, None, False)
    assert tckn(5) not in row.last_error and "TR330006100519786457841326" not in row.last_error
    assert "503" in row.last_error


def test_a_refused_call_can_be_accepted_on_a_later_run(ledger):
    ledger.record([entry(1)])
    ledger.failed("key-1", attempts=1, error="CONTRACT_NOT_FOUND: no such contract")
    assert ledger.get("key-1").state == "failed"
    ledger.accepted("key-1", "PL-9", attempts=1)
    row = ledger.get("key-1")
    assert (row.state, row.des_id, row.last_error, row.attempts) == ("accepted", "PL-9", None, 2)


def test_find_by_contract_period_and_kind(ledger):
    ledger.record([entry(1, kind="payment"), entry(2), LedgerEntry("contract", "C-2", None, None, "key-c", "h")])
    assert [r.idempotency_key for r in ledger.find("C-1", period=PERIOD)] == ["key-1", "key-2"]
    assert [r.idempotency_key for r in ledger.find("C-1", kind="payment")] == ["key-1"]
    assert [r.kind for r in ledger.find("C-2")] == ["contract"]
    assert ledger.get("absent") is None


def test_the_client_records_every_creating_request_and_a_rerun_sends_none_again(ledger, contract, settings, sim, answers):
    persons = people(250)
    with DesClient(settings, ledger=ledger) as client:
        first = client.submit_personnel(contract.contract_no, PERIOD, persons)
    rows = ledger.find(contract.contract_no, period=PERIOD)
    assert [(r.kind, r.state, r.des_id, r.attempts) for r in rows] == [
        ("personnel_list", "accepted", first.list_id, 1),
        ("personnel_batch", "accepted", first.list_id, 1),
        ("personnel_batch", "accepted", first.list_id, 1),
    ]
    assert rows[0].idempotency_key == first.idempotency_key
    before = sim.counters()["api_requests"]
    with DesClient(settings, ledger=ledger) as client:
        again = client.submit_personnel(contract.contract_no, PERIOD, list(reversed(persons)))
    assert (again.list_id, again.reattached) == (first.list_id, True)
    assert sim.counters()["api_requests"] == before  # the ledger knew DES held all three
    assert len(sim.state()["personnel_lists"]) == 1
