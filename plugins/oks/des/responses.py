"""What a DES answer means, for the blocking and the async transport alike.

One reading of the contract's answers (``openapi.yaml``): which status is worth another attempt
(5xx, 429 with its ``Retry-After``), which is a business refusal (other 4xx, a 401 for credentials),
what a token answer and a success body must hold. Both transports hand their responses here — a
``requests.Response`` or an ``httpx.Response``, which agree on ``status_code``, ``headers`` and
``json()`` — so the two can never disagree on what DES said.
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from oks.des.errors import DesApiError, DesAuthError
from oks.des.settings import DesSettings
from oks.privacy import redact

__all__ = ["TOKEN_PATH", "TransientError", "Answer", "Token", "parse_retry_after", "error_of", "raise_for",
           "token_body", "token_of", "answer_of", "stale_token"]

TOKEN_PATH = "/api/v1/auth/token"


class Response(Protocol):
    status_code: int
    headers: Any  # requests' CaseInsensitiveDict, httpx's Headers: both read like a Mapping

    def json(self) -> Any: ...


class TransientError(Exception):
    """A failure worth another attempt (the transports' own signal; never leaves their callers)."""

    def __init__(self, description: str, *, status: int | None = None, retry_after: float | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.retry_after = retry_after


@dataclass(frozen=True)
class Answer:
    status: int
    body: dict
    replayed: bool = False
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Token:
    """A bearer token and the monotonic time after which it is renewed rather than used."""

    value: str
    renew_at: float

    def usable(self) -> bool:
        return time.monotonic() < self.renew_at


def parse_retry_after(value: str | None) -> float | None:
    """Delay-seconds (fractions accepted) or an HTTP-date, as seconds from now; None if absent or unreadable."""
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(when.timestamp() - time.time(), 0.0)


def _reason(response: Response) -> str:
    return str(getattr(response, "reason", None) or getattr(response, "reason_phrase", None) or "")


def error_of(response: Response) -> tuple[str, str, dict]:
    """The contract's error (code, message, details); ``HTTP_<status>`` when the body is not one."""
    try:
        error = response.json()["error"]
        return str(error["code"]), str(error.get("message", "")), dict(error.get("details") or {})
    except (ValueError, KeyError, TypeError):
        return f"HTTP_{response.status_code}", _reason(response), {}


def raise_for(response: Response, operation: str) -> None:
    """Raise what a non-2xx answer means: :class:`TransientError` (5xx, 429), :class:`DesAuthError`
    (401), :class:`DesApiError` (any other refusal)."""
    status = response.status_code
    code, message, details = error_of(response)
    if status == 429:
        raise TransientError(f"429 {code}", status=429, retry_after=parse_retry_after(response.headers.get("Retry-After")))
    if status >= 500:
        raise TransientError(f"{status} {code}: {redact(message, 120)}", status=status)
    if status == 401:
        raise DesAuthError(operation, status, code, message, details)
    raise DesApiError(operation, status, code, message, details)


def token_body(settings: DesSettings) -> dict[str, str]:
    return {"customer_no": settings.customer_no, "tckn": settings.tckn, "password": settings.password}


def token_of(response: Response, settings: DesSettings) -> Token:
    """The token from an answer to :data:`TOKEN_PATH`, renewed ``token_refresh_margin`` before DES
    says it expires (at half its life when that is shorter); refusals raise as :func:`raise_for`."""
    if response.status_code != 200:
        raise_for(response, "authentication")
    try:
        answer = response.json()
        value, lifetime = str(answer["access_token"]), float(answer["expires_in"])
    except (ValueError, KeyError, TypeError):
        raise TransientError("DES answered the token request with a malformed body") from None
    return Token(value, time.monotonic() + max(lifetime - settings.token_refresh_margin, lifetime / 2))


def stale_token(response: Response, renewed_already: bool) -> bool:
    """A 401 on a call made with a token: expired or revoked — worth one new token and one more try;
    a second 401 is a real refusal."""
    return response.status_code == 401 and not renewed_already


def answer_of(response: Response, operation: str) -> Answer:
    """A 2xx answer as an :class:`Answer`; anything else raises as :func:`raise_for`."""
    if not 200 <= response.status_code < 300:
        raise_for(response, operation)
    try:
        body = response.json()
    except ValueError:
        raise TransientError(f"{response.status_code} with a body that is not JSON") from None
    replayed = response.headers.get("Idempotent-Replayed", "").lower() == "true"
    return Answer(response.status_code, body, replayed, response.headers)
