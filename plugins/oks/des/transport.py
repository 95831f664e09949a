"""HTTP to DES: one pooled session, timeouts, bearer tokens, retries with backoff, errors mapped.

Retried (exponential backoff with jitter, tenacity): connection failures, timeouts, 5xx, and 429 —
after exactly the ``Retry-After`` DES asked for. Never retried: other 4xx answers, which are business
errors (:class:`~oks.des.errors.DesApiError`). A 401 gets one fresh token and one more try. When the
retry budget (attempts or seconds) runs out: :class:`~oks.des.errors.DesUnavailable`, which is
retryable by whoever runs the task, because every creating request carries an idempotency key.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Mapping

import requests
from requests.adapters import HTTPAdapter
from tenacity import RetryCallState, RetryError, Retrying, retry_if_exception_type, stop_after_attempt, stop_before_delay
from tenacity.wait import wait_exponential_jitter

from oks.des.errors import DesApiError, DesUnavailable
from oks.des.responses import TOKEN_PATH, Answer, Token, TransientError, answer_of, error_of, stale_token, token_body, token_of
from oks.des.settings import DesSettings

__all__ = ["DesTransport", "Answer", "TransientError"]

log = logging.getLogger("oks.des")

_USER_AGENT = "oks-pipeline DES client"


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
        self._token: Token | None = None
        self.tokens_fetched = 0
        # Full jitter on top of the exponential step spreads out clients that failed together.
        self._backoff = wait_exponential_jitter(multiplier=settings.backoff_initial, max=settings.backoff_max, jitter=settings.backoff_initial)

    def close(self) -> None:
        self.session.close()

    # --- tokens ----------------------------------------------------------------------------------

    def _bearer(self) -> str:
        with self._token_lock:
            if self._token is None or not self._token.usable():
                self._fetch_token()
            return self._token.value  # type: ignore[union-attr]

    def _forget_token(self, token: str) -> None:
        with self._token_lock:
            if self._token is not None and self._token.value == token:  # another thread may already have a fresh one
                self._token = None

    def _fetch_token(self) -> None:
        response = self._send("POST", TOKEN_PATH, json.dumps(token_body(self.settings)).encode(), None, {})
        self._token = token_of(response, self.settings)
        self.tokens_fetched += 1
        log.debug("DES: new token for customer %s", self.settings.customer_no)

    def authenticate(self) -> None:
        """Fetch a token now (a connection test): raises what DES's refusal means."""
        with self._token_lock:
            self._fetch_token()

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

    def _attempt(self, method: str, path: str, body: bytes | None, params: Mapping | None, headers: dict, operation: str) -> Answer:
        fresh_token_tried = False
        while True:
            token = self._bearer()
            response = self._send(method, path, body, params, {**headers, "Authorization": f"Bearer {token}"})
            if stale_token(response, fresh_token_tried):
                fresh_token_tried = True
                self._forget_token(token)
                log.info("DES %s: token refused (%s), authenticating again", operation, error_of(response)[0])
                continue
            return answer_of(response, operation)

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
                operation, state.attempt_number, state.outcome.exception() if state.outcome else None, state.upcoming_sleep,
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
