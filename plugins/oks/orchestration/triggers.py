"""The trigger behind the DES waits: polls DES in the triggerer until personnel lists or payments are final.

A wait for the insurers takes hours; running it here instead of in a sensor's poke loop means it
holds no worker slot (docs/architecture.md §9) — one coroutine in the triggerer, one small HTTP request per id
per poll. :class:`DesCompletionTrigger` is what :class:`oks.orchestration.sensors.DesCompletionSensor`
defers to; it lives in the installed package because the triggerer cannot import from ``dags/``.

It speaks the DES contract (``oks/des/openapi.yaml``) with ``httpx.AsyncClient`` and nothing that
blocks the triggerer's event loop: the connection is read with Airflow's async lookup, the token is
fetched with the same client, and waits are ``asyncio.sleep``.

The event it fires (exactly one), a small JSON object with ids and states only:

- ``{"status": "done", "kind", "states": {id: state}}`` — every id is final;
- ``{"status": "timeout", "kind", "pending": [id, …], "states", "transient_errors", "last_error",
  "des_unreachable"}`` — ``timeout_at`` passed first; ``des_unreachable`` says the last poll of some
  pending id got no answer (5xx, 429, timeout, refused connection), so its state is a stale one or
  ``None``;
- ``{"status": "error", "kind", "id", "code", "message", "states"}`` — DES refused for good (e.g.
  404 ``LIST_NOT_FOUND``, credentials refused twice, a connection that cannot work).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterable
from datetime import datetime, timezone
from typing import Any
from urllib.parse import quote

from airflow.triggers.base import BaseTrigger, TriggerEvent

__all__ = ["KINDS", "FINAL_STATES", "DesCompletionTrigger"]

KINDS = ("personnel_list", "payment")

FINAL_STATES: dict[str, frozenset[str]] = {
    "personnel_list": frozenset({"COMPLETED"}),
    "payment": frozenset({"TRANSFERRED", "REJECTED"}),
}
"""States after which DES never changes the resource again: nothing left to wait for."""

NOUN = {"personnel_list": "personnel list", "payment": "payment"}

_PATHS = {"personnel_list": "/api/v1/personnel-lists/{id}", "payment": "/api/v1/payments/{id}"}
_USER_AGENT = "oks-pipeline DES trigger"


class _Transient(Exception):
    """No useful answer this time (5xx, 429, timeout, connection refused): poll again later."""

    def __init__(self, description: str, retry_after: float | None = None) -> None:
        super().__init__(description)
        self.retry_after = retry_after


class _Refused(Exception):
    """DES answered with an error a retry cannot fix."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def _aware_utc(value: datetime | str) -> datetime:
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    if not isinstance(moment, datetime):
        raise TypeError("timeout_at must be a datetime or an ISO 8601 string")
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("timeout_at must be timezone-aware (UTC)")
    return moment.astimezone(timezone.utc)


def _ids(ids: Iterable[str]) -> list[str]:
    if isinstance(ids, str):
        ids = [ids]
    unique = list(dict.fromkeys(str(i).strip() for i in ids if i is not None))
    if not unique or any(not i for i in unique):
        raise ValueError("ids must name at least one DES id, and none may be empty")
    return unique


def _error_of(response: Any) -> tuple[str, str]:
    from oks.privacy import redact

    try:
        error = response.json()["error"]
        return str(error["code"]), redact(error.get("message", ""), 200)
    except (ValueError, KeyError, TypeError):
        return f"HTTP_{response.status_code}", ""


