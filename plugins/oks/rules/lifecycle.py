"""The enrolment lifecycle (docs/rules.md §6) as a pure state machine.

::

    pending ──SUBMIT──▶ submitted ──ENROL(policy no)──▶ enrolled ──OPT_OUT (in window)──▶ opted_out
       ▲                    │                             │  ▲  ╰──PAUSE (≤ 3 months)──▶ paused ──RESUME──╯
       │                    ╰──REJECT(reason)──▶ rejected │  ╰──────────────────────────────╯
       ╰──RESUBMIT (identity fixed)─────────────────╯     ╰──LEAVE / CANCEL / OPT_OUT (after window)──▶ left
    opted_out, left ──RE_ENROL──▶ pending
    enrolled, paused ──UPDATE (the insurer took a changed record)──▶ unchanged

Cayma (opt-out) is possible for 2 months from the insurer's notice to the employee, with a refund;
after that the employee may still leave (ayrılma) at any time, without a refund — so an OPT_OUT that
arrives after the window ends the enrolment as ``left``, reason ``opt_out_after_window``. The insurer
is the authority on its own events: the project records what it says rather than refusing it.
"""

from __future__ import annotations

import calendar as _calendar
import enum
from dataclasses import dataclass, field
from datetime import date

__all__ = [
    "OPT_OUT_WINDOW_MONTHS",
    "MAX_PAUSE_MONTHS",
    "EventKind",
    "IllegalTransition",
    "Transition",
    "add_months",
    "opt_out_window_ends_on",
    "transition",
    "ACTIVE_STATES",
    "ENDED_STATES",
    "REQUEST_STOPS",
    "stops_wage",
    "deduction_after_request",
    "state_for_wage",
    "REENROLMENT_YEARS",
    "reenrolment_due_on",
]

OPT_OUT_WINDOW_MONTHS = 2
MAX_PAUSE_MONTHS = 3
ACTIVE_STATES = frozenset({"pending", "submitted", "enrolled"})
"""States in which contributions are deducted (pending and submitted: from the first wage)."""


class EventKind(enum.StrEnum):
    SUBMIT = "SUBMIT"
    ENROL = "ENROL"
    REJECT = "REJECT"
    RESUBMIT = "RESUBMIT"
    NOTIFY = "NOTIFY"
    UPDATE = "UPDATE"
    OPT_OUT = "OPT_OUT"
    PAUSE = "PAUSE"
    RESUME = "RESUME"
    LEAVE = "LEAVE"
    CANCEL = "CANCEL"
    RE_ENROL = "RE_ENROL"


_SAME = ""  # an event that leaves the state as it was

# event → (states it may come from, state it leads to)
_RULES: dict[EventKind, tuple[frozenset[str], str]] = {
    EventKind.SUBMIT: (frozenset({"pending"}), "submitted"),
    EventKind.ENROL: (frozenset({"submitted"}), "enrolled"),
    EventKind.REJECT: (frozenset({"submitted"}), "rejected"),
    EventKind.RESUBMIT: (frozenset({"rejected"}), "pending"),
    EventKind.NOTIFY: (frozenset({"enrolled"}), "enrolled"),
    EventKind.UPDATE: (frozenset({"enrolled", "paused"}), _SAME),  # the insurer took a changed record; the state stays
    # From pending and submitted too: an employee may opt out at the insurer before its answer reached us,
    # and the insurer is the authority on its own events.
    EventKind.OPT_OUT: (frozenset({"pending", "submitted", "enrolled", "paused"}), "opted_out"),
    EventKind.PAUSE: (frozenset({"enrolled", "paused"}), "paused"),  # from paused: a renewal
    EventKind.RESUME: (frozenset({"paused"}), "enrolled"),
    EventKind.LEAVE: (frozenset({"enrolled", "paused"}), "left"),
    EventKind.CANCEL: (frozenset({"pending", "submitted", "enrolled", "paused"}), "left"),
    EventKind.RE_ENROL: (frozenset({"opted_out", "left"}), "pending"),
}


