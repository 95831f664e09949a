"""DES settings, and secrets and personal data kept out of reprs and logs (the settings from an
Airflow connection: tests/orchestration/test_des_hook.py)."""

from __future__ import annotations

import logging

import pytest

from oks.des.client import DesClient
from oks.des.models import WsCredentials
from oks.des.settings import DesSettings

from .simulator import PASSWORD, PERIOD, WAGE_DAY, enrol, items_for, people


def test_settings_hide_the_password_and_mask_the_tckn():
    s = DesSettings(base_url="https://des.example/", customer_no="123", tckn="17291716060", password="hunter2-secret")
    for text in (repr(s), str(s), repr(DesClient(s))):
        assert "hunter2-secret" not in text and "17291716060" not in text
        assert "172******60" in text
    assert s.base_url == "https://des.example"


@pytest.mark.parametrize(
    "changes",
    [{"base_url": "des.example"}, {"batch_size": 0}, {"batch_size": 5001}, {"max_attempts": 0}, {"read_timeout": 0}],
)
def test_settings_refuse_nonsense(changes):
    base = dict(base_url="http://x", customer_no="1", tckn="17291716060", password="p")
    with pytest.raises(ValueError):
        DesSettings(**{**base, **changes})


def test_nothing_personal_or_secret_reaches_the_logs(client, contract, sim, caplog):
    caplog.set_level(logging.DEBUG)
    persons = people(40)
    policies = enrol(client, contract.contract_no, persons)
    sim.faults(error_rate=0.3, rate_limit_every=5, retry_after=0.01, seed=3)
    submission = client.submit_payment(contract.contract_no, PERIOD, "REGULAR", WAGE_DAY, items_for(policies))
    sim.expire_tokens()
    client.read_payment(submission.payment_id)
    text = caplog.text + "".join(str(r.args) for r in caplog.records)
    assert "retrying in" in text  # the retries were logged…
    assert "DES: REGULAR payment for contract AGS-2026-001" in text
    for p in persons:  # …and no person is in them
        assert p.tckn not in text and p.mobile not in text and p.last_name not in text
    assert PASSWORD not in text and "ws-secret" not in text
    assert client.transport._token.value not in text


def test_an_insurer_is_told_which_ws_fields_it_lacks():
    assert WsCredentials(user="u", password="p").missing_for("ANADOLU") == ["client_id", "client_secret"]
    assert WsCredentials(user="u", password="p").missing_for("AGESA") == []
