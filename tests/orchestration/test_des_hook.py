"""DesHook: the one place an Airflow connection becomes a DES client — its fields read, its errors
naming the field and never a value, the async twin reading the same connection without blocking,
the connection test, and the insurers' WS credentials per contract."""

from __future__ import annotations

import asyncio
import json

import pytest

from oks.des.simulator.server import DEMO_CUSTOMER
from oks.orchestration.des_hook import DesHook, settings_from_connection, ws_connection_id, ws_credentials_from_connection
from tests.des.simulator import CONTRACT, PASSWORD
from tests.des_connection import connection_json


def connection(**fields):
    from airflow.sdk import Connection

    return Connection(**{"conn_id": "des_default", "conn_type": "oks_des", **fields})


def test_the_hook_follows_the_providers_pattern():
    assert (DesHook.conn_name_attr, DesHook.default_conn_name, DesHook.conn_type) == ("des_conn_id", "des_default", "oks_des")
    assert DesHook().des_conn_id == "des_default" and DesHook("des_other").des_conn_id == "des_other"
    assert DesHook.get_ui_field_behaviour()["relabeling"]["login"] == "Customer number (MHN)"


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


def test_the_hook_reads_des_default_through_airflow(monkeypatch, sim):
    uri = {"conn_type": "http", "host": sim.url, "login": "1000001", "password": PASSWORD, "extra": {"tckn": "10000000146"}}
    monkeypatch.setenv("AIRFLOW_CONN_DES_DEFAULT", json.dumps(uri))
    s = DesHook().get_settings()
    assert (s.base_url, s.customer_no) == (sim.url, "1000001")
    with DesHook(max_attempts=2).get_client() as client:
        assert client.settings.max_attempts == 2
        assert client.register_contract(CONTRACT).contract_no == CONTRACT.contract_no


def test_ws_credentials_from_a_connection_per_contract():
    anadolu = connection(conn_id="des_ws_AH-7", login="ws-user", password="ws-pass", extra=json.dumps({"client_id": "cid", "client_secret": "csecret"}))
    credentials = ws_credentials_from_connection(anadolu, "ANADOLU")
    assert credentials.body() == {"user": "ws-user", "password": "ws-pass", "client_id": "cid", "client_secret": "csecret"}
    assert "ws-pass" not in repr(credentials) and "csecret" not in repr(credentials)
    with pytest.raises(ValueError, match="client_id, client_secret"):
        ws_credentials_from_connection(connection(conn_id="x", login="u", password="p"), "ANADOLU")
    assert ws_credentials_from_connection(connection(conn_id="y", login="u", password="p"), "AGESA").missing_for("AGESA") == []


def test_the_async_client_reads_the_same_connection_and_classifies_alike(sim, des_connection):
    from oks.des.errors import DesApiError

    sync = DesHook().get_client()

    async def read(kind, des_id):
        async with await DesHook().get_async_client() as des:
            assert des.settings == DesHook().get_settings()
            return await des.read_state(kind, des_id)

    for kind, des_id in (("payment", "PAY-404"), ("personnel_list", "PL-404")):
        with pytest.raises(DesApiError) as async_refusal:
            asyncio.run(read(kind, des_id))
        with pytest.raises(DesApiError) as sync_refusal:
            (sync.read_payment if kind == "payment" else sync.read_personnel_results)(des_id, limit=1)
        assert (async_refusal.value.status, async_refusal.value.code) == (sync_refusal.value.status, sync_refusal.value.code)
    sync.close()


def test_the_connection_test_fetches_a_token_and_names_a_refusal(monkeypatch, sim, des_connection):
    ok, message = DesHook().test_connection()
    assert ok and DEMO_CUSTOMER.customer_no in message

    monkeypatch.setenv("AIRFLOW_CONN_DES_DEFAULT", connection_json(sim.url).replace(DEMO_CUSTOMER.password, "wrong-password"))
    ok, message = DesHook().test_connection()
    assert not ok and "INVALID_CREDENTIALS" in message and "wrong-password" not in message


def test_ws_credentials_per_contract_else_the_default_else_none(monkeypatch):
    hook = DesHook()
    for name in ("OKS_WS_AH_7", "OKS_WS_DEFAULT"):
        monkeypatch.delenv(f"AIRFLOW_CONN_{name}", raising=False)
    assert ws_connection_id("AH-7") == "oks_ws_ah_7"
    assert hook.ws_credentials_for("AH-7", "AGESA") is None

    monkeypatch.setenv("AIRFLOW_CONN_OKS_WS_DEFAULT", json.dumps({"conn_type": "generic", "login": "d", "password": "dp",
                                                                  "extra": {"client_id": "cid", "client_secret": "cs"}}))  # fmt: skip
    # The default serves several insurers: one that takes no client id is sent none.
    assert hook.ws_credentials_for("AH-7", "AGESA").body() == {"user": "d", "password": "dp"}
    monkeypatch.setenv("AIRFLOW_CONN_OKS_WS_AH_7", json.dumps({"conn_type": "generic", "login": "own", "password": "op"}))
    assert hook.ws_credentials_for("AH-7", "AGESA").body() == {"user": "own", "password": "op"}
    with pytest.raises(ValueError, match="ANADOLU needs client_id, client_secret"):
        hook.ws_credentials_for("AH-7", "ANADOLU")
