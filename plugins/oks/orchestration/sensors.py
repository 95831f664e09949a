"""Sensors that wait for DES: policy numbers (personnel lists) and transfers (payments).

They look once (a list answered in seconds, or a cleared task whose payment is already final, ends
there), then defer to :class:`~oks.orchestration.triggers.DesCompletionTrigger`, so an insurer that
takes hours to answer costs a coroutine in the triggerer, not a worker slot (docs/architecture.md §9).
Both read DES through :class:`~oks.orchestration.des_hook.DesHook`. They only wait: they send
nothing to DES, so clearing one is always safe.

In a DAG, next to the step that created what they wait for::

    submitted = submit_personnel.expand(contract_no=contracts)          # returns {"list_id": ..., ...}
    waited = PolicyNumbersSensor.partial(task_id="wait_for_policy_numbers").expand(ids=submitted)

``ids`` takes what the upstream step returned, as it is: an id, a list of ids, a
:func:`~oks.pipeline.submission.submit_personnel` summary (``list_id``), a
:func:`~oks.pipeline.submission.submit_payments` summary (``payments.*.payment_id``), or a list of
those. ``None`` ids (a dry run, a contract with nobody to send) are dropped; with nothing left the
sensor succeeds at once, without deferring.

This module imports nothing heavy at the top: DAG files import it at parse time.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseSensorOperator
from airflow.sdk.bases.sensor import PokeReturnValue
from airflow.sdk.exceptions import AirflowFailException, AirflowSensorTimeout

from oks.des.states import FINAL_STATES as _FINAL
from oks.des.states import NOUNS as _NOUN

if TYPE_CHECKING:
    from airflow.sdk import Context

__all__ = [
    "DEFAULT_TIMEOUTS",
    "DEFAULT_POLL_INTERVAL",
    "DesCompletionSensor",
    "PolicyNumbersSensor",
    "TransferSensor",
    "wait_for_policy_numbers",
    "wait_for_transfer",
    "ids_to_wait_for",
]

DEFAULT_TIMEOUTS = {"personnel_list": timedelta(hours=6), "payment": timedelta(hours=24)}
"""How long to wait before a person must look: insurers answer lists within hours, transfers within a day."""

DEFAULT_POLL_INTERVAL = 300.0

POLICY_NUMBERS_DOC = """\
Waits until DES has the insurer's answer to this contract's personnel list (state COMPLETED): the
policy numbers, or why people were rejected. It holds no worker slot while waiting (deferred to the
triggerer, one small request to DES every few minutes) and sends nothing.

**If it fails**: timed out — the insurer has not answered the list yet (still SENT) or DES was
unreachable; look the list up on DES (its id is in the error), then clear this task to wait again.
Any other error (list not found, credentials refused) names the cause; fix it (the `des_default`
connection, or re-run `submit_personnel`), then clear this task. Clearing is always safe: it only waits.
"""

TRANSFER_DOC = """\
Waits until DES reports this contract's payment final: TRANSFERRED (per-item results in) or REJECTED
(the insurer refused every item). It holds no worker slot while waiting (deferred to the triggerer,
one small request to DES every few minutes) and sends nothing.

