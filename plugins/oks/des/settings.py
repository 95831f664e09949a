"""How to reach DES: a plain settings object.

The clients take :class:`DesSettings`, so tests hand in the simulator's URL. In a deployment
:class:`oks.orchestration.des_hook.DesHook` builds it from the ``des_default`` connection.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any

from oks.privacy import mask_tckn


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
