"""How to reach DES: a plain settings object, and how to build it from Airflow connections.

The client takes :class:`DesSettings` and nothing from Airflow, so tests hand in the simulator's URL.
In a deployment the settings come from the ``des_default`` connection (host = DES URL, login = the
customer number MHN, password, extra ``{"tckn": ...}`` plus optional tuning keys) and the insurers'
WS credentials from one connection per contract (login, password, extra ``client_id`` and
``client_secret`` for Anadolu Hayat).
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any

from oks.privacy import mask_tckn

DEFAULT_CONN_ID = "des_default"


@dataclass(frozen=True)
class DesSettings:
    """Where DES is, who we are, and how patient to be. The password never shows in ``repr``."""

    base_url: str
    customer_no: str
    tckn: str
    password: str
    connect_timeout: float = 5.0
    read_timeout: float = 60.0
    batch_size: int = 1000  # people or payment items per request
    page_size: int = 1000  # people or items per page when reading results
    max_attempts: int = 6  # per request, the first one included
    retry_budget: float = 300.0  # seconds one request may spend retrying, waits included
    backoff_initial: float = 0.5
    backoff_max: float = 30.0
    pool_size: int = 4  # pooled connections (threads sharing one client)
    token_refresh_margin: float = 30.0  # renew a token this long before DES says it expires

    def __post_init__(self) -> None:
        if not self.base_url.startswith(("http://", "https://")):
            raise ValueError("DES base_url must start with http:// or https://")
        object.__setattr__(self, "base_url", self.base_url.rstrip("/"))
        if not 1 <= self.batch_size <= 5000 or not 1 <= self.page_size <= 5000:
            raise ValueError("batch_size and page_size must be between 1 and 5000 (the contract's limit)")
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        for name in ("connect_timeout", "read_timeout", "retry_budget", "backoff_initial", "backoff_max"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive")

    def __repr__(self) -> str:
        shown = ", ".join(
            f"{f.name}={'***' if f.name == 'password' else mask_tckn(self.tckn) if f.name == 'tckn' else repr(getattr(self, f.name))}"
            for f in fields(self)
        )
        return f"DesSettings({shown})"

    __str__ = __repr__

    def with_(self, **changes: Any) -> DesSettings:
        return replace(self, **changes)


TUNABLE = tuple(f.name for f in fields(DesSettings) if f.name not in {"base_url", "customer_no", "tckn", "password"})


def _connection(conn: Any) -> Any:
    if isinstance(conn, str):
        from airflow.sdk import BaseHook  # Airflow only where a connection is looked up

        return BaseHook.get_connection(conn)
    return conn


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


def settings_from_connection(conn: Any = DEFAULT_CONN_ID, **overrides: Any) -> DesSettings:
    """:class:`DesSettings` from an Airflow connection (its id, or a ``Connection``).

    host: the DES URL (``https://des.example`` or a bare host with schema/port); login: the customer
    number (MHN); password; extra: ``{"tckn": "...", "batch_size": 1000, "read_timeout": 60, ...}``
    (any field of :class:`DesSettings` but the four identities). ``overrides`` win over the extra.
    """
    conn = _connection(conn)
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


def ws_credentials_from_connection(conn: Any, insurer: str | None = None):
    """The insurer's WS credentials for one contract from an Airflow connection (id or ``Connection``):
    login = user, password, extra ``client_id`` / ``client_secret``. With ``insurer``, checks that
    every field that insurer needs is there."""
    from oks.des.models import WsCredentials

    conn = _connection(conn)
    extra = conn.extra_dejson or {}
    if not conn.login or not conn.password:
        raise ValueError(f"connection {conn.conn_id!r}: WS credentials need login (user) and password")
    credentials = WsCredentials(
        user=conn.login,
        password=conn.password,
        client_id=extra.get("client_id"),
        client_secret=extra.get("client_secret"),
    )
    if insurer is not None:
        missing = credentials.missing_for(insurer)
        if missing:
            raise ValueError(f"connection {conn.conn_id!r}: {insurer} needs {', '.join(missing)}")
    return credentials
