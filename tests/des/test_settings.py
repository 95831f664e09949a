"""Settings from Airflow connections, and secrets and personal data kept out of reprs and logs."""

from __future__ import annotations

import json
import logging

import pytest

from oks.des.client import DesClient
from oks.des.models import WsCredentials
from oks.des.settings import DesSettings, settings_from_connection, ws_credentials_from_connection

from .conftest import CONTRACT, PASSWORD, PERIOD, WAGE_DAY, enrol, items_for, people


def connection(**fields):
    from airflow.sdk import Connection

    return Connection(**{"conn_id": "des_default", "conn_type": "http", **fields})


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


def test_settings_from_a_connection_object():
    conn = connection(
        host="https://des.example/api-root", login="1000001", password="pw",
        extra=json.dumps({"tckn": "17291716060", "batch_size": 2000, "read_timeout": 90}),
    )
    s = settings_from_connection(conn, max_attempts=3)
    assert (s.base_url, s.customer_no, s.tckn, s.password) == ("https://des.example/api-root", "1000001", "17291716060", "pw")
    assert (s.batch_size, s.read_timeout, s.max_attempts) == (2000, 90, 3)


def test_a_bare_host_gets_its_schema_and_port():
    conn = connection(host="127.0.0.1", schema="http", port=8765, login="1", password="p", extra='{"tckn": "17291716060"}')
    assert settings_from_connection(conn).base_url == "http://127.0.0.1:8765"


def test_a_connection_without_tckn_or_with_unknown_extra_is_refused_without_showing_secrets():
    with pytest.raises(ValueError, match="extra.tckn") as missing:
        settings_from_connection(connection(host="http://h", login="1", password="s3cr3t-pw", extra="{}"))
    assert "s3cr3t-pw" not in str(missing.value)
    with pytest.raises(ValueError, match="batchsize"):
        settings_from_connection(connection(host="http://h", login="1", password="p", extra='{"tckn": "17291716060", "batchsize": 5}'))


def test_settings_from_the_des_default_connection_through_airflow(monkeypatch, sim):
    uri = {"conn_type": "http", "host": sim.url, "login": "1000001", "password": PASSWORD, "extra": {"tckn": "10000000146"}}
    monkeypatch.setenv("AIRFLOW_CONN_DES_DEFAULT", json.dumps(uri))
    s = settings_from_connection()
    assert (s.base_url, s.customer_no) == (sim.url, "1000001")
    with DesClient(s.with_(max_attempts=2)) as client:
        assert client.register_contract(CONTRACT).contract_no == CONTRACT.contract_no


def test_ws_credentials_from_a_connection_per_contract():
    anadolu = connection(conn_id="des_ws_AH-7", login="ws-user", password="ws-pass", extra=json.dumps({"client_id": "cid", "client_secret": "csecret"}))
    credentials = ws_credentials_from_connection(anadolu, "ANADOLU")
    assert credentials.body() == {"user": "ws-user", "password": "ws-pass", "client_id": "cid", "client_secret": "csecret"}
    assert "ws-pass" not in repr(credentials) and "csecret" not in repr(credentials)
    with pytest.raises(ValueError, match="client_id, client_secret"):
        ws_credentials_from_connection(connection(conn_id="x", login="u", password="p"), "ANADOLU")
    assert ws_credentials_from_connection(connection(conn_id="y", login="u", password="p"), "AGESA").missing_for("AGESA") == []
    assert WsCredentials(user="u", password="p").missing_for("ANADOLU") == ["client_id", "client_secret"]


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
    assert client.transport._token not in text
