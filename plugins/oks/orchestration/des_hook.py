"""The one place where an Airflow connection becomes a DES client (the providers' hook pattern).

``des_default`` (conn type ``oks_des``): host = the DES URL (``https://des.example``, or a bare host
with schema and port), login = the customer number (MHN), password, extra ``{"tckn": "…"}`` plus any
tuning field of :class:`~oks.des.settings.DesSettings` (``batch_size``, ``read_timeout``, …). The
insurers' web-service credentials come from ``oks_ws_<contract>`` (else ``oks_ws_default``): login =
user, password, extra ``client_id`` / ``client_secret`` (Anadolu Hayat).

:meth:`DesHook.get_client` gives the blocking :class:`~oks.des.client.DesClient` (tasks, poke mode);
:meth:`DesHook.get_async_client` its async twin for the triggerer, where the connection is read
with Airflow's async lookup so nothing blocks the event loop.
"""

from __future__ import annotations

import re
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseHook

from oks.des.settings import TUNABLE, DesSettings

if TYPE_CHECKING:
    from oks.des.async_client import AsyncDesClient
    from oks.des.client import DesClient
    from oks.des.ledger import Ledger
    from oks.des.models import WsCredentials

__all__ = ["DesHook", "settings_from_connection", "ws_credentials_from_connection", "ws_connection_id"]


def _base_url(conn: Any) -> str:
    host = (conn.host or "").strip()
    if not host:
        raise ValueError(f"connection {conn.conn_id!r}: host (the DES URL) is empty")
    if "://" in host:
        url = host
    else:
        scheme = (conn.schema or "").strip() or "https"
        url = f"{scheme}://{host}"
    if conn.port and url.count(":") < 2:
        url = f"{url.rstrip('/')}:{conn.port}"
    return url


def settings_from_connection(conn: Any, **overrides: Any) -> DesSettings:
    """:class:`DesSettings` from a connection's fields (module docstring); ``overrides`` win over
    the extra. Errors name the missing or unknown field, never a value."""
    extra = conn.extra_dejson or {}
    tckn = str(extra.get("tckn") or "").strip()
    if not conn.login or not conn.password or not tckn:
        missing = [n for n, v in (("login (MHN)", conn.login), ("password", conn.password), ("extra.tckn", tckn)) if not v]
        raise ValueError(f"connection {conn.conn_id!r}: missing {', '.join(missing)}")
    unknown = sorted(set(extra) - set(TUNABLE) - {"tckn"})
    if unknown:
        raise ValueError(f"connection {conn.conn_id!r}: unknown extra field(s) {', '.join(unknown)}")
    tuning = {name: extra[name] for name in TUNABLE if name in extra}
    return DesSettings(
        base_url=_base_url(conn),
        customer_no=str(conn.login).strip(),
        tckn=tckn,
        password=conn.password,
        **{**tuning, **overrides},
    )


def ws_credentials_from_connection(conn: Any, insurer: str | None = None) -> WsCredentials:
    """An insurer's WS credentials from a connection's fields; with ``insurer``, checks that every
    field that insurer needs is there."""
    from oks.des.models import WsCredentials

    extra = conn.extra_dejson or {}
    if not conn.login or not conn.password:
        raise ValueError(f"connection {conn.conn_id!r}: WS credentials need login (user) and password")
    credentials = WsCredentials(
        user=conn.login, password=conn.password, client_id=extra.get("client_id"), client_secret=extra.get("client_secret")
    )
    if insurer is not None:
        missing = credentials.missing_for(insurer)
        if missing:
            raise ValueError(f"connection {conn.conn_id!r}: {insurer} needs {', '.join(missing)}")
    return credentials


def ws_connection_id(contract_no: str) -> str:
    return "oks_ws_" + re.sub(r"[^a-z0-9]+", "_", contract_no.lower()).strip("_")


class DesHook(BaseHook):
    """DES (İŞNET Dijital Eko Sistem) through the ``des_conn_id`` connection.

    :param des_conn_id: the DES connection; default ``des_default``.
    :param overrides: :class:`DesSettings` fields that win over the connection (tests, tuning).
    """

    conn_name_attr = "des_conn_id"
    default_conn_name = "des_default"
    conn_type = "oks_des"
    hook_name = "OKS DES (İŞNET Dijital Eko Sistem)"

    def __init__(self, des_conn_id: str = default_conn_name, **overrides: Any) -> None:
        super().__init__()
        self.des_conn_id = des_conn_id
        self.overrides = overrides

    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        return {
            "hidden_fields": [],
            "relabeling": {"host": "DES URL", "login": "Customer number (MHN)", "password": "Password"},
            "placeholders": {"host": "https://des.example", "extra": '{"tckn": "…", "batch_size": 1000}'},
        }

    def get_settings(self) -> DesSettings:
        return settings_from_connection(self.get_connection(self.des_conn_id), **self.overrides)

    async def aget_settings(self) -> DesSettings:
        """The settings read with Airflow's async lookup: ``extra_dejson`` would mask secrets with a
        blocking call to the supervisor — a deadlock on the triggerer's loop."""
        from airflow.providers.common.compat.connection import get_async_connection, get_async_extra_dejson

        conn = await get_async_connection(self.des_conn_id)
        fields = SimpleNamespace(
            conn_id=self.des_conn_id, host=conn.host, schema=conn.schema, port=conn.port,
            login=conn.login, password=conn.password, extra_dejson=await get_async_extra_dejson(conn),
        )  # fmt: skip
        return settings_from_connection(fields, **self.overrides)

    def get_conn(self) -> DesClient:
        return self.get_client()

    def get_client(self, *, ledger: Ledger | None = None) -> DesClient:
        """The blocking client; with ``ledger``, every creating request is recorded in the store."""
        from oks.des.client import DesClient

        return DesClient(self.get_settings(), ledger=ledger)

    async def get_async_client(self) -> AsyncDesClient:
        from oks.des.async_client import AsyncDesClient

        return AsyncDesClient(await self.aget_settings())

    def test_connection(self) -> tuple[bool, str]:
        """Airflow's "Test" button: DES accepts these credentials (a token is fetched, nothing sent)."""
        from oks.des.errors import DesError
        from oks.des.responses import TransientError

        try:
            with self.get_client() as client:
                client.transport.authenticate()
        except (ValueError, DesError, TransientError) as exc:
            return False, str(exc)
        return True, f"DES accepted the credentials of customer {client.settings.customer_no}"

    def ws_credentials_for(self, contract_no: str, insurer: str) -> WsCredentials | None:
        """The insurer's web-service credentials for a contract: ``oks_ws_<contract>``, else
        ``oks_ws_default``; None when neither connection exists."""
        from oks.orchestration.connections import connection_or_none

        for conn_id in (ws_connection_id(contract_no), "oks_ws_default"):
            conn = connection_or_none(conn_id)
            if conn is not None:
                return ws_credentials_from_connection(conn, insurer).only_for(insurer)
        return None
