"""Refunds owed to employees: one obligation per deduction made from a wage paid after the person's
effective opt-out (docs/rules.md §6), due ten business days after the opt-out became known.

Recorded set-based from :func:`oks.store.enrolments.refunds_owed` (the contributions concerned), each
deduction once — known by enrolment, period, kind and wage day, since a re-run of the month replaces its
contribution rows (the refund's link to its contribution then becomes empty; the refund stays owed); confirmed paid by operations, which stops the deadline watch.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from oks.rules.calendar import refund_deadline
from oks.store.enrolments import refunds_owed
from oks.store.schema import contracts, employees, enrolments, refund_obligations

__all__ = ["REASONS", "STOPS", "record_refunds", "open_refunds", "confirm_refund", "RefundNotFound"]

REASONS = {"opted_out": "deducted_after_opt_out", "paused": "deducted_after_pause", "left": "deducted_after_leaving_the_plan"}
"""Why a deduction is owed back, by the stop that took effect before its wage."""
STOPS = {REASONS[state]: words for state, words in (("opted_out", "opt-out"), ("paused", "pause"), ("left", "leave of the plan"))}
"""A refund's reason as people say the stop it follows."""


class RefundNotFound(LookupError):
    """No refund obligation with that id."""


def record_refunds(conn: Connection, *, known_on: date, enrolment_ids: Sequence[int] | None = None) -> int:
    """A refund obligation for every deduction owed back that has none yet — of ``enrolment_ids`` (the
    opt-outs just learnt), or of every opted-out enrolment; the number recorded."""
    if enrolment_ids is not None and not enrolment_ids:
        return 0
    # Known by the deduction it is about — its contribution row is replaced when the month runs again.
    have = {tuple(r) for r in conn.execute(sa.select(refund_obligations.c.enrolment_id, refund_obligations.c.period,
                                                      refund_obligations.c.payment_kind, refund_obligations.c.wage_paid_on))}  # fmt: skip
    owed: dict[tuple, dict] = {}
    for r in refunds_owed(conn, enrolment_ids=enrolment_ids):
        key = (r.enrolment_id, r.period, r.payment_kind, r.wage_paid_on)
        if key in have:
            continue
        if key in owed:  # two lines of one wage: one deduction, one refund
            owed[key]["amount"] += r.amount
            continue
        # Counted from the stop: from its day on, nothing could be deducted (docs/rules.md §6).
        deadline = refund_deadline(r.opted_out_on)
        owed[key] = {"contribution_id": r.contribution_id, "enrolment_id": r.enrolment_id, "period": r.period,
                     "payment_kind": r.payment_kind, "amount": r.amount, "reason": REASONS[r.state], "wage_paid_on": r.wage_paid_on,
                     "opted_out_on": r.opted_out_on, "known_on": known_on, "due_on": deadline.due_on, "cutoff": deadline.cutoff}  # fmt: skip
    rows = list(owed.values())
    if rows:
        conn.execute(sa.insert(refund_obligations), rows)
    return len(rows)


def open_refunds(conn: Connection, *, include_paid: bool = False) -> list[sa.Row]:
    """Refund obligations with the employee and contract, soonest due first."""
    query = (
        sa.select(refund_obligations, employees.c.tckn, employees.c.first_name, employees.c.last_name, employees.c.iban,
                  contracts.c.contract_no)
        .join(enrolments, enrolments.c.id == refund_obligations.c.enrolment_id)
        .join(employees, employees.c.id == enrolments.c.employee_id)
        .join(contracts, contracts.c.id == enrolments.c.contract_id)
        .order_by(refund_obligations.c.due_on, refund_obligations.c.id)
    )  # fmt: skip
    if not include_paid:
        query = query.where(refund_obligations.c.state == "due")
    return list(conn.execute(query))


def confirm_refund(conn: Connection, refund_id: int, *, by: str, bank_reference: str | None = None) -> bool:
    """Mark a refund paid to the employee; False when it already was."""
    state = conn.execute(sa.select(refund_obligations.c.state).where(refund_obligations.c.id == refund_id)).scalar()
    if state is None:
        raise RefundNotFound(f"no refund obligation #{refund_id}")
    if state == "paid":
        return False
    conn.execute(
        sa.update(refund_obligations).where(refund_obligations.c.id == refund_id)
        .values(state="paid", paid_at=sa.func.current_timestamp(), confirmed_by=by, bank_reference=bank_reference,
                updated_at=sa.func.current_timestamp())
    )  # fmt: skip
    return True
