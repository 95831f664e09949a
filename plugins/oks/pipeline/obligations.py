"""Payment obligations: what must be paid to which insurer account, by when (docs/rules.md §5).

One obligation per contract, period, payment kind and wage payment day — a contract with two pay days
(blue- and white-collar) owes two transfers with two deadlines. The amount is the sum of the run's
contributions, so the accounting invariant (contributions = payment = obligation) holds by
construction and is checked again by reconciliation. A paid obligation is never changed silently:
a re-run that computes another amount for it stops for a human.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from oks.rules.calendar import Deadline, payment_deadline
from oks.rules.vocabulary import SETTLED, ObligationState
from oks.store.obligations import owed, owed_query
from oks.store.schema import Money, contracts, loss_claims, payment_corrections, payment_obligations

__all__ = ["ObligationConflict", "PaymentInstruction", "record_payment_obligations", "confirm_payment", "reference_text", "owed_query",
           "approval_window", "approval_request", "plan_confirmations"]

log = logging.getLogger(__name__)


class ObligationConflict(RuntimeError):
    """A re-computed amount differs from an obligation that has already been paid or instructed."""


@dataclass(frozen=True)
class PaymentInstruction:
    """What operations send to the bank: no personal data, only the employer's own obligation."""

    obligation_id: int
    insurer: str
    contract_no: str
    period: str
    payment_kind: str
    amount: Decimal
    collection_iban: str
    reference: str
    wage_paid_on: date
    due_on: date
    cutoff: time | None

    def as_text(self) -> str:
        by = f"{self.due_on:%d.%m.%Y}" + (f" before {self.cutoff:%H:%M}" if self.cutoff else "")
        return (
            f"Pay {self.amount:,.2f} TL to {self.insurer} account {self.collection_iban}, "
            f"reference \"{self.reference}\", by {by} (wages paid {self.wage_paid_on:%d.%m.%Y})."
        )


def reference_text(contract_no: str, period: str, payment_kind: str) -> str:
    """The transfer's description: the insurer matches payments by contract number and period."""
    kind = "ARA ODEME" if payment_kind == "supplementary" else "DUZENLI"  # supplementary | regular
    return f"OKS {contract_no} {period} {kind}"


_TOTALS_SQL = """
    SELECT k.contract_id, c.contract_no, c.insurer, c.collection_iban, k.period, k.payment_kind,
           p.wage_paid_on, SUM(k.amount) AS amount
    FROM contributions k
    JOIN payroll_lines p ON p.id = k.payroll_line_id
    JOIN contracts c ON c.id = k.contract_id
    WHERE k.run_id = :run_id AND k.outcome = 'contributed' AND k.amount > 0
      {contract}
    GROUP BY k.contract_id, c.contract_no, c.insurer, c.collection_iban, k.period, k.payment_kind, p.wage_paid_on
    ORDER BY c.contract_no, k.payment_kind, p.wage_paid_on
"""
_TOTALS_COLUMNS = (
    sa.column("contract_id", sa.Integer),
    sa.column("contract_no", sa.String),
    sa.column("insurer", sa.String),
    sa.column("collection_iban", sa.String),
    sa.column("period", sa.String),
    sa.column("payment_kind", sa.String),
    sa.column("wage_paid_on", sa.Date),
    sa.column("amount", Money),
)
# The whole run, or one contract with its condition written out: a plan for "(:contract_no IS NULL
# OR c.contract_no = :contract_no)" reads the whole run for each contract (1,514 × a million rows).
_TOTALS = {
    False: sa.text(_TOTALS_SQL.format(contract="")).columns(*_TOTALS_COLUMNS),
    True: sa.text(_TOTALS_SQL.format(contract="AND c.contract_no = :contract_no")).columns(*_TOTALS_COLUMNS),
}


def _corrected(conn, contract_id: int, period: str, payment_kind: str):
    """The open correction of the contract's month and kind, if DES's payment is being corrected."""
    return conn.execute(
        sa.select(payment_corrections.c.original_total, payment_corrections.c.original_wage_paid_on)
        .where(payment_corrections.c.contract_id == contract_id, payment_corrections.c.period == period,
               payment_corrections.c.payment_kind == payment_kind, payment_corrections.c.state.in_(("proposed", "approved", "sent")))
        .order_by(payment_corrections.c.id.desc())
    ).first()  # fmt: skip


