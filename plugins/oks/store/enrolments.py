"""Enrolments and their events in the store: applied idempotently, refused when illegal.

Every change of an enrolment is an event with a source (payroll, insurer, operator) and an
``event_key`` — the DES event id, or e.g. ``run:42:submit`` for the project's own steps. The pair
(enrolment, event_key) is unique, so an event delivered twice (a re-run, a re-read DES cursor) is
recorded once and changes nothing the second time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from oks.rules.lifecycle import EventKind, IllegalTransition, transition
from oks.store.schema import contributions, enrolment_events, enrolments, payroll_lines

__all__ = ["SOURCES", "AppliedEvent", "ensure_enrolment", "apply_event", "refunds_owed"]

SOURCES = ("payroll", "insurer", "operator")


@dataclass(frozen=True)
class AppliedEvent:
    enrolment_id: int
    event_key: str
    changed: bool  # False when the event had been applied before
    from_state: str
    to_state: str
    refund_due: bool = False


def ensure_enrolment(conn: Connection, *, employee_id: int, contract_id: int, on: date | None = None) -> int:
    """The enrolment of an employee under a contract, created ``pending`` if there is none."""
    found = conn.execute(
        sa.select(enrolments.c.id).where(enrolments.c.employee_id == employee_id, enrolments.c.contract_id == contract_id)
    ).scalar()
    if found is not None:
        return found
    try:
        with conn.begin_nested():
            return conn.execute(
                sa.insert(enrolments)
                .values(employee_id=employee_id, contract_id=contract_id, state="pending", state_since=on)
                .returning(enrolments.c.id)
            ).scalar_one()
    except IntegrityError:  # created concurrently: use that one
        return conn.execute(
            sa.select(enrolments.c.id).where(enrolments.c.employee_id == employee_id, enrolments.c.contract_id == contract_id)
        ).scalar_one()


def apply_event(
    conn: Connection,
    enrolment_id: int,
    kind: EventKind | str,
    *,
    source: str,
    event_key: str,
    effective_on: date,
    notified_on: date | None = None,
    policy_no: str | None = None,
    reason: str | None = None,
    paused_until: date | None = None,
    detail: dict | None = None,
) -> AppliedEvent:
    """Apply one event to an enrolment. Raises :class:`IllegalTransition` for a transition the
    lifecycle does not allow; an event already applied (same key) is a no-op."""
    if source not in SOURCES:
        raise ValueError(f"event source must be one of {', '.join(SOURCES)} (got {source!r})")
    kind = EventKind(kind)
    current = conn.execute(
        sa.select(enrolments).where(enrolments.c.id == enrolment_id).with_for_update()
    ).first()
    if current is None:
        raise LookupError(f"no enrolment {enrolment_id}")

    seen = conn.execute(
        sa.select(enrolment_events.c.from_state, enrolment_events.c.to_state).where(
            enrolment_events.c.enrolment_id == enrolment_id, enrolment_events.c.event_key == event_key
        )
    ).first()
    if seen is not None:
        return AppliedEvent(enrolment_id, event_key, False, seen.from_state, seen.to_state)

    try:
        outcome = transition(
            current.state,
            kind,
            effective_on=effective_on,
            notified_on=notified_on,
            policy_no=policy_no,
            reason=reason,
            paused_until=paused_until,
            opt_out_window_ends=current.opt_out_window_ends_on,
        )
    except IllegalTransition as exc:
        raise IllegalTransition(f"enrolment {enrolment_id}: {exc}", state=exc.state, event=exc.event) from None

    try:
        with conn.begin_nested():
            conn.execute(
                sa.insert(enrolment_events).values(
                    enrolment_id=enrolment_id,
                    kind=kind.value,
                    source=source,
                    event_key=event_key,
                    effective_on=effective_on,
                    notified_on=notified_on,
                    from_state=outcome.from_state,
                    to_state=outcome.to_state,
                    detail=detail,
                )
            )
    except IntegrityError:  # the same event applied concurrently: that one counts
        return AppliedEvent(enrolment_id, event_key, False, outcome.from_state, outcome.to_state)

    values = dict(outcome.updates)
    if outcome.to_state != current.state:
        values.update(state=outcome.to_state, state_since=effective_on)
    if kind is not EventKind.NOTIFY:  # a notice leaves the last reason as it was
        values.setdefault("reason", outcome.reason)
    values["updated_at"] = sa.func.current_timestamp()
    conn.execute(sa.update(enrolments).where(enrolments.c.id == enrolment_id).values(**values))
    return AppliedEvent(enrolment_id, event_key, True, outcome.from_state, outcome.to_state, outcome.refund_due)


def refunds_owed(conn: Connection, *, run_id: int | None = None) -> list[sa.Row]:
    """Deductions made from wages paid after an effective opt-out: owed back to the employee.

    One row per contribution: enrolment, employee, period, kind, amount, wage paid on, opted out on.
    """
    query = (
        sa.select(
            contributions.c.id.label("contribution_id"),
            enrolments.c.id.label("enrolment_id"),
            enrolments.c.employee_id,
            contributions.c.period,
            contributions.c.payment_kind,
            contributions.c.amount,
            payroll_lines.c.wage_paid_on,
            enrolments.c.opted_out_on,
        )
        .join(enrolments, enrolments.c.id == contributions.c.enrolment_id)
        .join(payroll_lines, payroll_lines.c.id == contributions.c.payroll_line_id)
        .where(
            enrolments.c.state == "opted_out",
            contributions.c.outcome == "contributed",
            contributions.c.amount > 0,
            payroll_lines.c.wage_paid_on > enrolments.c.opted_out_on,
        )
        .order_by(contributions.c.id)
    )
    if run_id is not None:
        query = query.where(contributions.c.run_id == run_id)
    return list(conn.execute(query))
