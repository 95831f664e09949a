"""Corrections of a payment DES already holds: a difference per person, sent only when approved.

A month is never paid twice (docs/architecture.md §6). When a re-run computes other amounts for a contract,
period and kind whose payment DES already holds — payroll corrected one PEK after the transfer — no
second payment of that kind is created. Instead the step computes, per person, what this run owes
beside what the insurer accepted (plus earlier corrections already sent), and records the non-zero
differences as a *proposed correction*. Operations review it (``oks corrections``) and approve it
(``oks correction approve``): only then is the positive part sent to DES as its own SUPPLEMENTARY
payment, dated by the day the difference is deducted, with its own payment obligation and statutory
deadline. A negative part (paid too much) is recorded to be reclaimed from the insurer, never netted.

Exactly once: the proposal is unique per original payment and content; the approval fixes the wage
day *before* anything is sent, so a retry after a crash derives the same idempotency key and DES
re-attaches; a sent correction is never sent again; a later re-run that computes other differences
supersedes a proposal that was not yet approved.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from oks.des.gateway import DesGateway, iter_payment_items
from oks.des.keys import content_hash
from oks.des.ledger import Ledger
from oks.des.models import PaymentItem
from oks.privacy import mask_tckn
from oks.rules.calendar import ISTANBUL, payment_deadline
from oks.store.schema import contracts, payment_correction_items, payment_corrections, payment_obligations

__all__ = [
    "OPEN",
    "HeldPayment",
    "CorrectionError",
    "held_payment",
    "compare_with_held",
    "correction_payment_ids",
    "open_corrections",
    "approve_correction",
    "refuse_correction",
    "correction_reference",
]

log = logging.getLogger(__name__)

OPEN = ("proposed", "approved", "sent")
"""States whose differences count: proposed and approved ones are owed, sent ones paid."""


class CorrectionError(RuntimeError):
    """A correction that cannot be approved or refused as asked."""


@dataclass(frozen=True)
class HeldPayment:
    """A payment DES holds for a contract, period and kind, as the insurer answered it."""

    payment_id: str
    kind: str  # REGULAR | SUPPLEMENTARY
    state: str
    wage_paid_on: date
    total: Decimal  # accepted by the insurer (transferred), or sent (not yet answered)
    paid: dict[tuple[str, str], Decimal]  # (tckn, policy_no) → amount accepted or pending
    refused: frozenset[str]  # TCKNs whose item the insurer rejected


def correction_payment_ids(conn: Connection, contract_no: str | None = None) -> set[str]:
    """DES ids of the payments that carry approved corrections (not months of their own)."""
    query = sa.select(payment_corrections.c.des_payment_id).where(payment_corrections.c.des_payment_id.is_not(None))
    if contract_no is not None:
        query = query.join(contracts, contracts.c.id == payment_corrections.c.contract_id).where(contracts.c.contract_no == contract_no)
    return set(conn.execute(query).scalars())


def held_payment(engine: Engine, gateway: DesGateway, contract_no: str, period: str, kind: str) -> HeldPayment | None:
    """The payment of ``kind`` (REGULAR | SUPPLEMENTARY) that DES holds for the contract and period,
    from any run — none if there is none, or only ones the insurer rejected as a whole."""
    with engine.connect() as conn:
        corrections = correction_payment_ids(conn, contract_no)
    records = Ledger(engine).find(contract_no, period=period, kind="payment")
    ids = list(dict.fromkeys(r.des_id for r in records if r.des_id and r.payment_kind == kind and r.des_id not in corrections))
    held = []
    for payment_id in ids:
        page = gateway.read_payment(payment_id, limit=1)
        if page.kind == kind and page.state != "REJECTED":
            held.append(page)
    if not held:
        return None
    if len(held) > 1:
        raise CorrectionError(
            f"{contract_no} {period}: DES holds {len(held)} {kind} payments ({', '.join(p.payment_id for p in held)}) — "
            "paid twice already; reconcile with the insurer before anything else"
        )
    (page,) = held
    paid: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    refused = set()
    for item in iter_payment_items(gateway, page.payment_id):
        if item.status == "REJECTED":
            refused.add(item.tckn)
        else:
            paid[(item.tckn, item.policy_no)] += item.amount
    total = page.accepted_total if page.state == "TRANSFERRED" else page.total
    return HeldPayment(page.payment_id, page.kind, page.state, page.wage_paid_on, total, dict(paid), frozenset(refused))


def _sent_differences(conn: Connection, original: str) -> dict[tuple[str, str], Decimal]:
    """Per person, what sent corrections of ``original`` changed."""
    sent = conn.execute(
        sa.select(payment_correction_items.c.tckn, payment_correction_items.c.policy_no, payment_correction_items.c.difference)
        .join(payment_corrections, payment_corrections.c.id == payment_correction_items.c.correction_id)
        .where(payment_corrections.c.original_des_payment_id == original, payment_corrections.c.state == "sent")
    ).all()  # fmt: skip
    # Both signs: a positive difference was paid, a negative one is on record to reclaim — either way
    # it is settled by that correction and not proposed again.
    added: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for tckn, policy_no, difference in sent:
        added[(tckn, policy_no)] += difference
    return added


def compare_with_held(
    engine: Engine, *, run_id: int, contract_no: str, period: str, payment_kind: str, held: HeldPayment,
    due: Iterable[tuple[str, str, Decimal]],
) -> int | None:
    """Compare what this run owes (``due``: tckn, policy no, amount) with what DES holds: the id of the
    proposed correction when they differ, ``None`` when they agree. Nothing is sent here."""
    owed: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for tckn, policy_no, amount in due:
        if tckn not in held.refused:  # refused by the insurer: outcome "rejected" again, not re-paid here
            owed[(tckn, policy_no)] += amount
    with engine.begin() as conn:
        paid = dict(held.paid)
        for key, amount in _sent_differences(conn, held.payment_id).items():
            paid[key] = paid.get(key, Decimal("0")) + amount
        items = sorted(
            (tckn, policy_no, paid.get((tckn, policy_no), Decimal("0")), owed.get((tckn, policy_no), Decimal("0")))
            for tckn, policy_no in set(owed) | set(paid)
        )
        differing = [(t, p, was, now, now - was) for t, p, was, now in items if now != was]
        if not differing:
            return None
        digest = content_hash("correction", held.payment_id, *(f"{t}|{p}|{d}" for t, p, _, _, d in differing))
        contract_id = conn.execute(sa.select(contracts.c.id).where(contracts.c.contract_no == contract_no)).scalar_one()
        existing = conn.execute(
            sa.select(payment_corrections.c.id, payment_corrections.c.state).where(
                payment_corrections.c.original_des_payment_id == held.payment_id, payment_corrections.c.content_hash == digest
            )
        ).first()
        if existing is not None:
            return existing.id
        to_pay = sum((d for *_, d in differing if d > 0), Decimal("0"))
        over_paid = -sum((d for *_, d in differing if d < 0), Decimal("0"))
        correction_id = conn.execute(
            sa.insert(payment_corrections).values(
                contract_id=contract_id, period=period, payment_kind=payment_kind, original_des_payment_id=held.payment_id,
                original_total=held.total, original_wage_paid_on=held.wage_paid_on, content_hash=digest,
                to_pay=to_pay, over_paid=over_paid, people=len(differing), state="proposed", run_id=run_id,
            ).returning(payment_corrections.c.id)
        ).scalar_one()  # fmt: skip
        conn.execute(
            sa.insert(payment_correction_items),
            [{"correction_id": correction_id, "tckn": t, "policy_no": p, "paid": was, "due": now, "difference": d}
             for t, p, was, now, d in differing],
        )  # fmt: skip
        # One proposal stands per payment: a later run's differences replace one nobody approved yet.
        conn.execute(
            sa.update(payment_corrections)
            .where(payment_corrections.c.original_des_payment_id == held.payment_id, payment_corrections.c.state == "proposed",
                   payment_corrections.c.id != correction_id)
            .values(state="refused", reason=f"superseded by correction #{correction_id}", updated_at=sa.func.current_timestamp())
        )  # fmt: skip
    log.warning(
        "%s %s %s: DES holds payment %s; this run differs for %d people: correction #%d proposed (%s TL to pay, %s TL over-paid)"
        " — nothing is sent until operations approve it",
        contract_no, period, payment_kind, held.payment_id, len(items), correction_id, to_pay, over_paid,
    )  # fmt: skip
    return correction_id


_LIST = (
    sa.select(payment_corrections, contracts.c.contract_no, contracts.c.insurer, contracts.c.collection_iban)
    .join(contracts, contracts.c.id == payment_corrections.c.contract_id)
    .order_by(payment_corrections.c.id)
)


def open_corrections(engine: Engine, *, include_closed: bool = False, correction_id: int | None = None) -> list[dict]:
    """Corrections with their people (TCKN masked): what operations review before approving; one
    correction, whatever its state, with ``correction_id``."""
    if correction_id is not None:
        query = _LIST.where(payment_corrections.c.id == correction_id)
    else:
        query = _LIST if include_closed else _LIST.where(payment_corrections.c.state.in_(("proposed", "approved")))
    with engine.connect() as conn:
        rows = conn.execute(query).all()
        items = defaultdict(list)
        if rows:
            for item in conn.execute(
                sa.select(payment_correction_items).where(payment_correction_items.c.correction_id.in_([r.id for r in rows]))
                .order_by(payment_correction_items.c.id)
            ):  # fmt: skip
                items[item.correction_id].append(
                    {"tckn": mask_tckn(item.tckn), "paid": item.paid, "due": item.due, "difference": item.difference}
                )
    return [{**row._mapping, "items": items[row.id]} for row in rows]


def correction_reference(contract_no: str, period: str) -> str:
    """The transfer's description for a correction: the insurer matches it to the contract and month."""
    return f"OKS {contract_no} {period} DUZELTME"