def record_payment_obligations(
    engine: Engine, run_id: int, *, contract_no: str | None = None, des_payment_ids: dict[str, str] | None = None
) -> list[PaymentInstruction]:
    """Create or refresh the run's obligations (optionally for one contract); return the instructions."""
    instructions = []
    with engine.begin() as conn:
        for total in conn.execute(_TOTALS[contract_no is not None], {"run_id": run_id, "contract_no": contract_no}):
            deadline = payment_deadline(total.wage_paid_on)
            key = dict(
                contract_id=total.contract_id,
                period=total.period,
                payment_kind=total.payment_kind,
                wage_paid_on=total.wage_paid_on,
            )
            existing = conn.execute(
                sa.select(payment_obligations.c.id, payment_obligations.c.amount, payment_obligations.c.state)
                .where(*(payment_obligations.c[k] == v for k, v in key.items()))
                .with_for_update()
            ).first()
            reference = reference_text(total.contract_no, total.period, total.payment_kind)
            amount = total.amount
            corrected = _corrected(conn, total.contract_id, total.period, total.payment_kind)
            if corrected is not None:
                # DES holds this month's payment and the difference is a correction of its own: the
                # obligation stays what DES holds (the correction gets its own when approved).
                if existing is not None:
                    amount = existing.amount
                elif total.wage_paid_on == corrected.original_wage_paid_on:
                    amount = corrected.original_total
                else:
                    continue
            values = dict(
                amount=amount,
                due_on=deadline.due_on,
                cutoff=deadline.cutoff,
                reference=reference,
                collection_iban=total.collection_iban,
                run_id=run_id,
                des_payment_id=(des_payment_ids or {}).get(f"{total.contract_no}/{total.payment_kind}"),
            )
            if existing is None:
                obligation_id = conn.execute(
                    sa.insert(payment_obligations).values(**key, **values, state="due").returning(payment_obligations.c.id)
                ).scalar_one()
            elif existing.state in (*SETTLED, ObligationState.INSTRUCTED) and existing.amount != amount:
                raise ObligationConflict(
                    f"{total.contract_no} {total.period} {total.payment_kind} (wages {total.wage_paid_on}): "
                    f"obligation {existing.id} is {existing.state} for {existing.amount} TL but this run computes "
                    f"{total.amount} TL — a second transfer for the month is never made automatically; "
                    "reconcile with the insurer and correct the payroll or the obligation by hand"
                )
            else:
                obligation_id = existing.id
                if existing.state == "due":
                    conn.execute(
                        sa.update(payment_obligations)
                        .where(payment_obligations.c.id == existing.id)
                        .values(**{k: v for k, v in values.items() if v is not None or k != "des_payment_id"},
                                updated_at=sa.func.current_timestamp())
                    )  # fmt: skip
            instructions.append(
                PaymentInstruction(
                    obligation_id=obligation_id,
                    insurer=total.insurer,
                    contract_no=total.contract_no,
                    period=total.period,
                    payment_kind=total.payment_kind,
                    amount=amount,
                    collection_iban=total.collection_iban,
                    reference=reference,
                    wage_paid_on=total.wage_paid_on,
                    due_on=deadline.due_on,
                    cutoff=deadline.cutoff,
                )
            )
    log.info("run %s: %d payment obligations recorded", run_id, len(instructions))
    return instructions


