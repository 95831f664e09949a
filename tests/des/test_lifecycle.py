"""The whole employment lifecycle on the insurer's side, through the client over real HTTP: a leaver's
EXIT (with the exit date) closes the policy yet takes the last month's contribution, an UPDATE changes
the insurer's record, and a request made at the employer comes back as the status event it causes."""

from __future__ import annotations

from datetime import date

import pytest
from pydantic import ValidationError

from oks.des.models import EmployerRequest, Person

from .simulator import PERIOD, WAGE_DAY, enrol, items_for, person, tckn, wait_until

LEFT_ON = date(2026, 5, 20)  # within PERIOD (2026-05)


def _answered(client, people: list[Person]) -> dict[str, list]:
    submission = client.submit_personnel("AGS-2026-001", PERIOD, people)
    client.send_personnel_to_insurer(submission.list_id)
    wait_until(lambda: client.read_personnel_results(submission.list_id, limit=1).state == "COMPLETED", what="insurer")
    answers: dict[str, list] = {}
    for result in client.iter_personnel_results(submission.list_id):
        answers.setdefault(result.tckn, []).append(result)
    return answers


def _paid(client, policies: dict[str, str], period: str) -> dict[str, str]:
    payment = client.submit_payment("AGS-2026-001", period, "REGULAR", WAGE_DAY.replace(month=int(period[5:])), items_for(policies))
    client.send_payment_to_insurer(payment.payment_id)
    wait_until(lambda: client.read_payment(payment.payment_id, limit=1).state in ("TRANSFERRED", "REJECTED"), what="transfer")
    return {item.tckn: item.error.code if item.error else item.status for item in client.iter_payment_items(payment.payment_id)}


def test_a_new_hire_who_left_within_the_month_is_enrolled_and_exited_by_one_list(client, contract, sim):
    answers = _answered(client, [person(1), person(1, action="EXIT", exit_date=LEFT_ON), person(2)])
    (enrolled, exited), (other,) = answers[tckn(1)], answers[tckn(2)]
    assert (enrolled.action, enrolled.status, exited.action, exited.status) == ("ENROL", "ENROLLED", "EXIT", "EXITED")
    assert exited.policy_no == enrolled.policy_no and other.status == "ENROLLED"
    held = {p["tckn"]: p for p in sim.policies("AGS-2026-001")}
    assert (held[tckn(1)]["state"], held[tckn(1)]["exit_date"]) == ("LEFT", LEFT_ON.isoformat())
    # The month of the exit still takes the leaver's contribution; the month after does not.
    policies = {tckn(1): enrolled.policy_no, tckn(2): other.policy_no}
    assert _paid(client, policies, PERIOD) == {tckn(1): "ACCEPTED", tckn(2): "ACCEPTED"}
    assert _paid(client, policies, "2026-06") == {tckn(1): "POLICY_INACTIVE", tckn(2): "ACCEPTED"}


def test_the_same_person_twice_is_refused_unless_an_exit_follows(client, contract):
    answers = _answered(client, [person(3), person(3, action="UPDATE"), person(4, action="EXIT", exit_date=LEFT_ON)])
    assert [(r.action, r.status, r.error.code if r.error else None) for r in answers[tckn(3)]] == [
        ("ENROL", "ENROLLED", None), ("UPDATE", "REJECTED", "DUPLICATE_PERSON")]  # fmt: skip
    assert [(r.status, r.error.code) for r in answers[tckn(4)]] == [("REJECTED", "NOT_ENROLLED")]


def test_an_update_replaces_the_insurers_record_of_the_person(client, contract, sim):
    policy = enrol(client, contract.contract_no, [person(5)])[tckn(5)]
    changed = person(5, action="UPDATE", mobile="+905551112233", iban="TR330006100519786457841326", email="yeni@ornek.com.tr")
    [answer] = _answered(client, [changed])[tckn(5)]
    assert (answer.status, answer.policy_no) == ("UPDATED", policy)
    held = next(p for p in sim.policies() if p["tckn"] == tckn(5))
    assert (held["mobile"], held["iban"], held["email"], held["state"]) == ("+905551112233", "TR330006100519786457841326", "yeni@ornek.com.tr", "ACTIVE")


def test_an_exit_needs_its_date_and_only_an_exit_takes_one():
    with pytest.raises(ValidationError, match="exit_date is required with action EXIT"):
        person(6, action="EXIT")
    with pytest.raises(ValidationError, match="only with it"):
        person(6, exit_date=LEFT_ON)


