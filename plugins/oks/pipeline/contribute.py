"""Pipeline step: the amount of every ``contributed`` line, by :func:`oks.rules.contributions.contribution`.

Which rate applies, most specific first: the payroll line's own override, the enrolment's override,
the contract's rate or fixed amount, then the statutory rate in force for the line's pay period
(:mod:`oks.rules.statutory_rate` — law, not the yearly SGK file, so a year whose PEK limits are not
yet published still computes its contributions: 3% of PEK as payroll reports it). The amounts
are computed in Python (the one place the rule lives) and written back with one set-based UPDATE
from a staging table, so a million lines cost one statement, not a million.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from oks.rules.contributions import ContributionError, contribution
from oks.rules.parameters import period_start
from oks.rules.statutory_rate import statutory_rate_for
from oks.store.bulk import bulk_insert, refresh_statistics
from oks.store.schema import Money, Rate

__all__ = ["compute_contributions", "choose_terms"]

log = logging.getLogger(__name__)

_LINES = sa.text(
    """
    SELECT k.id, p.row_no, p.pek, p.period, p.rate_override AS line_rate, p.amount_override AS line_amount,
           en.rate_override AS enrolment_rate, en.amount_override AS enrolment_amount,
           c.rate AS contract_rate, c.fixed_amount AS contract_amount, c.contract_no, k.payment_kind
    FROM contributions k
    JOIN payroll_lines p ON p.id = k.payroll_line_id
    JOIN contracts c ON c.id = k.contract_id
    LEFT JOIN enrolments en ON en.id = k.enrolment_id
    WHERE k.run_id = :run_id AND k.outcome = 'contributed'
    ORDER BY k.id
    """
).columns(  # typed, so SQLite hands back Decimal and dates as PostgreSQL does
    sa.column("id", sa.Integer),
    sa.column("row_no", sa.Integer),
    sa.column("pek", Money),
    sa.column("period", sa.String),
    sa.column("line_rate", Rate),
    sa.column("line_amount", Money),
    sa.column("enrolment_rate", Rate),
    sa.column("enrolment_amount", Money),
    sa.column("contract_rate", Rate),
    sa.column("contract_amount", Money),
    sa.column("contract_no", sa.String),
    sa.column("payment_kind", sa.String),
)


# Per-transaction scratch table for the computed amounts (typed, so Decimals bind on SQLite too).
_STAGE = sa.Table(
    "contribution_amounts",
    sa.MetaData(),
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("amount", Money),
    sa.Column("basis", Money),
    sa.Column("rate", Rate),
    prefixes=["TEMPORARY"],
)
_STAGE_COLUMNS = ("id", "amount", "basis", "rate")


def choose_terms(line) -> tuple[Decimal | None, Decimal | None]:
    """(rate, fixed amount) for a line: the most specific override wins, a rate and an amount at the
    same level never both."""
    for rate, amount in (
        (line.line_rate, line.line_amount),
        (line.enrolment_rate, line.enrolment_amount),
        (line.contract_rate, line.contract_amount),
    ):
        if rate is not None or amount is not None:
            return (rate, None) if rate is not None else (None, amount)
    return None, None


def compute_contributions(
    engine: Engine, run_id: int, *, rounding: str = "lira", chunk_size: int = 20_000
) -> dict[str, object]:
    """Fill amount, basis and rate of the run's contributed lines; returns totals per contract and kind."""
    totals: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    rates: dict[str, Decimal] = {}  # per pay period: a run is one period, a correction may hold another
    counted = 0
    with engine.begin() as conn:
        _STAGE.create(conn)
        try:
            result = conn.execute(_LINES.execution_options(yield_per=chunk_size), {"run_id": run_id})
            for chunk in result.partitions(chunk_size):
                staged = []
                for line in chunk:
                    if line.period not in rates:
                        rates[line.period] = statutory_rate_for(period_start(line.period)).rate
                    statutory = rates[line.period]
                    rate, fixed = choose_terms(line)
                    try:
                        amount = contribution(
                            line.pek, rate=rate, fixed_amount=fixed, rounding=rounding, statutory_rate=statutory
                        )
                    except ContributionError as exc:
                        # Validation refuses such lines; one that still arrives (an enrolment's or the
                        # contract's own terms) stops the step naming the row, not just "the month".
                        raise ContributionError(exc.code, f"run {run_id}, payroll row {line.row_no} ({line.contract_no}): {exc}") from None
                    staged.append({"id": line.id, "amount": amount, "basis": line.pek, "rate": rate or statutory})
                    totals[(line.contract_no, line.payment_kind)] += amount
                counted += len(staged)
                bulk_insert(conn, _STAGE, _STAGE_COLUMNS, staged)
            conn.exec_driver_sql(
                "UPDATE contributions SET amount = s.amount, basis = s.basis, rate = s.rate "
                "FROM contribution_amounts s WHERE contributions.id = s.id"
            )
        finally:
            _STAGE.drop(conn)
        # The DES steps that follow join these rows per contract: let the planner know they exist.
        refresh_statistics(conn, "contributions", "enrolments", "employees")
    total = sum(totals.values(), Decimal("0"))
    log.info("computed %d contributions for run %s, total %s", counted, run_id, total)
    return {
        "run_id": run_id,
        "contributions": counted,
        "total": str(total),
        "statutory_rates": {period: str(rate) for period, rate in sorted(rates.items())},
        "by_contract": {f"{contract}/{kind}": str(amount) for (contract, kind), amount in sorted(totals.items())},
    }
