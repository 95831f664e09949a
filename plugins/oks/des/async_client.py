"""The DES reads a wait needs, without blocking an event loop: the async twin of the read side of
:class:`oks.des.client.DesClient`.

Only what the triggerer polls — the state of a personnel list or a payment — and only the first
page's header (``limit=1``), so a poll of a 10,000-person list stays one small answer.
"""

from __future__ import annotations

from urllib.parse import quote

from oks.des.async_transport import AsyncDesTransport
from oks.des.responses import TransientError
from oks.des.settings import DesSettings
from oks.des.states import NOUNS

__all__ = ["AsyncDesClient", "RESOURCE_PATHS"]

RESOURCE_PATHS = {"personnel_list": "/api/v1/personnel-lists/{id}", "payment": "/api/v1/payments/{id}"}


class AsyncDesClient:
    """An async context manager over one :class:`AsyncDesTransport`."""

    def __init__(self, settings: DesSettings, *, transport: AsyncDesTransport | None = None) -> None:
        self.settings = settings
        self.transport = transport or AsyncDesTransport(settings)

    async def __aenter__(self) -> AsyncDesClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.transport.aclose()

    @property
    def tokens_fetched(self) -> int:
        return self.transport.tokens_fetched

    async def read_state(self, kind: str, des_id: str) -> str:
        """The state of personnel list or payment ``des_id`` (``kind`` as in :data:`RESOURCE_PATHS`)."""
        path = RESOURCE_PATHS[kind].format(id=quote(des_id, safe=""))
        answer = await self.transport.request("GET", path, params={"offset": 0, "limit": 1}, operation=f"reading {NOUNS[kind]} {des_id}")
        try:
            return str(answer.body["state"])
        except (KeyError, TypeError):
            raise TransientError(f"{answer.status} with a body that has no state") from None