def test_a_request_made_at_the_employer_comes_back_as_the_event_it_causes_once(client, contract, sim):
    policies = enrol(client, contract.contract_no, [person(7), person(8)])
    opt_out = EmployerRequest(tckn=tckn(7), policy_no=policies[tckn(7)], kind="OPT_OUT", requested_on=date(2026, 5, 12))
    sent = client.forward_request(contract.contract_no, opt_out)
    assert (sent.state, sent.reattached) == ("RECEIVED", False)
    again = client.forward_request(contract.contract_no, opt_out)
    assert (again.request_id, again.reattached) == (sent.request_id, True)  # forwarded once, whatever the retries
    decided = wait_until(lambda: (r := client.read_request(sent.request_id)).state != "RECEIVED" and r, what="insurer's decision")
    events = client.read_events(contract.contract_no).events
    assert [(e.id, e.type, e.tckn, e.effective_on) for e in events] == [(decided.event_id, "OPTED_OUT", tckn(7), date(2026, 5, 12))]
    assert {p["tckn"]: p["state"] for p in sim.policies()} == {tckn(7): "OPTED_OUT", tckn(8): "ACTIVE"}


def test_requests_the_policy_cannot_take_are_refused_with_the_reason(client, contract):
    policies = enrol(client, contract.contract_no, [person(9)])
    resume = client.forward_request(contract.contract_no, EmployerRequest(tckn=tckn(9), policy_no=policies[tckn(9)], kind="RESUME",
                                                                        requested_on=date(2026, 5, 2)))  # fmt: skip
    stranger = client.forward_request(contract.contract_no, EmployerRequest(tckn=tckn(9), policy_no="NOPE-1", kind="PAUSE", months=2,
                                                                          requested_on=date(2026, 5, 2)))  # fmt: skip
    for sent, code in ((resume, "NOT_PAUSED"), (stranger, "POLICY_NOT_FOUND")):
        decided = wait_until(lambda sent=sent: (r := client.read_request(sent.request_id)).state != "RECEIVED" and r, what="decision")
        assert (decided.state, decided.error.code, decided.event_id) == ("REFUSED", code, None)
    assert client.read_events(contract.contract_no).events == ()
    with pytest.raises(ValidationError, match="months is required with kind PAUSE"):
        EmployerRequest(tckn=tckn(9), policy_no="P", kind="PAUSE", requested_on=date(2026, 5, 2))


def test_a_simulator_file_from_before_the_lifecycle_opens_with_the_new_columns(tmp_path):
    import sqlite3

    from oks.des.simulator.db import Database

    old = sqlite3.connect(tmp_path / "des.sqlite")
    old.execute("CREATE TABLE policies (contract_no TEXT NOT NULL, tckn TEXT NOT NULL, policy_no TEXT NOT NULL UNIQUE, "
                "state TEXT NOT NULL, enrolled_at REAL NOT NULL, PRIMARY KEY (contract_no, tckn)) WITHOUT ROWID")  # fmt: skip
    old.execute("INSERT INTO policies VALUES ('C-1', '10000000146', 'AG-1', 'ACTIVE', 0)")
    old.commit()
    old.close()
    db = Database(tmp_path / "des.sqlite")
    columns = {row[1] for row in db.conn.execute("PRAGMA table_info(policies)")}
    assert {"mobile", "iban", "exit_date"} <= columns
    assert db.conn.execute("SELECT policy_no, state, exit_date FROM policies").fetchall() == [("AG-1", "ACTIVE", None)]
    db.close()


def test_a_pause_ends_by_itself_after_its_months_with_a_resumed_event(client, contract, sim):
    import time_machine

    # The insurer's clock is the process's (the simulator runs in this process): it travels with the test,
    # never the machine's own date.
    with time_machine.travel(date(2026, 5, 5), tick=True):
        policies = enrol(client, contract.contract_no, [person(11)])
        pause = EmployerRequest(tckn=tckn(11), policy_no=policies[tckn(11)], kind="PAUSE", months=2, requested_on=date(2026, 5, 4))
        sent = client.forward_request(contract.contract_no, pause)
        wait_until(lambda: client.read_request(sent.request_id).state == "DONE", what="pause decided")
        held = next(p for p in sim.policies() if p["tckn"] == tckn(11))
        assert (held["state"], held["paused_until"]) == ("PAUSED", "2026-07-04")
    with time_machine.travel(date(2026, 7, 4), tick=True):  # its last day: still paused
        assert [e.type for e in client.read_events(contract.contract_no).events] == ["PAUSED"]
    with time_machine.travel(date(2026, 7, 6), tick=True):
        events = client.read_events(contract.contract_no).events
        assert [(e.type, e.effective_on) for e in events] == [("PAUSED", date(2026, 5, 4)), ("RESUMED", date(2026, 7, 4))]
        assert next(p for p in sim.policies() if p["tckn"] == tckn(11))["state"] == "ACTIVE"
