"""Insurer upload files: every shipped profile renders the canonical records and reads them back
exactly — Turkish letters in its encoding, dates and amounts in its spelling — and a cell not in the
profile's spelling is refused naming its row and column."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from oks.channels.files import FileReadError, format_amount, read_file, render, write_file
from oks.channels.profiles import SHIPPED, load_profile
from oks.channels.record import SubmissionRecord

D = Decimal
PROFILES = sorted(p.stem.upper() for p in SHIPPED.glob("*.json"))


def record(n: int, event: str = "ENROL", **overrides) -> SubmissionRecord:
    values = dict(
        employer_vkn="1234567890", employer_name="Örnek Tekstil A.Ş.", contract_no="VK-2026-001", insurer="VAKIF",
        pay_period="2026-11", deduction_date=date(2026, 11, 30), payroll_id=f"P{n:05d}", tckn=f"1000000{n:03d}46"[:11],
        first_name="Çağrı İlkay", last_name="Güneşoğlu", birth_date=date(1990, 1, 1 + n % 28), hire_date=date(2024, 3, 1),
        assessment_code="eligible", event_code=event, event_date=date(2026, 11, 30), mobile=f"+90532{n:07d}",
        email=f"p{n}@example.com.tr", iban="TR330006100519786457841326", fund_kind="STANDARD",
    )  # fmt: skip
    if event == "EXIT":
        values["exit_date"] = date(2026, 11, 15)
    if event == "CONTRIBUTION":
        values.update(amount=D("1350.00") + n, rate=D("0.03"))
    values.update(overrides)
    return SubmissionRecord(**values)


def _expected(records, profile, kind):
    return [{field: getattr(r, field) for field, _ in profile.layout(kind).columns} for r in records]


@pytest.mark.parametrize("insurer", PROFILES)
def test_each_profile_renders_the_personnel_list_and_reads_it_back(insurer, tmp_path):
    profile = load_profile(insurer)
    people = [record(1), record(2, "UPDATE", email=None), record(3, "EXIT")]
    path = write_file(people, profile, "personnel", folder=tmp_path, contract_no="VK/2026/001", period="2026-11")

    assert path.parent == tmp_path and "/" not in path.name and path.suffix == f".{profile.format}"
    assert read_file(path, profile, "personnel") == _expected(people, profile, "personnel")


@pytest.mark.parametrize("insurer", PROFILES)
def test_each_profile_renders_the_contribution_file_and_reads_it_back(insurer, tmp_path):
    profile = load_profile(insurer)
    lines = [record(1, "CONTRIBUTION"), record(2, "CONTRIBUTION", amount=D("1234567.89")), record(3, "CONTRIBUTION", amount=D("0.05"))]
    path = write_file(lines, profile, "contribution", folder=tmp_path, contract_no="VK-2026-001", period="2026-11")

    back = read_file(path, profile, "contribution")
    assert back == _expected(lines, profile, "contribution")
    assert sum(row["amount"] for row in back) == sum(r.amount for r in lines)


def test_a_profile_writes_what_it_says_headers_dates_numbers_and_encoding():
    allianz = load_profile("ALLIANZ")
    data = render([record(7, "CONTRIBUTION", amount=D("12345.60"))], allianz, "contribution")
    text = data.decode("cp1254")  # the Turkish Windows code page, as the profile says
    rows = list(csv.reader(io.StringIO(text), delimiter=";"))
    assert rows[0] == ["Grup Sözleşme No", "T.C. Kimlik Numarası", "Dönem", "Maaş Ödeme Tarihi", "Çalışan Katkı Payı"]
    assert rows[1][3:] == ["30/11/2026", "12345,60"]
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    assert format_amount(D("1234567.89"), load_profile("VAKIF")) == "1.234.567,89"
    assert format_amount(D("1234567.89"), load_profile("GENERIC")) == "1234567.89"


def test_the_xlsx_file_holds_text_cells_so_excel_never_turns_an_id_into_a_number(tmp_path):
    from openpyxl import load_workbook

    vakif = load_profile("VAKIF")
    path = write_file([record(1)], vakif, "personnel", folder=tmp_path, contract_no="VK-1", period="2026-11")
    sheet = load_workbook(path).active
    cells = {sheet.cell(1, i).value: sheet.cell(2, i) for i in range(1, sheet.max_column + 1)}
    assert cells["TC Kimlik No"].data_type == "s" and cells["TC Kimlik No"].number_format == "@"
    assert (cells["Hareket"].value, cells["Doğum Tarihi"].value) == ("GİRİŞ", "02.01.1990")


@pytest.mark.parametrize(
    ("insurer", "column", "cell", "why"),
    [
        ("VAKIF", "Katkı Payı Tutarı", "1350.00", "not an amount written as 1.234,56"),  # the other convention: refused
        ("VAKIF", "Katkı Payı Tutarı", "1.350", "not an amount"),  # thousands or decimals? never guessed
        ("GENERIC", "amount", "1,350.00", "not an amount written as 1234.56"),
        ("GENERIC", "deduction_date", "30.11.2026", "not a date written as 2026-12-31"),
        ("GENERIC", "amount", "17291716060", "not an amount"),  # a TCKN in the wrong column: refused, not echoed
    ],
)
def test_a_cell_not_in_the_profiles_spelling_is_refused_naming_row_and_column(tmp_path, insurer, column, cell, why):
    profile = load_profile(insurer)
    good = render([record(1, "CONTRIBUTION"), record(2, "CONTRIBUTION")], profile, "contribution")
    path = tmp_path / f"answer.{profile.format}"
    if profile.format == "csv":
        rows = list(csv.reader(io.StringIO(good.decode(profile.encoding)), delimiter=profile.delimiter))
        rows[2][rows[0].index(column)] = cell
        out = io.StringIO()
        csv.writer(out, delimiter=profile.delimiter).writerows(rows)
        path.write_bytes(out.getvalue().encode(profile.encoding))
    else:
        from openpyxl import load_workbook

        path.write_bytes(good)
        book = load_workbook(path)
        headers = [c.value for c in book.active[1]]
        book.active.cell(3, headers.index(column) + 1).value = cell
        book.save(path)
    with pytest.raises(FileReadError, match=f"row 3, column '{column}': .*{why}") as refused:
        read_file(path, profile, "contribution")
    assert cell not in str(refused.value)  # the cell itself is never echoed


@settings(max_examples=80, deadline=None)
@given(amount=st.decimals(min_value=D("-999999999.99"), max_value=D("999999999.99"), places=2, allow_nan=False, allow_infinity=False),
       insurer=st.sampled_from(PROFILES))  # fmt: skip
def test_any_amount_reads_back_to_the_kurus_in_every_profile(amount, insurer, tmp_path_factory):
    profile = load_profile(insurer)
    folder = tmp_path_factory.mktemp("law")
    path = write_file([record(1, "CONTRIBUTION", amount=amount)], profile, "contribution", folder=folder, contract_no="C", period="2026-11")
    assert read_file(path, profile, "contribution")[0]["amount"] == amount


def test_a_value_of_the_wrong_type_is_a_bug_never_a_file_in_no_ones_spelling():
    generic = load_profile("GENERIC")
    with pytest.raises(TypeError, match="birth_date: a date must be a date, got str"):
        render([record(1, birth_date="1990-01-02")], generic, "personnel")
    with pytest.raises(TypeError, match="amount: a money must be a Decimal, got float"):
        render([record(1, "CONTRIBUTION", amount=1350.0)], generic, "contribution")
