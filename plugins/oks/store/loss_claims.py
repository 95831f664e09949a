"""Loss claims: what a late payment costs the employee, which the employer makes good (4632 md. 5).

One claim per obligation confirmed after its deadline, recorded with it (days late, amount). The fund
return over those days is data: the insurer supplies it, or operations enter it; the loss is computed
from it — amount × return %, to the kuruş, half up — and never from a return made up here.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from oks.store.schema import contracts, loss_claims, payment_obligations

__all__ = ["RETURN_SOURCES", "LossClaimRefused", "parse_percent", "loss_claims_query", "enter_return", "settle_claim"]

RETURN_SOURCES = ("insurer", "operator")


class LossClaimRefused(ValueError):
    """A loss claim that cannot take what was asked (no such claim, a settled one, a return out of range)."""


_PERCENT = re.compile(r"-?\d{1,2}(?:[.,]\d{1,5})?")


def parse_percent(text: str) -> Decimal:
    """A return in percent as people write it — ``0,85`` or ``0.85``, at most five decimals; nothing else
    (no thousands, no exponent) is read."""
    cleaned = text.strip().removesuffix("%").strip()
    if not _PERCENT.fullmatch(cleaned):
        raise LossClaimRefused(f"a return in percent is like 0,85 or -1.2 (up to five decimals), not {text!r}")
    return Decimal(cleaned.replace(",", "."))


def loss_claims_query(*, include_settled: bool = False) -> sa.Select:
    query = (
        sa.select(loss_claims, payment_obligations.c.period, payment_obligations.c.payment_kind, payment_obligations.c.due_on,
                  payment_obligations.c.paid_at, contracts.c.contract_no, contracts.c.insurer)
        .join(payment_obligations, payment_obligations.c.id == loss_claims.c.obligation_id)
        .join(contracts, contracts.c.id == payment_obligations.c.contract_id)
        .order_by(loss_claims.c.id)
    )  # fmt: skip
    return query if include_settled else query.where(loss_claims.c.state != "settled")


def enter_return(conn: Connection, claim_id: int, *, percent: Decimal, source: str, by: str) -> Decimal:
    """Record the fund's return over the days late, as the insurer gave it or operations found it; the loss."""
    if source not in RETURN_SOURCES:
        raise LossClaimRefused(f"the return comes from one of {', '.join(RETURN_SOURCES)}, not {source!r}")
    if not isinstance(percent, Decimal) or not percent.is_finite() or not Decimal("-100") < percent < Decimal("100"):
        raise LossClaimRefused(f"a return over the days late is a percentage between -100 and 100, not {percent}")
    claim = conn.execute(sa.select(loss_claims).where(loss_claims.c.id == claim_id).with_for_update()).first()
    if claim is None:
        raise LossClaimRefused(f"no loss claim #{claim_id}")
    if claim.state == "settled":
        raise LossClaimRefused(f"loss claim #{claim_id} is settled")
    # A negative return lost the employee nothing: the employer owes no more than the late contribution itself.
    loss = max(Decimal("0"), claim.amount * percent / 100).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    conn.execute(sa.update(loss_claims).where(loss_claims.c.id == claim_id).values(
        fund_return_percent=percent, return_source=source, loss=loss, state="known", entered_by=by, updated_at=sa.func.current_timestamp()))  # fmt: skip
    return loss


def settle_claim(conn: Connection, claim_id: int, *, by: str) -> None:
    """The loss was paid to the employee's plan."""
    claim = conn.execute(sa.select(loss_claims.c.state).where(loss_claims.c.id == claim_id).with_for_update()).first()
    if claim is None:
        raise LossClaimRefused(f"no loss claim #{claim_id}")
    if claim.state != "known":
        raise LossClaimRefused(f"loss claim #{claim_id} is {claim.state}: enter the fund's return first (oks loss-claim return)")
    conn.execute(sa.update(loss_claims).where(loss_claims.c.id == claim_id).values(
        state="settled", entered_by=by, updated_at=sa.func.current_timestamp()))  # fmt: skip
