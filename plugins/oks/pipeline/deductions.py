"""The deductions back to payroll (docs/payroll-source.md, "The deduction list").

Payroll must deduct, from the wage it is about to pay, exactly the contribution the run sends to the
insurer: a short deduction makes the employer liable for the employee's loss, a deduction for someone
opted out is owed back. So each run hands payroll a list — one row per payroll line: payroll id,
period, payment, the amount to deduct (0,00 when nothing is: inactive, not eligible, quarantined),
who bears it and the line's outcome — written in the payroll source's own column language, so
payroll imports it the way it exports to us and this project's payroll reader reads it back.

When the extract carries payroll's own computed deduction (column ``payroll_deduction``), every line
whose deduction differs from the contribution is flagged: in the run report, masked, and by
``oks deductions``. An empty cell is no deduction given, not a zero: it is not compared.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from oks.payroll.columns import DEDUCTION_COLUMNS
from oks.payroll.parsing import CellError, parse_cell
from oks.payroll.sources import open_source
from oks.store.schema import Money

__all__ = ["DEDUCTION_KIND", "Deduction", "DeductionListError", "deduction_rows", "write_deductions", "write_deduction_list", "read_deduction_list",
           "deduction_differences"]

DEDUCTION_KIND = "oks_contribution"

# One row per payroll line of the run. Who bears it: the person's own setting, the line's, the contract's.
_ROWS = sa.text(
    """
    SELECT p.row_no, p.employer_vkn, p.payroll_id, p.contract_no, p.period, p.payment_kind, p.wage_paid_on,
           k.amount, k.outcome, COALESCE(en.borne_by_override, p.borne_by, c.borne_by, 'employee') AS borne_by
    FROM contributions k
    JOIN payroll_lines p ON p.id = k.payroll_line_id
    LEFT JOIN enrolments en ON en.id = k.enrolment_id
    LEFT JOIN contracts c ON c.id = k.contract_id
    WHERE k.run_id = :run_id
    ORDER BY p.row_no
    """
).columns(wage_paid_on=sa.Date, amount=Money)

_DIFFERENCES = sa.text(
    """
    SELECT p.row_no, p.payroll_id, p.tckn, p.first_name, p.last_name, p.contract_no, p.payment_kind,
           p.payroll_deduction, k.amount, k.outcome, k.reason
    FROM contributions k
    JOIN payroll_lines p ON p.id = k.payroll_line_id
    WHERE k.run_id = :run_id AND p.payroll_deduction IS NOT NULL AND p.payroll_deduction <> k.amount
    ORDER BY p.row_no
    """
).columns(payroll_deduction=Money, amount=Money)


@dataclass(frozen=True)
class Deduction:
    """One row of the deduction list, as payroll reads it."""

    employer_vkn: str
    payroll_id: str
    contract_no: str
    period: str
    payment_kind: str
    wage_paid_on: date
    amount: Decimal
    borne_by: str
    deduction_kind: str
    outcome: str


class DeductionListError(ValueError):
    """A deduction list that cannot be read as one: the message names the row and the field."""


def deduction_rows(conn: Connection, run_id: int) -> Iterator[Deduction]:
    for row in conn.execute(_ROWS, {"run_id": run_id}):
        yield Deduction(
            employer_vkn=row.employer_vkn, payroll_id=row.payroll_id, contract_no=row.contract_no, period=row.period,
            payment_kind=row.payment_kind, wage_paid_on=row.wage_paid_on, amount=Decimal(row.amount).quantize(Decimal("0.01")),
            borne_by=row.borne_by, deduction_kind=DEDUCTION_KIND, outcome=row.outcome,
        )  # fmt: skip


def _cell(value: object) -> str:
    if isinstance(value, Decimal):
        return f"{value:.2f}"  # 1234.56: one reading only (no thousands separator to mistake)
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def write_deductions(path: Path, deductions: Iterable[Deduction]) -> int:
    """Deductions as CSV (Turkish headers, ';', UTF-8 with BOM, as payroll products and Excel read it;
    amounts as 1234.56, the one spelling no reader takes two ways); the number of rows."""
    path.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh, delimiter=";")
        writer.writerow([c.turkish for c in DEDUCTION_COLUMNS])
        for deduction in deductions:
            writer.writerow([_cell(getattr(deduction, c.name)) for c in DEDUCTION_COLUMNS])
            count += 1
    return count


def write_deduction_list(engine: Engine, run_id: int, path: Path) -> int:
    """The run's deduction list into ``path``; the number of rows."""
    with engine.connect() as conn:
        return write_deductions(path, deduction_rows(conn, run_id))


def read_deduction_list(path: Path) -> list[Deduction]:
    """A deduction list read with the payroll reader (headers in English or Turkish, CSV or XLSX, the
    payroll source's formats). A cell that cannot be read stops the import naming its row and field:
    a deduction is never guessed."""
    rows = []
    for number, raw in open_source(path, spec=DEDUCTION_COLUMNS).rows():
        values = {}
        for column in DEDUCTION_COLUMNS:
            try:
                value = parse_cell(column, raw.get(column.name))
            except CellError as exc:
                raise DeductionListError(f"{path.name} row {number}, {column.name}: {exc}") from None
            if value is None:
                raise DeductionListError(f"{path.name} row {number}, {column.name}: empty")
            values[column.name] = value
        rows.append(Deduction(**values))
    return rows


def deduction_differences(conn: Connection, run_id: int) -> list[sa.Row]:
    """Lines whose payroll-computed deduction differs from the contribution the run sends (row number,
    payroll id, TCKN and names — mask them wherever shown —, contract, payroll's amount, the
    contribution, its outcome and reason)."""
    return list(conn.execute(_DIFFERENCES, {"run_id": run_id}))
