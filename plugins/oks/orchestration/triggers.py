"""The trigger behind the DES waits: polls DES in the triggerer until personnel lists or payments are final.

A wait for the insurers takes hours; running it here instead of in a sensor's poke loop means it
holds no worker slot (docs/architecture.md §9) — one coroutine in the triggerer, one small HTTP request per id
per poll. :class:`DesCompletionTrigger` is what :class:`oks.orchestration.sensors.DesCompletionSensor`
defers to; it lives in the installed package because the triggerer cannot import from ``dags/``.

It reads DES through :meth:`DesHook.get_async_client <oks.orchestration.des_hook.DesHook.get_async_client>`
— the async twin of the tasks' client, classifying answers the same way — and nothing that blocks
the triggerer's event loop: the connection is read with Airflow's async lookup, waits are
``asyncio.sleep``.

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
from datetime import UTC, datetime
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from oks.des.errors import DesApiError, DesAuthError
from oks.des.responses import TransientError
from oks.des.states import FINAL_STATES, KINDS
from oks.des.states import NOUNS as NOUN

__all__ = ["KINDS", "FINAL_STATES", "DesCompletionTrigger"]


def _aware_utc(value: datetime | str) -> datetime:
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    if not isinstance(moment, datetime):
        raise TypeError("timeout_at must be a datetime or an ISO 8601 string")
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("timeout_at must be timezone-aware (UTC)")
    return moment.astimezone(UTC)


def _ids(ids: Iterable[str]) -> list[str]:
    if isinstance(ids, str):
        ids = [ids]
    unique = list(dict.fromkeys(str(i).strip() for i in ids if i is not None))
    if not unique or any(not i for i in unique):
        raise ValueError("ids must name at least one DES id, and none may be empty")
    return unique


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

    @property
    def tokens_fetched(self) -> int:
        client = getattr(self, "_client", None)
        return client.tokens_fetched if client is not None else 0

    async def run(self) -> AsyncIterator[TriggerEvent]:
        from airflow.sdk.exceptions import AirflowNotFoundException

        from oks.orchestration.des_hook import DesHook

        noun = NOUN[self.kind]
        states: dict[str, str | None] = dict.fromkeys(self.ids)
        try:
            self._client = await DesHook(self.conn_id).get_async_client()
        except (AirflowNotFoundException, ValueError, TypeError) as exc:
            # A missing or incomplete connection is fixed by a person, not by waiting. The message
            # names fields, never values. Anything else (a secrets backend down) fails the trigger,
            # and the task's retries apply.
            yield self._error(None, "CONNECTION_UNUSABLE", f"connection {self.conn_id!r} cannot be used: {exc}", states)
            return

        self.transient_errors = 0
        last_error: str | None = None
        unanswered: set[str] = set()  # pending ids whose latest poll got no answer
        not_before = 0.0  # monotonic time before which DES asked (429) not to be called

        async with self._client as des:
            self.log.info(
                "waiting for %d DES %s(s) to be final (%s); polling every %g s until %s",
                len(self.ids), noun, ", ".join(self.ids), self.poll_interval, self.timeout_at.isoformat(),
            )
            while True:
                pending = [i for i in self.ids if states[i] not in FINAL_STATES[self.kind]]
                for id_ in pending:
                    try:
                        states[id_] = await des.read_state(self.kind, id_)
                        unanswered.discard(id_)
                    except TransientError as exc:
                        # One failure says DES is struggling: the other ids wait for the next poll
                        # instead of adding to its load now.
                        self.transient_errors += 1
                        last_error = str(exc)
                        unanswered.update(pending[pending.index(id_) :])
                        if exc.retry_after is not None:
                            not_before = time.monotonic() + exc.retry_after
                        self.log.warning("DES did not answer for %s %s (%s); polling again later", noun, id_, exc)
                        break
                    except DesAuthError as exc:
                        message = f"DES refused the credentials of connection {self.conn_id!r} ({exc.code}); fix the connection, then clear the task"
                        yield self._error(id_, exc.code, message, states)
                        return
                    except DesApiError as exc:
                        yield self._error(id_, exc.code, str(exc), states)
                        return

                pending = [i for i in self.ids if states[i] not in FINAL_STATES[self.kind]]
                if not pending:
                    self.log.info("all %d DES %s(s) final: %s", len(self.ids), noun, _describe(states))
                    yield TriggerEvent({"status": "done", "kind": self.kind, "states": dict(states)})
                    return
                remaining = (self.timeout_at - datetime.now(UTC)).total_seconds()
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


def _describe(states: dict[str, str | None], ids: Iterable[str] | None = None) -> str:
    return ", ".join(f"{i} {states[i] or 'unknown'}" for i in (states if ids is None else ids))