def confirm_payment(
    engine: Engine,
    *,
    obligation_id: int | None = None,
    contract_no: str | None = None,
    period: str | None = None,
    payment_kind: str = "regular",
    paid_at: datetime | None = None,
    confirmed_by: str,
    amount: Decimal | None = None,
    bank_reference: str | None = None,
) -> list[int]:
    """Mark obligations paid (by id, or all of a contract's period and kind); stops their alerts.

    With ``amount`` the confirmation is checked against what is owed, so a short transfer is not
    confirmed as if it were whole; ``bank_reference`` is the bank's reference of the transfer, kept
    for the auditors. Returns the ids confirmed; confirming twice is harmless.
    """
    if obligation_id is None and not (contract_no and period):
        raise ValueError("name the obligation: its id, or contract number and period")
    query = sa.select(payment_obligations.c.id, payment_obligations.c.amount, payment_obligations.c.state,
                      payment_obligations.c.wage_paid_on, payment_obligations.c.due_on, payment_obligations.c.cutoff)
    if obligation_id is not None:
        query = query.where(payment_obligations.c.id == obligation_id)
    else:
        query = query.join(contracts, contracts.c.id == payment_obligations.c.contract_id).where(
            contracts.c.contract_no == contract_no,
            payment_obligations.c.period == period,
            payment_obligations.c.payment_kind == payment_kind,
        )
    with engine.begin() as conn:
        found = conn.execute(query.with_for_update()).all()
        if not found:
            raise LookupError(
                f"no payment obligation {obligation_id}" if obligation_id is not None
                else f"no payment obligation for {contract_no} {period} {payment_kind}"
            )  # fmt: skip
        owed = sum((row.amount for row in found), Decimal("0"))
        if amount is not None and Decimal(amount) != owed:
            raise ValueError(f"transfer of {Decimal(amount):,.2f} TL does not match the {owed:,.2f} TL owed")
        ids = [row.id for row in found]
        moment = paid_at or datetime.now(UTC)
        for row in found:
            if row.state in SETTLED:
                continue  # confirming twice is harmless
            # Paid against its deadline: after it, the obligation is late and the employee's loss is on record.
            late = Deadline(row.wage_paid_on, row.due_on, row.cutoff).days_late(moment)
            conn.execute(
                sa.update(payment_obligations).where(payment_obligations.c.id == row.id).values(
                    state=ObligationState.LATE if late else ObligationState.PAID, days_late=late or None, paid_at=moment,
                    confirmed_by=confirmed_by, bank_reference=(bank_reference or "").strip()[:64] or None,
                    updated_at=sa.func.current_timestamp(),
                )
            )  # fmt: skip
            if late:
                conn.execute(sa.insert(loss_claims).values(obligation_id=row.id, days_late=late, amount=row.amount))
                log.warning("obligation %s paid %d day(s) late: a loss claim is recorded (oks loss-claims)", row.id, late)
    return ids


def approval_window(until_due: timedelta, grace: timedelta) -> timedelta:
    """How long a bank-transfer approval stays open: until the statutory deadline — and when the
    obligation is due soon or overdue, the ``grace`` period, never less: an overdue payment is
    exactly when the request must stay open while the deadline watch pages every day."""
    return max(until_due, grace)


def approval_request(owed_row: Any, *, now: datetime, grace: timedelta) -> dict[str, Any]:
    """The ``confirm_bank_transfer`` request for one unpaid obligation (a row of
    :func:`~oks.store.obligations.owed_query`): what to transfer where, with which reference, by when."""
    o = owed_row
    due_at = Deadline(o.wage_paid_on, o.due_on, o.cutoff).due_at()
    by = f"{o.due_on:%d.%m.%Y}" + (f" {o.cutoff:%H:%M}" if o.cutoff else " (bank closing time)")
    return {
        "obligation_id": o.id,
        "subject": f"Obligation #{o.id}: {o.amount:,.2f} TL to {o.insurer} ({o.contract_no}, {o.period} {o.payment_kind})",
        "body": (
            f"Transfer **{o.amount:,.2f} TL** to **{o.insurer}** account `{o.collection_iban}` "
            f"with the description `{o.reference or reference_text(o.contract_no, o.period, o.payment_kind)}` "
            f"by **{by}**.\n\nApprove once the bank has executed the transfer. A bank-statement job may "
            f"answer instead with `oks confirm-payment --obligation {o.id} --amount {o.amount} --by <who>`."
        ),
        "response_timeout": approval_window(due_at.astimezone(UTC) - now, grace),
    }


def plan_confirmations(engine: Engine, *where: sa.ColumnElement[bool], grace: timedelta, now: datetime | None = None) -> list[dict[str, Any]]:
    """One approval request per unpaid obligation that ``where`` selects (a run's, a correction's)."""
    now = now or datetime.now(UTC)
    return [approval_request(row, now=now, grace=grace) for row in owed(engine, *where)]