**If it fails**: timed out — the insurer has not confirmed the transfer yet (still SENT) or DES was
unreachable; look the payment up on DES (its id is in the error), then clear this task to wait again.
Any other error (payment not found, credentials refused) names the cause; fix it (the `des_default`
connection, or re-run `submit_payment`), then clear this task. Clearing is always safe: it only waits.
"""


def ids_to_wait_for(value: Any) -> list[str]:
    """The DES ids in ``value`` (see the module docstring for the shapes accepted), in order, once each."""
    found: list[str] = []

    def collect(item: Any) -> None:
        if item is None:
            return
        if isinstance(item, str):
            if item.strip():
                found.append(item.strip())
        elif isinstance(item, Mapping):
            if "list_id" in item:
                collect(item["list_id"])
            elif "payment_id" in item:
                collect(item["payment_id"])
            elif "payments" in item:
                for payment in (item["payments"] or {}).values():
                    collect(payment)
            else:
                raise TypeError(f"no DES id in a mapping with keys {sorted(item)}: expected list_id, payment_id or payments")
        elif isinstance(item, (int,)) and not isinstance(item, bool):
            found.append(str(item))
        elif hasattr(item, "__iter__"):
            for element in item:
                collect(element)
        else:
            raise TypeError(f"cannot read DES ids from a {type(item).__name__}")

    collect(value)
    return list(dict.fromkeys(found))


def _human(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:g}s"
    minutes, _ = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    parts = [f"{v}{u}" for v, u in ((days, "d"), (hours, "h"), (minutes, "m")) if v]
    return "".join(parts) or "0m"


def _hint(kind: str, state: str | None) -> str:
    if state is None:
        return "DES gave no answer about it"
    if state == "RECEIVED":
        return "DES holds it but it was never sent on to the insurer: re-run the submit step (safe, it re-attaches)"
    return "the insurer has not answered" if kind == "personnel_list" else "the insurer has not confirmed the transfer"


class DesCompletionSensor(BaseSensorOperator):
    """Waits until DES personnel lists (``kind="personnel_list"``: COMPLETED) or payments
    (``kind="payment"``: TRANSFERRED or REJECTED) are final, then returns ``{id: state}``.

    :param kind: ``"personnel_list"`` or ``"payment"``.
    :param ids: templated; the ids, or what the upstream step returned (see the module docstring).
    :param conn_id: the DES connection.
    :param poll_interval: seconds (or a timedelta) between two looks at DES; default 300.
    :param timeout: how long to wait before failing for a person to look (timedelta or seconds);
        default :data:`DEFAULT_TIMEOUTS` for the kind (6 h lists, 24 h payments).
    :param deferrable: wait in the triggerer (default). ``False`` pokes from a worker with the
        blocking DES client instead, for a deployment without a triggerer.
    """

    template_fields: Sequence[str] = ("ids",)
    ui_color = "#e8f4e8"
    kind: str = ""

    def __init__(
        self,
        *,
        ids: Any,
        kind: str | None = None,
        conn_id: str = "des_default",
        poll_interval: float | timedelta = DEFAULT_POLL_INTERVAL,
        timeout: float | timedelta | None = None,
        deferrable: bool = True,
        **kwargs: Any,
    ) -> None:
        kind = kind or self.kind
        if kind not in DEFAULT_TIMEOUTS:
            raise ValueError(f"kind must be one of {', '.join(DEFAULT_TIMEOUTS)}, not {kind!r}")
        super().__init__(poke_interval=poll_interval, timeout=DEFAULT_TIMEOUTS[kind] if timeout is None else timeout, **kwargs)
        if self.poke_interval <= 0:
            raise ValueError("poll_interval must be positive")
        self.kind = kind
        self.ids = ids
        self.conn_id = conn_id
        self.deferrable = deferrable

    @property
    def poll_interval(self) -> float:
        return self.poke_interval

    # --- deferrable (the default) ----------------------------------------------------------------

    def execute(self, context: Context) -> dict[str, str]:
        ids = ids_to_wait_for(self.ids)
        if not ids:
            self.log.info("no DES %s to wait for (nothing was sent): done", _NOUN[self.kind])
            return {}
        self._waiting_for = ids
        if not self.deferrable:
            try:
                return super().execute(context)
            except AirflowSensorTimeout:
                # The base class only says how long it poked; say which id is stuck and what to do.
                states = getattr(self, "_states", {})
                pending = [i for i in ids if states.get(i) not in _FINAL[self.kind]]
                raise AirflowSensorTimeout(self._timeout_message({"pending": pending, "states": {i: states.get(i) for i in ids}})) from None
        # One look before deferring: what is already final costs no trip through the triggerer.
        first = self.poke(context)
        if first.is_done:
            self.log.info("DES %s(s) already final: %s", _NOUN[self.kind], ", ".join(f"{i} {s}" for i, s in first.xcom_value.items()))
            return first.xcom_value
        from oks.orchestration.triggers import DesCompletionTrigger

        timeout_at = datetime.now(UTC) + timedelta(seconds=self.timeout)
        self.log.info("deferring: waiting for DES %s(s) %s until %s", _NOUN[self.kind], ", ".join(ids), timeout_at.isoformat())
        self.defer(
            trigger=DesCompletionTrigger(kind=self.kind, ids=ids, timeout_at=timeout_at, conn_id=self.conn_id, poll_interval=self.poke_interval),
            method_name="execute_complete",
            # A backstop only: the trigger reports its own timeout, with states, at timeout_at; this
            # fails the task should the triggerer itself be stuck well past it.
            timeout=timedelta(seconds=self.timeout + max(2 * self.poke_interval, 600)),
        )

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> dict[str, str]:
        """Back from the triggerer: the states on success, a clear error otherwise."""
        event = event or {}
        status = event.get("status")
        noun = _NOUN[self.kind]
        states: dict[str, str | None] = event.get("states") or {}
        if status == "done":
            self.log.info("DES %s(s) final: %s", noun, ", ".join(f"{i} {s}" for i, s in states.items()))
            return {i: str(s) for i, s in states.items()}
        if status == "timeout":
            raise AirflowSensorTimeout(self._timeout_message(event))
        if status == "error":
            raise AirflowFailException(
                f"waiting for DES {noun}(s) failed: {event.get('message') or event.get('code') or 'unknown error'}. "
                "Fix the cause, then clear this task — it only waits, it sends nothing."
            )
        raise AirflowFailException(f"the DES trigger sent an event this sensor does not understand (status {status!r})")

    def _timeout_message(self, event: dict[str, Any]) -> str:
        noun = _NOUN[self.kind]
        states = event.get("states") or {}
        pending = event.get("pending") or list(states)
        waited = _human(self.timeout)
        if len(pending) == 1:
            only = pending[0]
            state = states.get(only)
            head = f"DES {noun} {only} still {state or 'in an unknown state'} after {waited}: {_hint(self.kind, state)}"
        else:
            listed = "; ".join(f"{i} {states.get(i) or 'unknown'} ({_hint(self.kind, states.get(i))})" for i in pending)
            head = f"{len(pending)} DES {noun}s not final after {waited}: {listed}"
        if event.get("des_unreachable"):
            head += f". DES did not answer the last poll ({event.get('last_error') or 'no answer'}; {event.get('transient_errors', 0)} failed polls)"
        return head + "; check DES, then clear this task — it only waits, it sends nothing"

    # --- poke mode (deferrable=False) ------------------------------------------------------------

    def poke(self, context: Context) -> PokeReturnValue:
        from airflow.sdk.exceptions import AirflowNotFoundException

        from oks.des.errors import DesApiError, DesUnavailable
        from oks.orchestration.des_hook import DesHook

        ids = getattr(self, "_waiting_for", None) or ids_to_wait_for(self.ids)
        states: dict[str, str] = getattr(self, "_states", {})
        self._states = states
        try:
            # One attempt per look: a DES that is down is looked at again later (or by the trigger),
            # not retried for minutes while this holds a worker slot.
            client = DesHook(self.conn_id, max_attempts=1).get_client()
        except (AirflowNotFoundException, ValueError) as exc:  # names the connection or field, never a value
            raise AirflowFailException(f"connection {self.conn_id!r} cannot be used: {exc}. Fix it, then clear this task.") from None
        with client:
            read = client.read_personnel_results if self.kind == "personnel_list" else client.read_payment
            for id_ in ids:
                if states.get(id_) in _FINAL[self.kind]:
                    continue
                try:
                    states[id_] = read(id_, limit=1).state
                except DesUnavailable as exc:
                    self.log.warning("DES did not answer for %s %s (%s); looking again later", _NOUN[self.kind], id_, exc)
                    return PokeReturnValue(False)
                except DesApiError as exc:
                    raise AirflowFailException(
                        f"waiting for DES {_NOUN[self.kind]}(s) failed: {exc}. Fix the cause, then clear this task — it only waits."
                    ) from None
        done = all(states.get(i) in _FINAL[self.kind] for i in ids)
        return PokeReturnValue(done, {i: states[i] for i in ids} if done else None)


class PolicyNumbersSensor(DesCompletionSensor):
    """:class:`DesCompletionSensor` for personnel lists: waits for the insurer's answers (policy numbers)."""

    kind = "personnel_list"

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("doc_md", POLICY_NUMBERS_DOC)
        super().__init__(**kwargs)


class TransferSensor(DesCompletionSensor):
    """:class:`DesCompletionSensor` for payments: waits until the transfer is confirmed or rejected."""

    kind = "payment"

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("doc_md", TRANSFER_DOC)
        super().__init__(**kwargs)


def wait_for_policy_numbers(*, ids: Any, task_id: str = "wait_for_policy_numbers", **kwargs: Any) -> PolicyNumbersSensor:
    """The docs/architecture.md §3 step 7 task of that name (use ``PolicyNumbersSensor.partial(...).expand`` to map)."""
    return PolicyNumbersSensor(task_id=task_id, ids=ids, **kwargs)


def wait_for_transfer(*, ids: Any, task_id: str = "wait_for_transfer", **kwargs: Any) -> TransferSensor:
    """The docs/architecture.md §3 step 7 task of that name (use ``TransferSensor.partial(...).expand`` to map)."""
    return TransferSensor(task_id=task_id, ids=ids, **kwargs)
