"""HTTP to DES: one pooled session, timeouts, bearer tokens, retries with backoff, errors mapped.

Retried (exponential backoff with jitter, tenacity): connection failures, timeouts, 5xx, and 429 —
after exactly the ``Retry-After`` DES asked for. Never retried: other 4xx answers, which are business
errors (:class:`~oks.des.errors.DesApiError`). A 401 gets one fresh token and one more try. When the
retry budget (attempts or seconds) runs out: :class:`~oks.des.errors.DesUnavailable`, which is
retryable by whoever runs the task, because every creating request carries an idempotency key.
"""

from __future__ import annotations

import email.utils
import json
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import requests
from requests.adapters import HTTPAdapter
from tenacity import RetryCallState, RetryError, Retrying, retry_if_exception_type, stop_after_attempt, stop_before_delay
from tenacity.wait import wait_exponential_jitter

from oks.des.errors import DesApiError, DesAuthError, DesUnavailable
from oks.privacy import redact
from oks.des.settings import DesSettings

log = logging.getLogger("oks.des")

_USER_AGENT = "oks-pipeline DES client"


class TransientError(Exception):
    """A failure worth another attempt (the transport's own signal; never leaves this module's callers)."""

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


def _error_of(response: requests.Response) -> tuple[str, str, dict]:
    try:
        error = response.json()["error"]
        return str(error["code"]), str(error.get("message", "")), dict(error.get("details") or {})
    except (ValueError, KeyError, TypeError):
        return f"HTTP_{response.status_code}", response.reason or "", {}


def _new_session(pool_size: int) -> requests.Session:
    session = requests.Session()
    # Retries are ours (with idempotency keys and Retry-After); urllib3 must not retry underneath.
    adapter = HTTPAdapter(pool_connections=1, pool_maxsize=pool_size, max_retries=0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers.update({"User-Agent": _USER_AGENT, "Accept": "application/json"})
    return session


class DesTransport:
    """Requests to one DES, for one customer. Thread-safe: threads may share it (and its pool)."""

    def __init__(
        self,
        settings: DesSettings,
        *,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.settings = settings
        self.session = session or _new_session(settings.pool_size)
        self._sleep = sleep
        self._token_lock = threading.Lock()
        self._token: str | None = None
        self._token_expires_at = 0.0
        self.tokens_fetched = 0
        # Full jitter on top of the exponential step spreads out clients that failed together.
        self._backoff = wait_exponential_jitter(multiplier=settings.backoff_initial, max=settings.backoff_max, jitter=settings.backoff_initial)

    def close(self) -> None:
        self.session.close()

    # --- tokens ----------------------------------------------------------------------------------

    def _bearer(self) -> str:
        with self._token_lock:
            if self._token is None or time.monotonic() >= self._token_expires_at:
                self._fetch_token()
            return self._token  # type: ignore[return-value]

    def _forget_token(self, token: str) -> None:
        with self._token_lock:
            if self._token == token:  # another thread may already have a fresh one
                self._token = None

    def _fetch_token(self) -> None:
        s = self.settings
        body = json.dumps({"customer_no": s.customer_no, "tckn": s.tckn, "password": s.password})
        response = self._send("POST", "/api/v1/auth/token", body.encode(), None, {})
        if response.status_code == 200:
            try:
                answer = response.json()
                token, lifetime = str(answer["access_token"]), float(answer["expires_in"])
            except (ValueError, KeyError, TypeError):
                raise TransientError("DES answered the token request with a malformed body") from None
            self._token = token
            self._token_expires_at = time.monotonic() + max(lifetime - s.token_refresh_margin, lifetime / 2)
            self.tokens_fetched += 1
            log.debug("DES: new token for customer %s", s.customer_no)
            return
        self._raise_for(response, "authentication")

    # --- one attempt -----------------------------------------------------------------------------

    def _send(self, method: str, path: str, body: bytes | None, params: Mapping | None, headers: dict) -> requests.Response:
        s = self.settings
        if body is not None:
            headers = {**headers, "Content-Type": "application/json"}
        try:
            return self.session.request(
                method, s.base_url + path, data=body, params=params, headers=headers, timeout=(s.connect_timeout, s.read_timeout)
            )
        except requests.Timeout as exc:
            raise TransientError(f"timeout ({type(exc).__name__})") from None
        except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError) as exc:
            raise TransientError(f"connection failed ({type(exc).__name__})") from None

    def _raise_for(self, response: requests.Response, operation: str) -> None:
        status = response.status_code
        code, message, details = _error_of(response)
        if status == 429:
            raise TransientError(f"429 {code}", status=429, retry_after=parse_retry_after(response.headers.get("Retry-After")))
        if status >= 500:
            raise TransientError(f"{status} {code}: {redact(message, 120)}", status=status)
        if status == 401:
            raise DesAuthError(operation, status, code, message, details)
        raise DesApiError(operation, status, code, message, details)

    def _attempt(self, method: str, path: str, body: bytes | None, params: Mapping | None, headers: dict, operation: str) -> Answer:
        fresh_token_tried = False
        while True:
            token = self._bearer()
            response = self._send(method, path, body, params, {**headers, "Authorization": f"Bearer {token}"})
            if response.status_code == 401 and not fresh_token_tried:
                # Expired or revoked: one new token, one more try; a second 401 is a real refusal.
                fresh_token_tried = True
                self._forget_token(token)
                log.info("DES %s: token refused (%s), authenticating again", operation, _error_of(response)[0])
                continue
            if 200 <= response.status_code < 300:
                try:
                    answer = response.json()
                except ValueError:
                    raise TransientError(f"{response.status_code} with a body that is not JSON") from None
                replayed = response.headers.get("Idempotent-Replayed", "").lower() == "true"
                return Answer(response.status_code, answer, replayed, response.headers)
            self._raise_for(response, operation)

    # --- with retries ----------------------------------------------------------------------------

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, TransientError) and exc.retry_after is not None:
            return exc.retry_after
        return self._backoff(state)

    def request(
        self,
        method: str,
        path: str,
        *,
        body: bytes | None = None,
        params: Mapping | None = None,
        idempotency_key: str | None = None,
        operation: str | None = None,
        attempts: list[int] | None = None,
    ) -> Answer:
        """One logical request, retried as the module describes. ``attempts`` (a one-item list), if
        given, is set to the number of HTTP attempts made, also when this raises."""
        operation = operation or f"{method} {path}"
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        s = self.settings
        counter = attempts if attempts is not None else [0]
        counter[:] = [0]

        def before_sleep(state: RetryCallState) -> None:
            log.warning(
                "DES %s: attempt %d failed (%s); retrying in %.2f s",
                operation, state.attempt_number, state.outcome.exception(), state.upcoming_sleep,
            )

        retrying = Retrying(
            stop=stop_after_attempt(s.max_attempts) | stop_before_delay(s.retry_budget),
            wait=self._wait,
            retry=retry_if_exception_type(TransientError),
            sleep=self._sleep,
            before_sleep=before_sleep,
        )
        try:
            for attempt in retrying:
                with attempt:
                    counter[0] += 1
                    return self._attempt(method, path, body, params, headers, operation)
        except DesApiError as exc:
            exc.attempts = counter[0]
            raise
        except RetryError as exc:
            last = exc.last_attempt.exception()
            retry_after = getattr(last, "retry_after", None)
            log.error("DES %s: giving up after %d attempt(s): %s", operation, counter[0], last)
            raise DesUnavailable(operation, counter[0], str(last), retry_after) from None
        raise AssertionError("unreachable: tenacity either returns or raises")  # pragma: no cover