class DesCompletionTrigger(BaseTrigger):
    """Waits until every DES personnel list (``kind="personnel_list"``, final: ``COMPLETED``) or
    payment (``kind="payment"``, final: ``TRANSFERRED`` or ``REJECTED``) in ``ids`` is final.

    :param kind: ``"personnel_list"`` or ``"payment"``.
    :param ids: the DES list ids or payment ids (a mapped batch may wait for several at once).
    :param timeout_at: when to give up, timezone-aware (an ISO string after a round trip through
        :meth:`serialize`); the sensor computes it from its ``timeout``.
    :param conn_id: the DES connection (host = URL, login = customer number, password, extra
        ``{"tckn": …}``; its ``connect_timeout`` / ``read_timeout`` apply to each request).
    :param poll_interval: seconds between polls. DES answers in minutes to hours; 300 s keeps a
        payroll bureau's hundreds of waits light on DES while still noticing an answer promptly.
    """

    def __init__(
        self,
        *,
        kind: str,
        ids: Iterable[str],
        timeout_at: datetime | str,
        conn_id: str = "des_default",
        poll_interval: float = 300.0,
    ) -> None:
        super().__init__()
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)}, not {kind!r}")
        if not poll_interval or poll_interval <= 0:
            raise ValueError("poll_interval must be a positive number of seconds")
        self.kind = kind
        self.ids = _ids(ids)
        self.timeout_at = _aware_utc(timeout_at)
        self.conn_id = conn_id
        self.poll_interval = float(poll_interval)

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "kind": self.kind,
                "ids": list(self.ids),
                "timeout_at": self.timeout_at.isoformat(),
                "conn_id": self.conn_id,
                "poll_interval": self.poll_interval,
            },
        )

    # --- the wait --------------------------------------------------------------------------------

    async def run(self) -> AsyncIterator[TriggerEvent]:
        import httpx

        noun = NOUN[self.kind]
        states: dict[str, str | None] = dict.fromkeys(self.ids)
        from airflow.sdk.exceptions import AirflowNotFoundException

        try:
            settings = await self._settings()
        except (AirflowNotFoundException, ValueError, TypeError) as exc:
            # A missing or incomplete connection is fixed by a person, not by waiting. The message
            # names fields, never values. Anything else (a secrets backend down) fails the trigger,
            # and the task's retries apply.
            yield self._error(None, "CONNECTION_UNUSABLE", f"connection {self.conn_id!r} cannot be used: {exc}", states)
            return

        self._des = settings
        self._token: str | None = None
        self._token_valid_until = 0.0
        self.transient_errors = 0
        self.tokens_fetched = 0
        last_error: str | None = None
        unanswered: set[str] = set()  # pending ids whose latest poll got no answer
        not_before = 0.0  # monotonic time before which DES asked (429) not to be called

        timeout = httpx.Timeout(settings.read_timeout, connect=settings.connect_timeout)
        headers = {"User-Agent": _USER_AGENT, "Accept": "application/json"}
        async with httpx.AsyncClient(base_url=settings.base_url, timeout=timeout, headers=headers) as http:
            self.log.info(
                "waiting for %d DES %s(s) to be final (%s); polling every %g s until %s",
                len(self.ids), noun, ", ".join(self.ids), self.poll_interval, self.timeout_at.isoformat(),
            )
            while True:
                pending = [i for i in self.ids if states[i] not in FINAL_STATES[self.kind]]
                for id_ in pending:
                    try:
                        states[id_] = await self._read_state(http, id_)
                        unanswered.discard(id_)
                    except _Transient as exc:
                        # One failure says DES is struggling: the other ids wait for the next poll
                        # instead of adding to its load now.
                        self.transient_errors += 1
                        last_error = str(exc)
                        unanswered.update(pending[pending.index(id_) :])
                        if exc.retry_after is not None:
                            not_before = time.monotonic() + exc.retry_after
                        self.log.warning("DES did not answer for %s %s (%s); polling again later", noun, id_, exc)
                        break
                    except _Refused as exc:
                        yield self._error(id_, exc.code, str(exc), states)
                        return

                pending = [i for i in self.ids if states[i] not in FINAL_STATES[self.kind]]
                if not pending:
                    self.log.info("all %d DES %s(s) final: %s", len(self.ids), noun, _describe(states))
                    yield TriggerEvent({"status": "done", "kind": self.kind, "states": dict(states)})
                    return
                remaining = (self.timeout_at - datetime.now(timezone.utc)).total_seconds()
                if remaining <= 0:
                    self.log.warning("gave up at %s; not final: %s", self.timeout_at.isoformat(), _describe(states, pending))
                    yield TriggerEvent(
                        {
                            "status": "timeout",
                            "kind": self.kind,
                            "pending": pending,
                            "states": dict(states),
                            "transient_errors": self.transient_errors,
                            "last_error": last_error,
                            "des_unreachable": bool(unanswered & set(pending)),
                        }
                    )
                    return
                self.log.info("%d of %d DES %s(s) final; not yet: %s", len(self.ids) - len(pending), len(self.ids), noun, _describe(states, pending))
                # The last poll lands on timeout_at itself, so a late answer still counts.
                wait = max(self.poll_interval, not_before - time.monotonic())
                await asyncio.sleep(max(min(wait, remaining), 0.0))

    def _error(self, id_: str | None, code: str, message: str, states: dict) -> TriggerEvent:
        self.log.error("DES wait ended with an error: %s", message)
        return TriggerEvent({"status": "error", "kind": self.kind, "id": id_, "code": code, "message": message, "states": dict(states)})

    # --- DES -------------------------------------------------------------------------------------

    async def _settings(self):
        from types import SimpleNamespace

        from airflow.providers.common.compat.connection import get_async_connection, get_async_extra_dejson

        from oks.des.settings import settings_from_connection

        conn = await get_async_connection(self.conn_id)
        # extra_dejson would mask secrets with a blocking call to the supervisor (a deadlock on the
        # triggerer's loop); the async read hands settings_from_connection the same fields.
        view = SimpleNamespace(
            conn_id=self.conn_id, host=conn.host, schema=conn.schema, port=conn.port,
            login=conn.login, password=conn.password, extra_dejson=await get_async_extra_dejson(conn),
        )  # fmt: skip
        return settings_from_connection(view)

    async def _fetch_token(self, http) -> None:
        import httpx

        s = self._des
        try:
            response = await http.post("/api/v1/auth/token", json={"customer_no": s.customer_no, "tckn": s.tckn, "password": s.password})
        except httpx.TimeoutException as exc:
            raise _Transient(f"authentication: timeout ({type(exc).__name__})") from None
        except httpx.TransportError as exc:
            raise _Transient(f"authentication: connection failed ({type(exc).__name__})") from None
        if response.status_code == 200:
            try:
                body = response.json()
                token, lifetime = str(body["access_token"]), float(body["expires_in"])
            except (ValueError, KeyError, TypeError):
                raise _Transient("authentication: malformed answer") from None
            self._token = token
            self._token_valid_until = time.monotonic() + max(lifetime - s.token_refresh_margin, lifetime / 2)
            self.tokens_fetched += 1
            return
        self._raise_for(response, "authentication")

    def _raise_for(self, response, operation: str) -> None:
        from oks.des.transport import parse_retry_after

        code, message = _error_of(response)
        if response.status_code == 429:
            raise _Transient(f"{operation}: 429 {code}", retry_after=parse_retry_after(response.headers.get("Retry-After")))
        if response.status_code >= 500:
            raise _Transient(f"{operation}: {response.status_code} {code}")
        if operation == "authentication" and response.status_code == 401:
            raise _Refused(code, f"DES refused the credentials of connection {self.conn_id!r} ({code}); fix the connection, then clear the task")
        detail = f": {message}" if message else ""
        raise _Refused(code, f"DES refused {operation}: {response.status_code} {code}{detail}")

    async def _read_state(self, http, id_: str) -> str:
        """The state on the first page's header: ``limit=1`` keeps a poll of a 10,000-person list small."""
        import httpx

        path = _PATHS[self.kind].format(id=quote(id_, safe=""))
        fresh_token_tried = False
        while True:
            if self._token is None or time.monotonic() >= self._token_valid_until:
                await self._fetch_token(http)
            token = self._token
            try:
                response = await http.get(path, params={"offset": 0, "limit": 1}, headers={"Authorization": f"Bearer {token}"})
            except httpx.TimeoutException as exc:
                raise _Transient(f"timeout ({type(exc).__name__})") from None
            except httpx.TransportError as exc:
                raise _Transient(f"connection failed ({type(exc).__name__})") from None
            if response.status_code == 401 and not fresh_token_tried:
                # Expired or revoked: one new token, one more try; a second 401 is a real refusal.
                fresh_token_tried = True
                self._token = None
                self.log.info("DES token refused (%s); authenticating again", _error_of(response)[0])
                continue
            if response.status_code == 200:
                try:
                    state = response.json()["state"]
                except (ValueError, KeyError, TypeError):
                    raise _Transient(f"{response.status_code} with a body that has no state") from None
                return str(state)
            self._raise_for(response, f"reading {NOUN[self.kind]} {id_}")


def _describe(states: dict[str, str | None], ids: Iterable[str] | None = None) -> str:
    return ", ".join(f"{i} {states[i] or 'unknown'}" for i in (states if ids is None else ids))