def refuse_correction(engine: Engine, correction_id: int, *, by: str, reason: str) -> None:
    with engine.begin() as conn:
        row = conn.execute(sa.select(payment_corrections.c.state).where(payment_corrections.c.id == correction_id).with_for_update()).first()
        if row is None:
            raise CorrectionError(f"no correction #{correction_id}")
        if row.state != "proposed":
            raise CorrectionError(f"correction #{correction_id} is {row.state}: only a proposed one can be refused")
        conn.execute(
            sa.update(payment_corrections).where(payment_corrections.c.id == correction_id).values(
                state="refused", decided_by=by, decided_at=sa.func.current_timestamp(), reason=reason[:500],
                updated_at=sa.func.current_timestamp(),
            )
        )  # fmt: skip


def approve_correction(
    engine: Engine, gateway: DesGateway, correction_id: int, *, approved_by: str, wage_paid_on: date | None = None
) -> dict[str, object]:
    """Approve a proposed correction and send its positive differences to DES as one SUPPLEMENTARY
    payment, with its own obligation; returns what was done. Approving a sent one again sends
    nothing; an approved one whose sending was interrupted is sent under the same key (DES
    re-attaches)."""
    with engine.begin() as conn:
        row = conn.execute(
            _LIST.where(payment_corrections.c.id == correction_id).with_for_update(of=payment_corrections)
        ).first()  # fmt: skip
        if row is None:
            raise CorrectionError(f"no correction #{correction_id}")
        if row.state == "refused":
            raise CorrectionError(f"correction #{correction_id} was refused ({row.reason}): it is never sent")
        if row.state == "sent":
            return {"correction_id": correction_id, "state": "sent", "des_payment_id": row.des_payment_id, "sent_now": False}
        day = row.wage_paid_on or wage_paid_on or datetime.now(ISTANBUL).date()
        if row.state == "proposed":
            # The deduction day is fixed before anything is sent: a retry derives the same payment key.
            conn.execute(
                sa.update(payment_corrections).where(payment_corrections.c.id == correction_id).values(
                    state="approved", decided_by=approved_by, decided_at=sa.func.current_timestamp(), wage_paid_on=day,
                    updated_at=sa.func.current_timestamp(),
                )
            )  # fmt: skip
        items = conn.execute(
            sa.select(payment_correction_items.c.tckn, payment_correction_items.c.policy_no, payment_correction_items.c.difference)
            .where(payment_correction_items.c.correction_id == correction_id, payment_correction_items.c.difference > 0)
            .order_by(payment_correction_items.c.tckn)
        ).all()  # fmt: skip
    payment_id = None
    if items:
        submission = gateway.submit_payment(
            row.contract_no, row.period, "SUPPLEMENTARY", day,
            [PaymentItem(tckn=t, policy_no=p, amount=d) for t, p, d in items], run_id=None,
        )  # fmt: skip
        gateway.send_payment_to_insurer(submission.payment_id)
        payment_id = submission.payment_id
    obligation_id = None
    with engine.begin() as conn:
        if items:
            deadline = payment_deadline(day)
            obligation_id = conn.execute(
                sa.select(payment_obligations.c.id).where(payment_obligations.c.correction_id == correction_id)
            ).scalar_one_or_none()
            if obligation_id is None:
                obligation_id = conn.execute(
                    sa.insert(payment_obligations).values(
                        contract_id=row.contract_id, period=row.period, payment_kind="correction", wage_paid_on=day,
                        amount=row.to_pay, due_on=deadline.due_on, cutoff=deadline.cutoff, state="due",
                        reference=correction_reference(row.contract_no, row.period), collection_iban=row.collection_iban,
                        des_payment_id=payment_id, run_id=row.run_id, correction_id=correction_id,
                    ).returning(payment_obligations.c.id)
                ).scalar_one()  # fmt: skip
        conn.execute(
            sa.update(payment_corrections).where(payment_corrections.c.id == correction_id).values(
                state="sent", des_payment_id=payment_id, updated_at=sa.func.current_timestamp()
            )
        )  # fmt: skip
    log.info("correction #%d approved by %s: %s TL sent as DES payment %s, obligation %s", correction_id, approved_by,
             row.to_pay, payment_id, obligation_id)  # fmt: skip
    return {"correction_id": correction_id, "state": "sent", "des_payment_id": payment_id, "obligation_id": obligation_id,
            "to_pay": str(row.to_pay), "over_paid": str(row.over_paid), "wage_paid_on": day.isoformat(), "sent_now": True}  # fmt: skip
