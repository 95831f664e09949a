"""The HTTP client against the simulator, endpoint by endpoint, over real HTTP on loopback.

Every answer the ``client`` fixture receives is checked against openapi.yaml (tests/des/contract.py).
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal

import pytest

from oks.des.client import DesClient
from oks.des.errors import DesApiError, DesAuthError, PaymentConflict
from oks.des.gateway import DesGateway
from oks.des.models import ContractRegistration, PaymentItem, Person, WsCredentials

from .simulator import CONTRACT, PERIOD, WAGE_DAY, enrol, items_for, people, person, tckn, wait_until, write_register


def test_the_client_is_a_gateway(client):
    assert isinstance(client, DesGateway)


def test_register_contract_is_idempotent_and_reports_credentials(client, sim):
    first = client.register_contract(CONTRACT)
    again = client.register_contract(CONTRACT)
    assert first == again
    assert (first.contract_no, first.insurer, first.starts_on, first.ws_credentials_set) == ("AGS-2026-001", "AGESA", date(2026, 1, 1), False)
    receipt = client.store_ws_credentials(CONTRACT.contract_no, WsCredentials(user="u", password="p"))
    assert receipt.fields == ("user", "password")
    assert client.get_contract(CONTRACT.contract_no).ws_credentials_set is True
    assert sim.state()["contracts"] == 1


def test_anadolu_needs_client_id_and_secret(client, answers):
    anadolu = ContractRegistration(contract_no="AH-7", insurer="ANADOLU", starts_on=date(2025, 6, 1), employer_vkn="9876543210")
    client.register_contract(anadolu)
    with pytest.raises(DesApiError) as missing:
        client.store_ws_credentials("AH-7", WsCredentials(user="u", password="p"))
    assert (missing.value.status, missing.value.code, missing.value.details["field"]) == (400, "VALIDATION_ERROR", "client_id")
    receipt = client.store_ws_credentials("AH-7", WsCredentials(user="u", password="p", client_id="cid", client_secret="top-secret"))
    assert receipt.fields == ("user", "password", "client_id", "client_secret")
    assert all("top-secret" not in str(answer[3]) for answer in answers)  # secrets are never echoed


def test_fiba_refuses_fields_it_does_not_use(client):
    client.register_contract(ContractRegistration(contract_no="FB-1", insurer="FIBA", starts_on=date(2026, 1, 1), employer_vkn="1111111111"))
    with pytest.raises(DesApiError) as extra:
        client.store_ws_credentials("FB-1", WsCredentials(user="u", password="p", client_id="cid"))
    assert extra.value.details["field"] == "client_id"


def test_a_list_in_batches_becomes_one_list_with_every_person_in_order(client, contract, sim, answers):
    persons = people(250)
    submission = client.submit_personnel(contract.contract_no, PERIOD, reversed(persons))  # order does not matter
    assert (submission.people, submission.batches, submission.reattached) == (250, 3, False)
    [held] = sim.state()["personnel_lists"]
    assert (held["list_id"], held["people"], held["batches_received"], held["state"]) == (submission.list_id, 250, 3, "RECEIVED")
    creating = [a for a in answers if a[0] == "POST" and a[2] == 201]
    assert len(creating) == 3  # one create and two batches, each its own request

    page = client.read_personnel_results(submission.list_id, offset=0, limit=100)
    assert (page.state, page.total, page.counts, len(page.people), page.next_offset) == ("RECEIVED", 250, {"PENDING": 250}, 100, 100)
    sent = client.send_personnel_to_insurer(submission.list_id)
    assert sent.state == "SENT"
    assert client.send_personnel_to_insurer(submission.list_id).state in {"SENT", "COMPLETED"}  # harmless twice
    wait_until(lambda: client.read_personnel_results(submission.list_id, limit=1).state == "COMPLETED", what="insurer")
    results = list(client.iter_personnel_results(submission.list_id))
    assert [r.seq for r in results] == list(range(250))
    assert [r.tckn for r in results] == sorted(p.tckn for p in persons)
    assert {r.status for r in results} == {"ENROLLED"}
    assert len({r.policy_no for r in results}) == 250
    assert all(r.policy_no.startswith("AGS") for r in results)


def test_the_identity_register_decides_identity_mismatch(client, contract, sim, tmp_path):
    persons = people(6)
    register = write_register(tmp_path / "identity_register.csv", persons[:5], mangle={persons[1].tckn})
    assert sim.load_register(register) == {"loaded": True, "people": 5}
    policies = enrol(client, contract.contract_no, persons)
    # persons[1]: surname differs; persons[5]: absent from the register. The rest match, even though
    # the register spells surnames in Turkish upper case (İ, I, Ş, Ö…).
    assert set(policies) == {persons[i].tckn for i in (0, 2, 3, 4)}
    rejected = {r.tckn: r.error.code for r in client.iter_personnel_results(sim.state()["personnel_lists"][0]["list_id"]) if r.error}
    assert rejected == {persons[1].tckn: "IDENTITY_MISMATCH", persons[5].tckn: "IDENTITY_MISMATCH"}


def test_insurer_answers_already_enrolled_not_enrolled_duplicate_and_exit(client, contract, sim):
    first = enrol(client, contract.contract_no, people(3))
    left = date(2026, 11, 20)
    again = [person(0), person(1, action="UPDATE"), person(2, action="EXIT", exit_date=left), person(7, action="UPDATE"),
             person(8, action="EXIT", exit_date=left)]
    submission = client.submit_personnel(contract.contract_no, PERIOD, again)
    client.send_personnel_to_insurer(submission.list_id)
    wait_until(lambda: client.read_personnel_results(submission.list_id, limit=1).state == "COMPLETED", what="insurer")
    results = {r.tckn: r for r in client.iter_personnel_results(submission.list_id)}
    t = [tckn(n) for n in range(9)]
    assert (results[t[0]].status, results[t[0]].error.code, results[t[0]].policy_no) == ("REJECTED", "ALREADY_ENROLLED", first[t[0]])
    assert (results[t[1]].status, results[t[1]].policy_no) == ("UPDATED", first[t[1]])
    assert (results[t[2]].status, results[t[2]].policy_no) == ("EXITED", first[t[2]])
    assert results[t[7]].error.code == results[t[8]].error.code == "NOT_ENROLLED"
    counts = client.read_personnel_results(submission.list_id).counts
    assert counts == {"REJECTED": 3, "UPDATED": 1, "EXITED": 1}


def test_the_same_person_twice_in_one_list_is_rejected_once(client, contract):
    submission = client.submit_personnel(contract.contract_no, PERIOD, [person(1), person(1, action="UPDATE")])
    client.send_personnel_to_insurer(submission.list_id)
    wait_until(lambda: client.read_personnel_results(submission.list_id).state == "COMPLETED", what="insurer")
    statuses = sorted((r.status, r.error.code if r.error else None) for r in client.iter_personnel_results(submission.list_id))
    assert statuses == [("ENROLLED", None), ("REJECTED", "DUPLICATE_PERSON")]


def test_a_payment_in_batches_is_one_payment_whose_total_is_the_sum(client, contract, sim):
    policies = enrol(client, contract.contract_no, people(230))
    items = items_for(policies)
    submission = client.submit_payment(contract.contract_no, PERIOD, "REGULAR", WAGE_DAY, items)
    expected = sum((i.amount for i in items), Decimal("0"))
    assert (submission.total, submission.items, submission.batches, submission.adopted) == (expected, 230, 3, False)
    [payment] = sim.state()["payments"]
    assert (payment["items"], Decimal(payment["total"]), payment["state"]) == (230, expected, "RECEIVED")
    assert client.send_payment_to_insurer(submission.payment_id).state == "SENT"
    wait_until(lambda: client.read_payment(submission.payment_id, limit=1).state == "TRANSFERRED", what="transfer")
    page = client.read_payment(submission.payment_id)
    assert (page.total, page.accepted_total, page.control_total, page.wage_paid_on) == (expected, expected, expected, WAGE_DAY)
    results = list(client.iter_payment_items(submission.payment_id))
    assert len(results) == 230 and {r.status for r in results} == {"ACCEPTED"}
    assert sum(r.amount for r in results) == expected
    assert all(isinstance(r.amount, Decimal) for r in results)


def test_payment_items_are_checked_against_policies(client, contract, sim):
    policies = enrol(client, contract.contract_no, people(4))
    t = sorted(policies)
    sim.event(contract.contract_no, "OPTED_OUT", t[1], effective_on=WAGE_DAY.isoformat())  # no deduction from that wage
    items = [
        PaymentItem(tckn=t[0], policy_no=policies[t[0]], amount=Decimal("100.00")),
        PaymentItem(tckn=t[1], policy_no=policies[t[1]], amount=Decimal("200.00")),  # opted out
        PaymentItem(tckn=t[2], policy_no="AGS999999999", amount=Decimal("300.00")),  # wrong policy
        PaymentItem(tckn=t[3], policy_no=policies[t[3]], amount=Decimal("400.00")),
        PaymentItem(tckn=t[3], policy_no=policies[t[3]], amount=Decimal("0.50")),  # same person twice
    ]
    submission = client.submit_payment(contract.contract_no, PERIOD, "REGULAR", WAGE_DAY, items)
    client.send_payment_to_insurer(submission.payment_id)
    wait_until(lambda: client.read_payment(submission.payment_id).state == "TRANSFERRED", what="transfer")
    page = client.read_payment(submission.payment_id)
    assert (page.total, page.accepted_total) == (Decimal("1000.50"), Decimal("500.00"))
    codes = sorted(r.error.code for r in page.items if r.error)
    assert codes == ["DUPLICATE_ITEM", "POLICY_INACTIVE", "POLICY_NOT_FOUND"]


@pytest.mark.parametrize(("stop", "effective", "status"), [
    ("OPTED_OUT", WAGE_DAY + timedelta(days=1), "ACCEPTED"), ("OPTED_OUT", WAGE_DAY, "REJECTED"),
    ("PAUSED", WAGE_DAY + timedelta(days=1), "ACCEPTED"), ("PAUSED", WAGE_DAY - timedelta(days=1), "REJECTED"),
])  # fmt: skip
def test_the_insurer_takes_the_deduction_of_a_wage_paid_before_a_stop_took_effect(client, contract, sim, stop, effective, status):
    policies = enrol(client, contract.contract_no, people(1))
    (tckn_, policy_no), = policies.items()
    sim.event(contract.contract_no, stop, tckn_, effective_on=effective.isoformat())
    submission = client.submit_payment(contract.contract_no, PERIOD, "REGULAR", WAGE_DAY,
                                       [PaymentItem(tckn=tckn_, policy_no=policy_no, amount=Decimal("100.00"))])  # fmt: skip
    client.send_payment_to_insurer(submission.payment_id)
    wait_until(lambda: client.read_payment(submission.payment_id).state in ("TRANSFERRED", "REJECTED"), what="the insurer's answer")
    (item,) = client.read_payment(submission.payment_id).items
    assert item.status == status


def test_a_payment_nobody_can_take_is_rejected_and_frees_the_period(client, contract, sim):
    items = [PaymentItem(tckn=tckn(1), policy_no="AGS000000404", amount=Decimal("10"))]
    first = client.submit_payment(contract.contract_no, PERIOD, "REGULAR", WAGE_DAY, items)
    client.send_payment_to_insurer(first.payment_id)
    wait_until(lambda: client.read_payment(first.payment_id).state == "REJECTED", what="rejection")
    assert client.read_payment(first.payment_id).accepted_total == Decimal("0")
    policies = enrol(client, contract.contract_no, [person(1)])
    second = client.submit_payment(contract.contract_no, PERIOD, "REGULAR", WAGE_DAY, items_for(policies))
    assert second.payment_id != first.payment_id


def test_supplementary_payments_may_repeat_regular_ones_may_not(client, contract, sim):
    policies = enrol(client, contract.contract_no, people(3))
    regular = client.submit_payment(contract.contract_no, PERIOD, "REGULAR", WAGE_DAY, items_for(policies))
    extra = [PaymentItem(tckn=t, policy_no=p, amount=Decimal("12.34")) for t, p in policies.items()]
    one = client.submit_payment(contract.contract_no, PERIOD, "SUPPLEMENTARY", WAGE_DAY, extra)
    two = client.submit_payment(contract.contract_no, PERIOD, "SUPPLEMENTARY", date(2026, 5, 28), extra)
    assert len({regular.payment_id, one.payment_id, two.payment_id}) == 3
    other = [PaymentItem(tckn=t, policy_no=p, amount=Decimal("1.00")) for t, p in policies.items()]
    with pytest.raises(PaymentConflict) as conflict:
        client.submit_payment(contract.contract_no, PERIOD, "REGULAR", WAGE_DAY, other)
    assert conflict.value.existing_payment_id == regular.payment_id
    assert "Nothing was sent" in str(conflict.value) and "cancelled on DES" in str(conflict.value)
    assert [p["kind"] for p in sim.state()["payments"]] == ["REGULAR", "SUPPLEMENTARY", "SUPPLEMENTARY"]


def test_duplicate_period_with_identical_content_is_adopted(client, contract, sim, settings, sqlite_ledger):
    policies = enrol(client, contract.contract_no, people(120))
    items = items_for(policies)
    original = client.submit_payment(contract.contract_no, PERIOD, "REGULAR", WAGE_DAY, items)
    # Another batch size means other requests and other keys for the same money: DES answers
    # DUPLICATE_PERIOD, and the client checks item by item before adopting.
    with DesClient(settings.with_(batch_size=50), ledger=sqlite_ledger) as other:
        adopted = other.submit_payment(contract.contract_no, PERIOD, "REGULAR", WAGE_DAY, items)
    assert (adopted.adopted, adopted.payment_id, adopted.total) == (True, original.payment_id, original.total)
    assert len(sim.state()["payments"]) == 1
    with DesClient(settings.with_(batch_size=50), ledger=sqlite_ledger) as rerun:
        before = sim.counters()["api_requests"]
        again = rerun.submit_payment(contract.contract_no, PERIOD, "REGULAR", WAGE_DAY, items)
    assert (again.adopted, again.reattached, again.payment_id) == (True, True, original.payment_id)
    assert sim.counters()["api_requests"] == before  # the ledger already knew
    rows = sqlite_ledger.find(contract.contract_no, period=PERIOD)
    assert {(r.kind, r.state, r.des_id) for r in rows} == {
        ("payment", "adopted", original.payment_id),
        ("payment_batch", "adopted", original.payment_id),
    }


def test_duplicate_period_with_one_cent_of_difference_stops_for_a_human(client, contract, sim, settings, sqlite_ledger):
    policies = enrol(client, contract.contract_no, people(30))
    items = items_for(policies)
    original = client.submit_payment(contract.contract_no, PERIOD, "REGULAR", WAGE_DAY, items)
    changed = [*items[:-1], PaymentItem(tckn=items[-1].tckn, policy_no=items[-1].policy_no, amount=items[-1].amount + Decimal("0.01"))]
    with DesClient(settings, ledger=sqlite_ledger) as other, pytest.raises(PaymentConflict) as conflict:
        other.submit_payment(contract.contract_no, PERIOD, "REGULAR", WAGE_DAY, changed)
    assert conflict.value.existing_payment_id == original.payment_id
    [row] = sqlite_ledger.find(contract.contract_no, kind="payment")
    assert (row.state, row.des_id) == ("conflict", None)
    assert original.payment_id in row.last_error
    assert tckn(0) not in str(conflict.value) and tckn(0) not in row.last_error
    assert len(sim.state()["payments"]) == 1


def test_events_are_read_after_a_cursor(client, contract, sim):
    policies = enrol(client, contract.contract_no, people(3))
    t = sorted(policies)
    for kind, who in (("OPTED_OUT", t[0]), ("PAUSED", t[1]), ("RESUMED", t[1]), ("LEFT", t[2]), ("CANCELLED", t[0])):
        sim.event(contract.contract_no, kind, who, effective_on="2026-05-10", notified_on="2026-05-12")
    first = client.read_events(contract.contract_no, limit=2)
    assert [e.type for e in first.events] == ["OPTED_OUT", "PAUSED"]
    assert first.events[0].policy_no == policies[t[0]] and first.events[0].effective_on == date(2026, 5, 10)
    rest = client.read_events(contract.contract_no, after=first.next_cursor)
    assert [e.type for e in rest.events] == ["RESUMED", "LEFT", "CANCELLED"]
    empty = client.read_events(contract.contract_no, after=rest.next_cursor)
    assert (empty.events, empty.next_cursor) == ((), rest.next_cursor)
    assert len({e.id for e in first.events + rest.events}) == 5
    sim.event(contract.contract_no, "RESUMED", t[0])
    assert [e.type for e in client.read_events(contract.contract_no, after=rest.next_cursor).events] == ["RESUMED"]


def test_an_expired_token_is_renewed_once_and_the_call_goes_through(client, contract, sim):
    assert client.transport.tokens_fetched == 1
    sim.expire_tokens()
    assert client.get_contract(contract.contract_no).contract_no == contract.contract_no
    assert client.transport.tokens_fetched == 2
    assert sim.state()["tokens_issued"] == 2


def test_short_lived_tokens_are_renewed_and_calls_keep_working(contract, sim, settings):
    sim.settings(token_ttl=0.2)
    with DesClient(settings) as client:
        wait_until(lambda: client.get_contract(contract.contract_no) and client.transport.tokens_fetched >= 3, what="renewals")


def test_wrong_credentials_are_a_clear_non_retryable_error(sim, settings):
    with DesClient(settings.with_(password="pw-0xDEADBEEF")) as client, pytest.raises(DesAuthError) as refused:
        client.get_contract("X")
    assert (refused.value.code, refused.value.retryable) == ("INVALID_CREDENTIALS", False)
    assert sim.counters()["api_requests"] == 1  # not retried
    assert "0xDEADBEEF" not in str(refused.value) + repr(client)


def test_a_token_refused_twice_is_not_retried_forever(sim, settings, contract, client):
    # The password changes on DES while the client runs: the token expires, the fresh one is refused.
    sim.customer(settings.customer_no, settings.tckn, "changed-on-des")
    sim.expire_tokens()
    before = sim.counters()["api_requests"]
    with pytest.raises(DesAuthError) as refused:
        client.get_contract(contract.contract_no)
    assert refused.value.code == "INVALID_CREDENTIALS"
    assert sim.counters()["api_requests"] - before == 2  # the refused call and one token request


def test_business_errors_are_not_retried(client, contract, sim):
    before = sim.counters()["api_requests"]
    with pytest.raises(DesApiError) as missing:
        client.read_payment("PAY-NOPE")
    assert (missing.value.status, missing.value.code, missing.value.retryable) == (404, "PAYMENT_NOT_FOUND", False)
    assert sim.counters()["api_requests"] - before == 1


def test_money_is_decimal_never_float():
    with pytest.raises(ValueError, match="never float"):
        PaymentItem(tckn=tckn(1), policy_no="P", amount=12.5)
    with pytest.raises(ValueError, match="two decimals"):
        PaymentItem(tckn=tckn(1), policy_no="P", amount=Decimal("1.005"))
    assert PaymentItem(tckn=tckn(1), policy_no="P", amount="7.5").amount == Decimal("7.50")
    assert PaymentItem(tckn=tckn(1), policy_no="P", amount=7).model_dump_json().count('"7.00"') == 1


def test_person_data_is_masked_in_repr_and_validation_errors():
    someone = person(3)
    shown = repr(someone) + str(someone)
    assert someone.tckn not in shown and someone.first_name not in shown and someone.mobile not in shown
    assert str(someone.birth_date) not in shown
    with pytest.raises(ValueError) as invalid:
        Person(**{**someone.model_dump(), "tckn": "0" + someone.tckn[1:]})
    assert someone.tckn[1:] not in str(invalid.value)


def test_an_empty_list_or_payment_is_refused_before_sending(client, contract, sim):
    with pytest.raises(ValueError):
        client.submit_personnel(contract.contract_no, PERIOD, [])
    with pytest.raises(ValueError):
        client.submit_payment(contract.contract_no, PERIOD, "REGULAR", WAGE_DAY, [])
    with pytest.raises(ValueError):
        client.submit_payment(contract.contract_no, PERIOD, "REGULAR", WAGE_DAY, [PaymentItem(tckn=tckn(1), policy_no="P", amount="0")])
    assert sim.state()["personnel_lists"] == [] and sim.state()["payments"] == []


def test_amounts_travel_as_decimal_strings(client, contract, answers):
    policies = enrol(client, contract.contract_no, [person(1)])
    item = PaymentItem(tckn=tckn(1), policy_no=policies[tckn(1)], amount=Decimal("1234.5"))
    client.submit_payment(contract.contract_no, PERIOD, "REGULAR", WAGE_DAY, [item])
    method, path, status, answer, request = next(a for a in answers if a[0] == "POST" and a[1].endswith("/payments"))
    sent = json.loads(request)
    assert (sent["items"][0]["amount"], sent["control_total"], answer["total"]) == ("1234.50", "1234.50", "1234.50")
