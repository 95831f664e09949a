"""Fault injection: the ways a real gateway misbehaves, switched on by CLI flags or ``/_control/faults``.

Faults touch only the contract's API (``/api/...``), never ``/health``, ``/openapi.yaml`` or the
control endpoints, so a test can always inspect and repair the simulator it is tormenting.

- ``error_rate``: share of requests answered 500/502/503/504 *before* anything is done.
- ``lost_response_rate``: share of POST/PUT requests that *are* applied, then answered 502 — the
  case idempotency keys exist for.
- ``rate_limit_every``: every n-th request is answered 429 with ``Retry-After: retry_after``;
  requests arriving before that time has passed are refused again and counted as ``early_retries``.
- ``latency``: seconds each answer is held after the work is done (ends early if the client leaves).
- ``hang_rate`` / ``hang_seconds``: share of answers held ``hang_seconds`` (a client read timeout).
- ``outage_from`` / ``outage_until`` (epoch seconds): every request answered 503 in that window.
- ``path_contains``: if set, faults touch only requests whose path contains this text (e.g.
  ``/payments`` to slow down payments while tokens and lists flow freely).

Counters (in memory, reset by a restart) tell tests what happened.
"""

from __future__ import annotations

import asyncio
import json
import random
import threading
import time
from collections import Counter
from dataclasses import asdict, dataclass, fields

Scope = dict
_MUTATING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_SERVER_ERRORS = (
    (500, "INTERNAL_ERROR", "internal error"),
    (502, "BAD_GATEWAY", "the insurer gateway did not answer"),
    (503, "SERVICE_UNAVAILABLE", "service temporarily unavailable"),
    (504, "GATEWAY_TIMEOUT", "the insurer gateway timed out"),
)


@dataclass
class FaultConfig:
    error_rate: float = 0.0
    lost_response_rate: float = 0.0
    rate_limit_every: int = 0
    retry_after: float = 1.0
    latency: float = 0.0
    hang_rate: float = 0.0
    hang_seconds: float = 30.0
    outage_from: float = 0.0
    outage_until: float = 0.0
    path_contains: str | None = None
    seed: int | None = None

    def validate(self) -> FaultConfig:
        if self.rate_limit_every == 1:
            # Every request refused, including each retry: nothing could ever get through.
            raise ValueError("rate_limit_every must be 0 (off) or at least 2")
        return self


def format_retry_after(seconds: float) -> str:
    """Delay-seconds as RFC 9110 writes them; a fraction only when configured below whole seconds."""
    seconds = max(seconds, 0.0)
    if seconds == int(seconds):
        return str(int(seconds))
    return f"{seconds:.3f}".rstrip("0").rstrip(".")


class Faults:
    """The live fault configuration, its random source and its counters."""

    def __init__(self, config: FaultConfig | None = None) -> None:
        self._lock = threading.Lock()
        self.counters: Counter[str] = Counter()
        self.rate_limited_until = 0.0
        self.configure(config or FaultConfig())

    def configure(self, config: FaultConfig) -> None:
        config.validate()
        with self._lock:
            self.config = config
            self.rng = random.Random(config.seed)
            self.rate_limited_until = 0.0

    def update(self, **changes) -> FaultConfig:
        """Change some settings; ``outage_after``/``outage_for`` (seconds from now) set the window."""
        now = time.time()
        after = changes.pop("outage_after", None)
        length = changes.pop("outage_for", None)
        current = asdict(self.config)
        current.update({k: v for k, v in changes.items() if v is not None})
        if length is not None:
            current["outage_from"] = now + (after or 0.0)
            current["outage_until"] = current["outage_from"] + length
        new = FaultConfig(**current)
        self.configure(new)
        return new

    def reset(self) -> None:
        self.configure(FaultConfig())
        with self._lock:
            self.counters.clear()

    def snapshot(self) -> dict:
        with self._lock:
            return {"config": asdict(self.config), "counters": dict(self.counters)}

    def count(self, name: str) -> int:
        with self._lock:
            self.counters[name] += 1
            return self.counters[name]

    def chance(self, share: float) -> bool:
        if share <= 0:
            return False
        with self._lock:
            return self.rng.random() < share

    def pick_server_error(self) -> tuple[int, str, str]:
        with self._lock:
            return self.rng.choice(_SERVER_ERRORS)


FAULT_FIELDS = tuple(f.name for f in fields(FaultConfig))


async def _send_error(send, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
    body = json.dumps({"error": {"code": code, "message": message}}).encode()
    raw_headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    raw_headers += [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": body})


async def _hold(seconds: float, receive) -> None:
    """Wait ``seconds``, or less if the client goes away (a client that timed out is not waited for)."""

    async def gone() -> None:
        while (await receive())["type"] != "http.disconnect":
            pass

    try:
        await asyncio.wait_for(gone(), timeout=seconds)
    except TimeoutError:
        pass


class FaultMiddleware:
    """Pure ASGI middleware, so that a held answer costs a sleeping coroutine and nothing else."""

    def __init__(self, app, faults: Faults) -> None:
        self.app = app
        self.faults = faults

    async def __call__(self, scope: Scope, receive, send) -> None:
        config = self.faults.config
        if (
            scope["type"] != "http"
            or not scope["path"].startswith("/api/")
            or (config.path_contains and config.path_contains not in scope["path"])
        ):
            await self.app(scope, receive, send)
            return
        faults, now = self.faults, time.time()
        number = faults.count("api_requests")
        if config.outage_from <= now < config.outage_until:
            faults.count("outage_rejections")
            await _send_error(send, 503, "SERVICE_UNAVAILABLE", "DES is unavailable (maintenance window)")
            return
        if now < faults.rate_limited_until:
            faults.count("early_retries")
            wait = faults.rate_limited_until - now
            await _send_error(send, 429, "RATE_LIMITED", "too many requests", {"Retry-After": format_retry_after(wait)})
            return
        if config.rate_limit_every and number % config.rate_limit_every == 0:
            faults.count("rate_limited")
            faults.rate_limited_until = now + config.retry_after
            await _send_error(
                send, 429, "RATE_LIMITED", "too many requests", {"Retry-After": format_retry_after(config.retry_after)}
            )
            return
        if faults.chance(config.error_rate):
            faults.count("errors_injected")
            await _send_error(send, *faults.pick_server_error())
            return
        lose = scope["method"] in _MUTATING and faults.chance(config.lost_response_rate)
        hold = config.latency + (config.hang_seconds if faults.chance(config.hang_rate) else 0.0)
        if not lose and hold <= 0:
            await self.app(scope, receive, send)
            return
        answer: list[dict] = []

        async def keep(message: dict) -> None:
            answer.append(message)

        await self.app(scope, receive, keep)
        if hold > 0:
            faults.count("held")
            await _hold(hold, receive)
        if lose:
            faults.count("responses_lost")
            await _send_error(send, 502, "BAD_GATEWAY", "the answer was lost on the way back")
            return
        for message in answer:
            await send(message)
