"""Every error code of the contract, provoked on the simulator and seen by the client (or, for
requests the client never makes, by plain HTTP): status, code, and the JSON error shape."""

from __future__ import annotations

from datetime import date

import pytest

from oks.des.client import DesClient
from oks.des.errors import DesApiError, DesUnavailable
from oks.des.models import ContractRegistration
from oks.des.simulator.des import PERSON_ERRORS

from .contract import error_codes, person_error_codes
from .simulator import CONTRACT, PERIOD, error, person, person_json


def _client_error(call) -> tuple[int, str]:
    with pytest.raises(DesApiError) as raised:
        call()
    assert raised.value.retryable is False
    return raised.value.status, raised.value.code


def validation_error(ctx):
    response = ctx.api("POST", "/contracts/C-1/personnel-lists", key="k1", json={"period": "2026-13", "people": [person_json(1)]})
    assert response.json()["error"]["details"]["field"] == "period"
    return error(response)


def idempotency_key_missing(ctx):
    return error(ctx.api("POST", "/contracts/C-1/personnel-lists", json={"period": PERIOD, "people": [person_json(1)]}))


def invalid_credentials(ctx):
    with DesClient(ctx.settings.with_(password="not-it")) as other:
        return _client_error(lambda: other.get_contract("C-1"))


def unauthorized(ctx):
    assert error(ctx.api("GET", "/contracts/C-1", token="made-up")) == (401, "UNAUTHORIZED")
    return error(ctx.api("GET", "/contracts/C-1", token=None))


def token_expired(ctx):
    ctx.sim.expire_tokens()
    return error(ctx.api("GET", "/contracts/C-1"))


def not_found(ctx):
    return error(ctx.api("GET", "/nothing-here"))


def method_not_allowed(ctx):
    return error(ctx.api("DELETE", "/contracts/C-1"))


def contract_not_found(ctx):
    return _client_error(lambda: ctx.client.get_contract("NOPE-1"))


def list_not_found(ctx):
    return _client_error(lambda: ctx.client.read_personnel_results("PL-NOPE"))


def payment_not_found(ctx):
    return _client_error(lambda: ctx.client.send_payment_to_insurer("PAY-NOPE"))


def request_not_found(ctx):
    return _client_error(lambda: ctx.client.read_request("RQ-NOPE"))


def contract_mismatch(ctx):
    ctx.client.register_contract(CONTRACT)
    changed = CONTRACT.model_copy(update={"starts_on": date(2026, 2, 1)})
    return _client_error(lambda: ctx.client.register_contract(changed))


def contract_not_active(ctx):
    ctx.client.register_contract(CONTRACT)
    return _client_error(lambda: ctx.client.submit_personnel(CONTRACT.contract_no, "2025-12", [person(1)]))


def duplicate_period(ctx):
    body = {"period": PERIOD, "kind": "REGULAR", "wage_paid_on": "2026-05-25", "items": [{"tckn": person(1).tckn, "policy_no": "P1", "amount": "10.00"}]}
    first = ctx.api("POST", "/contracts/C-1/payments", key="pay-1", json=body)
    second = ctx.api("POST", "/contracts/C-1/payments", key="pay-2", json={**body, "items": [{**body["items"][0], "amount": "11.00"}]})
    assert second.json()["error"]["details"]["payment_id"] == first.json()["payment_id"]
    assert first.json()["payment_id"] in second.json()["error"]["message"]
    return error(second)


def batch_conflict(ctx):
    created = ctx.api("POST", "/contracts/C-1/personnel-lists", key="l1", json={"period": PERIOD, "people": [person_json(1)], "batch_count": 2, "person_count": 2})
    list_id = created.json()["list_id"]
    assert ctx.api("POST", f"/personnel-lists/{list_id}/batches", key="b2", json={"batch_no": 2, "people": [person_json(2)]}).status_code == 201
    again = ctx.api("POST", f"/personnel-lists/{list_id}/batches", key="b2-other", json={"batch_no": 2, "people": [person_json(3)]})
    assert again.json()["error"]["details"]["batch_no"] == 2
    return error(again)


def list_incomplete(ctx):
    created = ctx.api("POST", "/contracts/C-1/personnel-lists", key="l1", json={"period": PERIOD, "people": [person_json(1)], "batch_count": 3, "person_count": 3})
    return error(ctx.api("POST", f"/personnel-lists/{created.json()['list_id']}/send-to-insurer"))


def payment_incomplete(ctx):
    body = {
        "period": PERIOD, "kind": "SUPPLEMENTARY", "wage_paid_on": "2026-05-25", "batch_count": 2, "item_count": 2,
        "control_total": "20.00", "items": [{"tckn": person(1).tckn, "policy_no": "P1", "amount": "10.00"}],
    }
    created = ctx.api("POST", "/contracts/C-1/payments", key="p1", json=body)
    return error(ctx.api("POST", f"/payments/{created.json()['payment_id']}/send-to-insurer"))


def ws_credentials_missing(ctx):
    ctx.client.register_contract(CONTRACT)
    submission = ctx.client.submit_personnel(CONTRACT.contract_no, PERIOD, [person(1)])
    return _client_error(lambda: ctx.client.send_personnel_to_insurer(submission.list_id))


