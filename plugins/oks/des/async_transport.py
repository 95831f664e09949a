"""HTTP to DES without blocking an event loop: the async twin of :mod:`oks.des.transport`.

It reads DES's answers with the same :mod:`oks.des.responses` as the blocking transport, so both
classify a status alike. It makes **one attempt** per call (a fresh token and one more try after a
401 aside): its caller, the triggerer's wait, polls again later anyway, and a retry loop inside a
poll would only add to the load of a DES that is struggling. :class:`~oks.des.responses.TransientError`
says "no useful answer this time"; :class:`~oks.des.errors.DesApiError` (or ``DesAuthError``) is a
refusal waiting will not fix.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

import httpx

from oks.des.responses import TOKEN_PATH, Answer, Token, TransientError, answer_of, error_of, stale_token, token_body, token_of
from oks.des.settings import DesSettings

__all__ = ["AsyncDesTransport"]

log = logging.getLogger("oks.des")

_USER_AGENT = "oks-pipeline DES client (async)"


class AsyncDesTransport:
    """Requests to one DES, for one customer, on one ``httpx.AsyncClient``. An async context manager."""

    def __init__(self, settings: DesSettings, *, client: httpx.AsyncClient | None = None) -> None:
        self.settings = settings
        self.http = client or httpx.AsyncClient(
            base_url=settings.base_url,
            timeout=httpx.Timeout(settings.read_timeout, connect=settings.connect_timeout),
            headers={"User-Agent": _USER_AGENT, "Accept": "application/json"},
        )
        self._token: Token | None = None
        self.tokens_fetched = 0

    async def aclose(self) -> None:
        await self.http.aclose()

    async def __aenter__(self) -> AsyncDesTransport:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def _send(self, method: str, path: str, *, params: Mapping | None = None, json: object = None,
                    headers: Mapping[str, str] | None = None) -> httpx.Response:  # fmt: skip
        try:
            return await self.http.request(method, path, params=params, json=json, headers=headers)
        except httpx.TimeoutException as exc:
            raise TransientError(f"timeout ({type(exc).__name__})") from None
        except httpx.TransportError as exc:
            raise TransientError(f"connection failed ({type(exc).__name__})") from None

    async def authenticate(self) -> None:
        """Fetch a token now: raises what DES's refusal means."""
        self._token = token_of(await self._send("POST", TOKEN_PATH, json=token_body(self.settings)), self.settings)
        self.tokens_fetched += 1

    async def request(self, method: str, path: str, *, params: Mapping | None = None, operation: str | None = None) -> Answer:
        """One attempt at ``method path``; see the module docstring for what it raises."""
        operation = operation or f"{method} {path}"
        renewed = False
        while True:
            if self._token is None or not self._token.usable():
                await self.authenticate()
            token = self._token.value  # type: ignore[union-attr]
            response = await self._send(method, path, params=params, headers={"Authorization": f"Bearer {token}"})
            if stale_token(response, renewed):
                renewed = True
                self._token = None
                log.info("DES %s: token refused (%s), authenticating again", operation, error_of(response)[0])
                continue
            return answer_of(response, operation)
