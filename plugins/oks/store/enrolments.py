"""Enrolments and their events in the store: applied idempotently, refused when illegal.

Every change of an enrolment is an event with a source (payroll, insurer, operator) and an
``event_key`` — the DES event id, or e.g. ``run:42:submit`` for the project's own steps. The pair
(enrolment, event_key) is unique, so an event delivered twice (a re-run, a re-read DES cursor) is
recorded once and changes nothing the second time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from oks.rules.lifecycle import EventKind, IllegalTransition, transition
from oks.rules.vocabulary import Outcome
from oks.store.bulk import bulk_insert, update_many
from oks.store.schema import contracts, contributions, employees, enrolment_events, enrolments, payroll_lines

__all__ = ["SOURCES", "AppliedEvent", "EventSpec", "BulkOutcome", "ensure_enrolment", "apply_event", "apply_events", "enrolments_by_tckn",
           "refunds_owed", "not_in_payroll"]

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


@dataclass(frozen=True)
class EventSpec:
    """One event to apply: what happened to which enrolment, according to whom."""

    enrolment_id: int
    kind: EventKind | str
    source: str
    event_key: str
    effective_on: date
    notified_on: date | None = None
    policy_no: str | None = None
    reason: str | None = None
    paused_until: date | None = None
    detail: dict | None = None


@dataclass
class BulkOutcome:
    applied: list[AppliedEvent]
    already_applied: int
    refused: list[tuple[EventSpec, str]]  # (event, why) — illegal transitions, left for a human


_CHUNK = 2000
_COPY_FROM = 50
_EVENT_COLUMNS = ("enrolment_id", "kind", "source", "event_key", "effective_on", "notified_on", "from_state", "to_state", "detail")


def apply_events(conn: Connection, specs: Sequence[EventSpec]) -> BulkOutcome:
    """Apply many events in a few statements: current states and known keys are read in bulk, the
    lifecycle decides each event in order (several for one enrolment apply one after the other),
    and events and final enrolment rows are written in bulk. Illegal events are returned, not
    applied; events seen before are skipped."""
    for spec in specs:
        if spec.source not in SOURCES:
            raise ValueError(f"event source must be one of {', '.join(SOURCES)} (got {spec.source!r})")
    ids = sorted({spec.enrolment_id for spec in specs})
    current: dict[int, dict] = {}
    for i in range(0, len(ids), _CHUNK):
        part = ids[i : i + _CHUNK]
        # What the lifecycle reads (the state and the end of the opt-out window), locked until commit.
        query = sa.select(enrolments.c.id, enrolments.c.state, enrolments.c.opt_out_window_ends_on)
        for row in conn.execute(query.where(_one_of(conn, enrolments.c.id, part)).with_for_update()):
            current[row.id] = {"state": row.state, "opt_out_window_ends_on": row.opt_out_window_ends_on}
    known = _known_events(conn, sorted({(spec.enrolment_id, spec.event_key) for spec in specs}))
    missing = set(ids) - set(current)
    if missing:
        raise LookupError(f"no enrolment {', '.join(map(str, sorted(missing)[:5]))}")

    outcome = BulkOutcome([], 0, [])
    new_events: list[dict] = []
    changed: dict[int, dict] = {}
    for spec in specs:
        kind = EventKind(spec.kind)
        if (spec.enrolment_id, spec.event_key) in known:
            outcome.already_applied += 1
            continue
        row = current[spec.enrolment_id]
        try:
            step = transition(
                row["state"], kind, effective_on=spec.effective_on, notified_on=spec.notified_on,
                policy_no=spec.policy_no, reason=spec.reason, paused_until=spec.paused_until,
                opt_out_window_ends=row["opt_out_window_ends_on"],
            )  # fmt: skip
        except IllegalTransition as exc:
            outcome.refused.append((spec, f"enrolment {spec.enrolment_id}: {exc}"))
            continue
        values = dict(step.updates)
        if step.to_state != row["state"]:
            values.update(state=step.to_state, state_since=spec.effective_on)
        if kind not in (EventKind.NOTIFY, EventKind.UPDATE):  # a notice or a new record leaves the last reason as it was
            values.setdefault("reason", step.reason)
        row.update(values)
        changed.setdefault(spec.enrolment_id, {}).update(values)
        known[(spec.enrolment_id, spec.event_key)] = (step.from_state, step.to_state)
        new_events.append(
            {"enrolment_id": spec.enrolment_id, "kind": kind.value, "source": spec.source, "event_key": spec.event_key,
             "effective_on": spec.effective_on, "notified_on": spec.notified_on, "from_state": step.from_state,
             "to_state": step.to_state, "detail": spec.detail}
        )  # fmt: skip
        outcome.applied.append(
            AppliedEvent(spec.enrolment_id, spec.event_key, True, step.from_state, step.to_state, step.refund_due)
        )
    if len(new_events) >= _COPY_FROM:
        # A run's answers from the insurer: COPY, not a hundred thousand bound INSERT rows. A key
        # already stored cannot be among them (read above, under the enrolments' row locks).
        bulk_insert(conn, enrolment_events, _EVENT_COLUMNS, new_events)
    elif new_events:
        conn.execute(sa.insert(enrolment_events), new_events)
    # One UPDATE per distinct set of changed columns (usually one or two shapes for a whole batch).
    by_shape: dict[tuple[str, ...], list[dict]] = {}
    for enrolment_id, values in changed.items():
        by_shape.setdefault(tuple(sorted(values)), []).append({"id": enrolment_id, **values})
    for rows in by_shape.values():
        update_many(conn, enrolments, rows)
    return outcome


# The events already applied, looked up by their exact (enrolment, key) pairs through the unique index,
# one probe per pair: the LATERAL subquery with its LIMIT cannot be flattened into a join, so the
# plan does not depend on the table's statistics. Asked by enrolment alone (or as a plain join),
# PostgreSQL hashed the whole table for every batch until it had statistics — and a month's events
# are written faster than anything analyzes them: at a million people, minutes per DES stage.
_KNOWN_BY_PAIRS = sa.text(
    "SELECT e.enrolment_id, e.event_key, e.from_state, e.to_state "
    "FROM unnest(CAST(:ids AS integer[]), CAST(:keys AS text[])) AS k(enrolment_id, event_key) "
    "CROSS JOIN LATERAL (SELECT * FROM enrolment_events e "
    "WHERE e.enrolment_id = k.enrolment_id AND e.event_key = k.event_key LIMIT 1) e"
)


def _one_of(conn: Connection, column: sa.Column, ids: Sequence[int]):
    """``column IN ids``: on PostgreSQL one array parameter (``= ANY``), not thousands of bound values
    that SQLAlchemy renders one by one for every batch."""
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import ARRAY

        return column == sa.any_(sa.cast(sa.bindparam("ids", list(ids), type_=ARRAY(sa.Integer)), ARRAY(sa.Integer)))
    return column.in_(ids)


def _known_events(conn: Connection, pairs: Sequence[tuple[int, str]]) -> dict[tuple[int, str], tuple[str, str]]:
    known: dict[tuple[int, str], tuple[str, str]] = {}
    for i in range(0, len(pairs), _CHUNK):
        part = pairs[i : i + _CHUNK]
        if conn.dialect.name == "postgresql":
            rows = conn.execute(_KNOWN_BY_PAIRS, {"ids": [p[0] for p in part], "keys": [p[1] for p in part]})
        else:  # SQLite plans the index for an IN list by itself
            wanted = set(part)
            rows = (r for r in conn.execute(
                sa.select(enrolment_events.c.enrolment_id, enrolment_events.c.event_key, enrolment_events.c.from_state,
                          enrolment_events.c.to_state).where(enrolment_events.c.enrolment_id.in_(sorted({p[0] for p in part})))
            ) if (r.enrolment_id, r.event_key) in wanted)  # fmt: skip
        for row in rows:
            known[(row.enrolment_id, row.event_key)] = (row.from_state, row.to_state)
    return known


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
    spec = EventSpec(enrolment_id, kind, source, event_key, effective_on, notified_on, policy_no, reason, paused_until, detail)
    try:
        with conn.begin_nested():
            outcome = apply_events(conn, [spec])
    except IntegrityError:  # the same event applied concurrently: that one counts
        applied = conn.execute(
            sa.select(enrolment_events.c.from_state, enrolment_events.c.to_state).where(
                enrolment_events.c.enrolment_id == enrolment_id, enrolment_events.c.event_key == event_key
            )
        ).one()
        return AppliedEvent(enrolment_id, event_key, False, applied.from_state, applied.to_state)
    if outcome.refused:
        (_, message), = outcome.refused
        raise IllegalTransition(message, state=current_state(conn, enrolment_id), event=EventKind(kind).value)
    if outcome.applied:
        return outcome.applied[0]
    seen = conn.execute(
        sa.select(enrolment_events.c.from_state, enrolment_events.c.to_state).where(
            enrolment_events.c.enrolment_id == enrolment_id, enrolment_events.c.event_key == event_key
        )
    ).one()
    return AppliedEvent(enrolment_id, event_key, False, seen.from_state, seen.to_state)


def enrolments_by_tckn(conn: Connection, contract_no: str, *conditions) -> dict[str, int]:
    """A contract's enrolments keyed by the employee's TCKN — how DES and the insurers name people.
    ``conditions`` narrow it (e.g. ``enrolments.c.state == "enrolled"``). Employees are registered
    after validation, so their TCKNs are already canonical."""
    query = (
        sa.select(employees.c.tckn, enrolments.c.id)
        .join(enrolments, enrolments.c.employee_id == employees.c.id)
        .join(contracts, contracts.c.id == enrolments.c.contract_id)
        .where(contracts.c.contract_no == contract_no, *conditions)
    )
    return dict(conn.execute(query).all())


def current_state(conn: Connection, enrolment_id: int) -> str:
    return conn.execute(sa.select(enrolments.c.state).where(enrolments.c.id == enrolment_id)).scalar_one()


def refunds_owed(conn: Connection, *, run_id: int | None = None, enrolment_ids: Sequence[int] | None = None) -> list[sa.Row]:
    """Deductions made from wages paid on or after the day a stop took effect — an opt-out, a pause, a
    leave of the plan or a cancellation, not the exit of a leaver (whose exit month is paid): owed back
    to the employee (docs/rules.md §6).

    One row per contribution: enrolment, employee, period, kind, amount, wage paid on, the stop's state
    and reason, and the day it took effect (``opted_out_on``, the refund's column, for every stop).
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
            enrolments.c.state,
            enrolments.c.state_since.label("opted_out_on"),
        )
        .join(enrolments, enrolments.c.id == contributions.c.enrolment_id)
        .join(payroll_lines, payroll_lines.c.id == contributions.c.payroll_line_id)
        .where(
            enrolments.c.state.in_(("opted_out", "paused", "left")),
            sa.or_(enrolments.c.state != "left", sa.func.coalesce(enrolments.c.reason, "") != "left_employment"),
            enrolments.c.state_since.is_not(None),
            contributions.c.outcome == Outcome.CONTRIBUTED,
            contributions.c.amount > 0,
            payroll_lines.c.wage_paid_on >= enrolments.c.state_since,  # as oks.rules.lifecycle.stops_wage
        )
        .order_by(contributions.c.id)
    )
    if run_id is not None:
        query = query.where(contributions.c.run_id == run_id)
    if enrolment_ids is not None:
        # The enrolments a stop has just reached (from a few, not every month's every contribution).
        query = query.where(enrolments.c.id.in_(sorted(enrolment_ids)))
    return list(conn.execute(query))


_NOT_IN_PAYROLL = sa.text(
    """
    SELECT c.contract_no, e.payroll_id, e.tckn, e.first_name, e.last_name, en.state, en.policy_no
    FROM enrolments en
    JOIN employees e ON e.id = en.employee_id
    JOIN employers er ON er.id = e.employer_id
    JOIN contracts c ON c.id = en.contract_id
    WHERE en.state IN ('pending', 'submitted', 'enrolled', 'paused')
      AND er.vkn IN (SELECT DISTINCT l.employer_vkn FROM payroll_lines l WHERE l.run_id = :run_id)
      AND NOT EXISTS (SELECT 1 FROM payroll_lines p WHERE p.run_id = :run_id AND p.employer_vkn = er.vkn AND p.tckn = e.tckn)
    ORDER BY c.contract_no, e.payroll_id
    """
)


def not_in_payroll(conn: Connection, run_id: int) -> list[sa.Row]:
    """Enrolments still live at the insurer whose person is absent from this run's payroll of their
    employer: left, or missing from the export? Reported, never exited on a guess — an EXIT goes only
    once payroll gives the exit date. Contract, payroll id, TCKN, names, state, policy number."""
    return list(conn.execute(_NOT_IN_PAYROLL, {"run_id": run_id}))