class IllegalTransition(ValueError):
    """An event that the enrolment's current state does not allow, or that lacks what it needs."""

    def __init__(self, message: str, *, state: str, event: str) -> None:
        super().__init__(message)
        self.state = state
        self.event = event


@dataclass(frozen=True)
class Transition:
    """The outcome of one event: the new state, why, and the enrolment fields it sets."""

    from_state: str
    to_state: str
    reason: str | None = None
    updates: dict[str, object] = field(default_factory=dict)
    refund_due: bool = False


def add_months(d: date, months: int) -> date:
    """Same day ``months`` later, clamped to the month's last day (31 Dec + 2 months = 28/29 Feb)."""
    month_index = d.month - 1 + months
    year, month = d.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(d.day, _calendar.monthrange(year, month)[1]))


def opt_out_window_ends_on(notified_on: date) -> date:
    """Last day of the cayma (opt-out) window: two months from the insurer's notice."""
    return add_months(notified_on, OPT_OUT_WINDOW_MONTHS)


def transition(
    state: str,
    event: EventKind | str,
    *,
    effective_on: date,
    notified_on: date | None = None,
    policy_no: str | None = None,
    reason: str | None = None,
    paused_until: date | None = None,
    opt_out_window_ends: date | None = None,
) -> Transition:
    """Apply ``event`` to an enrolment in ``state``; raises :class:`IllegalTransition` if not allowed."""
    kind = EventKind(event)
    allowed_from, to_state = _RULES[kind]
    to_state = to_state or state
    if state not in allowed_from:
        raise IllegalTransition(
            f"cannot {kind.value} an enrolment that is {state} (allowed from: {', '.join(sorted(allowed_from))})",
            state=state,
            event=kind.value,
        )
    updates: dict[str, object] = {}

    if kind is EventKind.ENROL:
        if not policy_no:
            raise IllegalTransition("ENROL needs the insurer's policy number", state=state, event=kind.value)
        updates.update(policy_no=policy_no, reason=None)
    elif kind is EventKind.REJECT:
        if not reason:
            raise IllegalTransition("REJECT needs the insurer's reason", state=state, event=kind.value)
        updates.update(reason=reason)
    elif kind is EventKind.NOTIFY:
        notice = notified_on or effective_on
        updates.update(notified_on=notice, opt_out_window_ends_on=opt_out_window_ends_on(notice))
    elif kind is EventKind.OPT_OUT:
        notice_of_opt_out = notified_on or effective_on
        if opt_out_window_ends is not None and notice_of_opt_out > opt_out_window_ends:
            # Past the cayma window the employee can only leave the plan: no refund.
            return Transition(state, "left", "opt_out_after_window", {"left_on": effective_on, "paused_until": None})
        updates.update(opted_out_on=effective_on, paused_until=None)
        return Transition(state, to_state, "opted_out_in_window", updates, refund_due=True)
    elif kind is EventKind.PAUSE:
        if paused_until is None:
            raise IllegalTransition("PAUSE needs the date the pause ends", state=state, event=kind.value)
        latest = add_months(effective_on, MAX_PAUSE_MONTHS)
        if not effective_on < paused_until <= latest:
            raise IllegalTransition(
                f"a pause runs at most {MAX_PAUSE_MONTHS} months: from {effective_on} until {latest} at the latest "
                f"(asked until {paused_until})",
                state=state,
                event=kind.value,
            )
        updates.update(paused_until=paused_until)
    elif kind is EventKind.RESUME:
        updates.update(paused_until=None)
    elif kind in (EventKind.LEAVE, EventKind.CANCEL):
        updates.update(left_on=effective_on, paused_until=None)
    elif kind is EventKind.RE_ENROL:
        updates.update(
            policy_no=None, reason=None, notified_on=None, opt_out_window_ends_on=None,
            opted_out_on=None, left_on=None, first_contribution_on=None,
        )  # fmt: skip
    if kind is EventKind.CANCEL:
        reason = reason or "cancelled_by_insurer"
    return Transition(state, to_state, reason, updates)


