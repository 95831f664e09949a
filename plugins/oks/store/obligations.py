"""Reads of the payment obligations: what every view of what is owed asks the store."""

from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.engine import Engine, Row

from oks.rules.vocabulary import SETTLED
from oks.store.schema import alerts, contracts, employers, payment_obligations

__all__ = ["owed_query", "owed", "obligation_state", "obligation_amount", "recent_alerts"]


def owed_query(*where: sa.ColumnElement[bool], include_paid: bool = False) -> sa.Select:
    """Obligations with their contract, insurer and employer, soonest due first — what every view of
    what is owed reads (``oks obligations``, the deadline watch, the approvals, the operations view);
    unpaid ones only unless ``include_paid``; ``where`` narrows it (a run, a correction, an employer)."""
    query = (
        sa.select(payment_obligations, contracts.c.contract_no, contracts.c.insurer,
                  employers.c.vkn.label("employer_vkn"), employers.c.name.label("employer_name"))
        .join(contracts, contracts.c.id == payment_obligations.c.contract_id)
        .join(employers, employers.c.id == contracts.c.employer_id)
        .order_by(payment_obligations.c.due_on, contracts.c.contract_no, payment_obligations.c.id)
    )  # fmt: skip
    if not include_paid:
        query = query.where(payment_obligations.c.state.not_in(sorted(SETTLED)))
    return query.where(*where) if where else query


def owed(engine: Engine, *where: sa.ColumnElement[bool], include_paid: bool = False) -> list[Row]:
    with engine.connect() as conn:
        return list(conn.execute(owed_query(*where, include_paid=include_paid)).all())


def obligation_state(engine: Engine, obligation_id: int) -> str | None:
    with engine.connect() as conn:
        return conn.execute(sa.select(payment_obligations.c.state).where(payment_obligations.c.id == obligation_id)).scalar_one_or_none()


def obligation_amount(engine: Engine, obligation_id: int) -> Decimal:
    with engine.connect() as conn:
        return conn.execute(sa.select(payment_obligations.c.amount).where(payment_obligations.c.id == obligation_id)).scalar_one()


def recent_alerts(engine: Engine, *, limit: int = 500) -> list[Row]:
    with engine.connect() as conn:
        return list(conn.execute(sa.select(alerts).order_by(alerts.c.id.desc()).limit(limit)).all())
