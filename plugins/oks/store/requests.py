"""Requests an employee made at the employer — opt out (cayma), pause (ara verme), resume, leave the
plan — as operations record them (docs/rules.md §6).

A request is recorded once per enrolment, kind and day (recording it again is a no-op), only where the
enrolment allows it: an opt-out, a pause or leaving need a live policy, a resume a paused one. Until the
insurer decides it, assess stops (or restarts) the deduction from the next wage; the status sync forwards
it through DES and reads the decision, which comes back as the status event it caused.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from oks.privacy import mask_tckn
from oks.rules.lifecycle import MAX_PAUSE_MONTHS
from oks.store.schema import REQUEST_KINDS, contracts, employees, employer_requests, enrolments

__all__ = ["RequestRefused", "RecordedRequest", "record_request", "open_requests", "mark_request"]

_ALLOWED_FROM = {"OPT_OUT": ("enrolled", "paused"), "PAUSE": ("enrolled", "paused"), "LEAVE": ("enrolled", "paused"), "RESUME": ("paused",)}


class RequestRefused(ValueError):
    """A request the enrolment cannot take (no such person on the contract, not enrolled, not paused)."""


@dataclass(frozen=True)
class RecordedRequest:
    id: int
    created: bool  # False: the same request was already on record


def record_request(conn: Connection, *, contract_no: str, tckn: str, kind: str, requested_on: date, months: int | None,
                   by: str) -> RecordedRequest:  # fmt: skip
    """Record a request the employee made at the employer; refused with the reason when the enrolment
    cannot take it. The TCKN appears masked in every message."""
    if kind not in REQUEST_KINDS:
        raise RequestRefused(f"a request is one of {', '.join(REQUEST_KINDS)}, not {kind!r}")
    if (kind == "PAUSE") != (months is not None):
        raise RequestRefused("a pause needs its months (1 to 3), and only a pause has months")
    if months is not None and not 1 <= months <= MAX_PAUSE_MONTHS:
        raise RequestRefused(f"a pause runs 1 to {MAX_PAUSE_MONTHS} months, not {months}")
    enrolment = conn.execute(
        sa.select(enrolments.c.id, enrolments.c.state, enrolments.c.policy_no)
        .join(employees, employees.c.id == enrolments.c.employee_id)
        .join(contracts, contracts.c.id == enrolments.c.contract_id)
        .where(contracts.c.contract_no == contract_no, employees.c.tckn == tckn)
    ).first()
    if enrolment is None:
        raise RequestRefused(f"TCKN {mask_tckn(tckn)} has no enrolment under contract {contract_no}")
    if enrolment.state not in _ALLOWED_FROM[kind] or not enrolment.policy_no:
        raise RequestRefused(
            f"TCKN {mask_tckn(tckn)} under {contract_no} is {enrolment.state}: a {kind} request needs an enrolment that is "
            f"{' or '.join(_ALLOWED_FROM[kind])} with a policy number"
        )
    existing = conn.execute(
        sa.select(employer_requests.c.id).where(employer_requests.c.enrolment_id == enrolment.id, employer_requests.c.kind == kind,
                                                employer_requests.c.requested_on == requested_on)
    ).scalar()  # fmt: skip
    if existing is not None:
        return RecordedRequest(existing, created=False)
    created = conn.execute(
        sa.insert(employer_requests).values(enrolment_id=enrolment.id, kind=kind, requested_on=requested_on, months=months,
                                            recorded_by=by).returning(employer_requests.c.id)
    ).scalar_one()  # fmt: skip
    return RecordedRequest(created, created=True)


def open_requests(conn: Connection, contract_no: str, state: str) -> list[sa.Row]:
    """The contract's requests in ``state`` (recorded: to forward; forwarded: to read the decision of),
    oldest first, with the person's TCKN and policy number."""
    return list(conn.execute(
        sa.select(employer_requests, employees.c.tckn, enrolments.c.policy_no)
        .join(enrolments, enrolments.c.id == employer_requests.c.enrolment_id)
        .join(employees, employees.c.id == enrolments.c.employee_id)
        .join(contracts, contracts.c.id == enrolments.c.contract_id)
        .where(contracts.c.contract_no == contract_no, employer_requests.c.state == state)
        .order_by(employer_requests.c.id)
    ))  # fmt: skip


def mark_request(conn: Connection, request_id: int, **values) -> None:
    conn.execute(sa.update(employer_requests).where(employer_requests.c.id == request_id)
                 .values(**values, updated_at=sa.func.current_timestamp()))  # fmt: skip