REQUEST_STOPS = {"OPT_OUT": "opt_out_requested", "LEAVE": "leave_requested", "PAUSE": "pause_requested"}
"""Requests made at the employer that stop deductions, and the reason a stopped line carries."""


def stops_wage(stop_on: date, wage_paid_on: date) -> bool:
    """Whether a stop (an opt-out, a pause, a leave of the plan, or a request for one) dated ``stop_on``
    stops the deduction from a wage paid on ``wage_paid_on``: from the day it is made, no deduction may be
    taken ("ara verme talebini ilettiğinde … kesinti yapılamaz", BES Yönetmeliği 22/H; likewise cayma) —
    so a wage paid on that very day has none; a wage paid before it keeps its deduction. The one
    comparison every stop uses: the refunds owed after an opt-out (oks.store.enrolments.refunds_owed) and
    the simulated insurer compare the same way."""
    return wage_paid_on >= stop_on


def deduction_after_request(kind: str, requested_on: date, months: int | None, wage_paid_on: date) -> str | None:
    """What a request the employee made at the employer, not yet decided by the insurer, does to the
    deduction from a wage: the reason it stops it (opt out and leave for good, a pause for its months),
    ``"resume_requested"`` when it restarts a paused one, None when the wage is not touched: a wage paid
    before the day of the request (:func:`stops_wage`)."""
    if not stops_wage(requested_on, wage_paid_on):
        return None
    if kind == "PAUSE":
        return REQUEST_STOPS[kind] if months and wage_paid_on <= add_months(requested_on, months) else None
    if kind == "RESUME":
        return "resume_requested"
    return REQUEST_STOPS.get(kind)


ENDED_STATES = frozenset({"opted_out", "left", "paused"})
"""States an event of the insurer or of payroll ends (or suspends) deductions with, from a date."""


def state_for_wage(state: str, *, reason: str | None, entered_on: date | None, state_before: str | None, wage_paid_on: date,
                   period_starts_on: date) -> str:  # fmt: skip
    """The enrolment state that decides a wage's deduction: the state in force for that wage, not the
    state a later event left the enrolment in. A run decides a period again and again (re-runs, re-runs
    after a crash, after a payroll fix); what an earlier attempt of the period sent must not change it.

    - A leaver's exit month is paid (docs/rules.md §6): an EXIT effective in the period — or after it —
      never removes that period's contribution, though the EXIT itself went out on the first attempt.
    - An opt-out, a pause, a cancellation or a leave effective after the wage day does not stop that
      wage's deduction (:func:`stops_wage`); the insurer's notice of it arriving after the first attempt
      changes nothing for the period.

    ``entered_on`` is the day the current state took effect (the enrolment's ``state_since``),
    ``state_before`` the state the event that led into it came from."""
    if state not in ENDED_STATES or entered_on is None or state_before is None:
        return state
    if state == "left" and reason == "left_employment" and entered_on >= period_starts_on:
        return state_before
    if not stops_wage(entered_on, wage_paid_on):
        return state_before
    return state


REENROLMENT_YEARS = 3
"""Years after an opt-out or leaving the plan while employed until the automatic re-enrolment (once).
The regulation on automatic enrolment says three, adjustable from one to five by the ministry; a 2019
approval is reported to have set four, unconfirmed — so a setting (``OKS_REENROLMENT_YEARS``), default 3
(docs/rules.md §6)."""


def reenrolment_due_on(ended_on: date, years: int = REENROLMENT_YEARS) -> date:
    """The day a person who opted out or left the plan on ``ended_on`` while employed is re-enrolled."""
    return add_months(ended_on, 12 * years)