def idempotency_key_reused(ctx):
    body = {"period": PERIOD, "people": [person_json(1)]}
    created = ctx.api("POST", "/contracts/C-1/personnel-lists", key="same", json=body)
    other_body = ctx.api("POST", "/contracts/C-1/personnel-lists", key="same", json={**body, "people": [person_json(2)]})
    other_endpoint = ctx.api(
        "POST", "/contracts/C-1/payments", key="same",
        json={"period": PERIOD, "kind": "REGULAR", "wage_paid_on": "2026-05-25", "items": [{"tckn": person(1).tckn, "policy_no": "P", "amount": "1"}]},
    )
    assert error(other_endpoint) == (422, "IDEMPOTENCY_KEY_REUSED")
    assert other_body.json()["error"]["details"]["resource_id"] == created.json()["list_id"]
    return error(other_body)


def control_total_mismatch(ctx):
    body = {
        "period": PERIOD, "kind": "REGULAR", "wage_paid_on": "2026-05-25", "control_total": "99.99",
        "items": [{"tckn": person(1).tckn, "policy_no": "P1", "amount": "10.00"}],
    }
    created = ctx.api("POST", "/contracts/C-1/payments", key="p1", json=body)
    return error(ctx.api("POST", f"/payments/{created.json()['payment_id']}/send-to-insurer"))


def rate_limited(ctx):
    ctx.sim.faults(rate_limit_every=2, retry_after=30)
    response = next(r for r in (ctx.api("GET", "/contracts/C-1") for _ in range(3)) if r.status_code == 429)
    assert response.headers["Retry-After"] == "30"
    early = ctx.api("GET", "/contracts/C-1")  # inside the window: refused again, counted as early
    assert error(early) == (429, "RATE_LIMITED") and 0 < float(early.headers["Retry-After"]) <= 30
    assert ctx.sim.counters()["early_retries"] == 1
    return error(response)


def _server_error(code: str):
    def provoke(ctx):
        ctx.sim.faults(error_rate=1.0, seed=7)
        for _ in range(200):
            response = ctx.api("GET", "/contracts/C-1")
            if response.json()["error"]["code"] == code:
                return error(response)
        raise AssertionError(f"{code} never injected")

    return provoke


def service_unavailable(ctx):
    ctx.sim.faults(outage_for=600)
    with pytest.raises(DesUnavailable) as down:
        ctx.client.get_contract("C-1")
    assert "503 SERVICE_UNAVAILABLE" in down.value.last_error
    return error(ctx.api("GET", "/contracts/C-1"))


SCENARIOS = {
    "VALIDATION_ERROR": (validation_error, 400),
    "IDEMPOTENCY_KEY_MISSING": (idempotency_key_missing, 400),
    "INVALID_CREDENTIALS": (invalid_credentials, 401),
    "UNAUTHORIZED": (unauthorized, 401),
    "TOKEN_EXPIRED": (token_expired, 401),
    "NOT_FOUND": (not_found, 404),
    "METHOD_NOT_ALLOWED": (method_not_allowed, 405),
    "CONTRACT_NOT_FOUND": (contract_not_found, 404),
    "LIST_NOT_FOUND": (list_not_found, 404),
    "PAYMENT_NOT_FOUND": (payment_not_found, 404),
    "REQUEST_NOT_FOUND": (request_not_found, 404),
    "CONTRACT_MISMATCH": (contract_mismatch, 409),
    "CONTRACT_NOT_ACTIVE": (contract_not_active, 409),
    "DUPLICATE_PERIOD": (duplicate_period, 409),
    "BATCH_CONFLICT": (batch_conflict, 409),
    "LIST_INCOMPLETE": (list_incomplete, 409),
    "PAYMENT_INCOMPLETE": (payment_incomplete, 409),
    "WS_CREDENTIALS_MISSING": (ws_credentials_missing, 412),
    "IDEMPOTENCY_KEY_REUSED": (idempotency_key_reused, 422),
    "CONTROL_TOTAL_MISMATCH": (control_total_mismatch, 422),
    "RATE_LIMITED": (rate_limited, 429),
    "INTERNAL_ERROR": (_server_error("INTERNAL_ERROR"), 500),
    "BAD_GATEWAY": (_server_error("BAD_GATEWAY"), 502),
    "SERVICE_UNAVAILABLE": (service_unavailable, 503),
    "GATEWAY_TIMEOUT": (_server_error("GATEWAY_TIMEOUT"), 504),
}


def test_every_documented_error_code_has_a_scenario():
    assert set(SCENARIOS) == error_codes()


def test_every_per_person_code_is_documented():
    assert set(PERSON_ERRORS) == person_error_codes()


class Context:
    def __init__(self, api, client, sim, settings):
        self.api, self.client, self.sim, self.settings = api, client, sim, settings


@pytest.mark.parametrize("code", sorted(SCENARIOS))
def test_error_code(code, api, raw_contract, sim, settings, answers):
    with DesClient(settings.with_(max_attempts=2)) as client:
        from .contract import response_hook

        client.session.hooks["response"].append(response_hook(answers))
        provoke, status = SCENARIOS[code]
        assert provoke(Context(api, client, sim, settings)) == (status, code)


def test_an_anadolu_contract_registered_twice_with_other_dates_conflicts(client):
    anadolu = ContractRegistration(contract_no="AH-1", insurer="ANADOLU", starts_on=date(2026, 1, 1), employer_vkn="1234567890")
    client.register_contract(anadolu)
    with pytest.raises(DesApiError) as mismatch:
        client.register_contract(anadolu.model_copy(update={"ends_on": date(2026, 12, 31)}))
    assert mismatch.value.code == "CONTRACT_MISMATCH"
