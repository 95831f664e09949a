"""The deductions back to payroll: the list round-trips through the payroll reader and matches the
contributions; payroll's own deduction is compared line by line; nothing personal leaves unmasked."""

from __future__ import annotations

import csv
from datetime import date
from decimal import Decimal

import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st

from oks.payroll.columns import DEDUCTION_COLUMNS
from oks.pipeline.deductions import (
    DEDUCTION_KIND,
    Deduction,
    DeductionListError,
    deduction_differences,
    read_deduction_list,
    write_deduction_list,
    write_deductions,
)
from oks.pipeline.report import publish_report
from oks.store.schema import contributions, payroll_lines
from tests.payroll_files import person
from tests.pipeline.months import month

D = Decimal


def _contributions(store, run_id) -> dict[tuple[str, str], tuple[Decimal, str]]:
    with store.connect() as conn:
        rows = conn.execute(
            sa.select(payroll_lines.c.payroll_id, payroll_lines.c.payment_kind, contributions.c.amount, contributions.c.outcome)
            .join(payroll_lines, payroll_lines.c.id == contributions.c.payroll_line_id)
            .where(contributions.c.run_id == run_id)
        ).all()  # fmt: skip
    return {(r.payroll_id, r.payment_kind): (Decimal(r.amount), r.outcome) for r in rows}


def test_the_deduction_list_read_back_by_the_payroll_reader_matches_the_contributions(store, tmp_path):
    rows = [
        person(1),
        person(2, amount_override=D("2000.00")),  # above the 3% floor: taken
        person(3, borne_by="employer"),
        person(4, citizenship="FOREIGN"),  # nothing to deduct: the list says 0,00 and why
        person(5, payment_kind="supplementary", pek=D("10000")),  # a bonus: its own row
        person(5),
        person(6, pek="bozuk"),  # refused at extraction: no line, so in the quarantine, not in the list
    ]
    run_id = month(store, tmp_path, rows)
    path = tmp_path / "out" / "deductions.csv"

    written = write_deduction_list(store, run_id, path)
    read = read_deduction_list(path)

    expected = _contributions(store, run_id)
    assert written == len(read) == len(expected) == 6
    assert {(d.payroll_id, d.payment_kind): (d.amount, d.outcome) for d in read} == expected
    by_id = {(d.payroll_id, d.payment_kind): d for d in read}
    assert by_id[("P00002", "regular")].amount == D("2000.00")
    assert by_id[("P00004", "regular")].amount == D("0.00") and by_id[("P00004", "regular")].outcome == "not_eligible"
    assert [by_id[(f"P0000{n}", "regular")].borne_by for n in (1, 3)] == ["employee", "employer"]
    assert {d.deduction_kind for d in read} == {DEDUCTION_KIND} and {d.period for d in read} == {"2026-10"}
    # Payroll ids only: the file carries no TCKN, name, IBAN or phone.
    text = path.read_text(encoding="utf-8-sig")
    assert rows[0]["tckn"] not in text and "Ayşe" not in text and rows[0]["iban"] not in text
    assert text.splitlines()[0] == ";".join(c.turkish for c in DEDUCTION_COLUMNS)


@pytest.mark.parametrize(
    ("payroll_deduction", "citizenship", "flagged"),
    [
        ("same", "TR", False),
        (None, "TR", False),  # payroll gave none: nothing to compare, not a zero
        ("one kuruş more", "TR", True),
        ("zero", "TR", True),  # payroll forgot to deduct: the employer would owe it
        ("50,00", "FOREIGN", True),  # deducted from someone who owes nothing
        ("0,00", "FOREIGN", False),
    ],
)
def test_payroll_deductions_that_differ_from_the_contribution_are_flagged(store, tmp_path, payroll_deduction, citizenship, flagged):
    contribution = D("1350.00")  # 3% of 45,001.00 with the kuruş dropped
    given_cell = {"same": contribution, "one kuruş more": contribution + D("0.01"), "zero": D("0")}.get(payroll_deduction,
                                                                                                     payroll_deduction)  # fmt: skip
    run_id = month(store, tmp_path, [person(1, citizenship=citizenship, payroll_deduction=given_cell)])
    with store.connect() as conn:
        found = deduction_differences(conn, run_id)
    assert bool(found) is flagged
    if flagged:
        (row,) = found
        assert (row.payroll_id, row.row_no) == ("P00001", 1)
        assert Decimal(row.amount) == (contribution if citizenship == "TR" else D("0"))


def test_the_report_carries_the_list_and_flags_differences_masked(store, tmp_path):
    rows = [person(1, payroll_deduction=D("1350.00")), person(2, payroll_deduction=D("999.99")), person(3)]
    run_id = month(store, tmp_path, rows)
    summary = publish_report(store, run_id, out_dir=tmp_path / "report")

    assert (summary["deductions"], summary["deduction_differences"]) == (3, 1)
    assert len(read_deduction_list(tmp_path / "report" / "deductions.csv")) == 3
    page = (tmp_path / "report" / "report.html").read_text(encoding="utf-8")
    section = page[page.index("id=deduction-differences"):]
    assert "P00002" in section and "999.99" in section and "P00001" not in section.split("</table>")[0]
    assert rows[1]["tckn"] not in page and rows[1]["tckn"][:3] + "******" in section


@pytest.mark.parametrize(
    ("cell", "field", "value", "message"),
    [
        ("Kesinti Tutarı", "amount", "1.350", "amount"),  # 1,350 or 1.35? refused, never guessed
        ("Kesinti Tutarı", "amount", "", "amount: empty"),
        ("Dönem", "period", "Ekim", "period"),
    ],
)
def test_a_deduction_list_cell_that_cannot_be_read_names_its_row_and_field(tmp_path, cell, field, value, message):
    path = tmp_path / "deductions.csv"
    good = ["1234567890", "P00001", "AG-2026-001", "2026-10", "regular", "2026-10-30", "1350.00", "employee", DEDUCTION_KIND, "contributed"]
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh, delimiter=";")
        writer.writerow([c.turkish for c in DEDUCTION_COLUMNS])
        writer.writerow(good)
        writer.writerow([value if c.turkish == cell else g for c, g in zip(DEDUCTION_COLUMNS, good, strict=True)])
    with pytest.raises(DeductionListError, match=f"row 2, {message}"):
        read_deduction_list(path)


_amounts = st.decimals(min_value=D("0"), max_value=D("999999999.99"), places=2, allow_nan=False, allow_infinity=False)


@settings(max_examples=60, deadline=None)
@given(amounts=st.lists(_amounts, min_size=1, max_size=8))
def test_any_amount_comes_back_to_the_kuruş(amounts, tmp_path_factory):
    """The list's money is read back exactly by the payroll reader, whatever its size: no float, no
    thousands separator that could be read two ways."""
    rows = [Deduction("1234567890", f"P{i:05d}", "AG-2026-001", "2026-10", "regular", date(2026, 10, 30), amount, "employee",
                      DEDUCTION_KIND, "contributed") for i, amount in enumerate(amounts)]  # fmt: skip
    path = tmp_path_factory.mktemp("law") / "deductions.csv"
    write_deductions(path, rows)
    assert [d.amount for d in read_deduction_list(path)] == amounts
