"""File-level problems of payroll sources: each a typed error naming the line or column, never a
traceback, never rows silently lost or garbled."""

from __future__ import annotations

import csv
import zipfile

import pytest

from oks.payroll.sources import CsvSource, PayrollStructureError, XlsxSource, detect_encoding, open_source
from tests.payroll_files import person, write_csv, write_xlsx


def lines_of(path):
    return path.read_text(encoding="utf-8-sig").splitlines(keepends=True)


def rows_of(source) -> list:
    return list(source.rows())


def test_an_unbalanced_quote_names_its_line_instead_of_swallowing_the_rest(tmp_path):
    path = write_csv(tmp_path / "bordro.csv", [person(n) for n in range(1, 6)], encoding="utf-8")
    lines = lines_of(path)
    lines[2] = lines[2].replace(";Ayşe;", ';"Ayşe;', 1)  # data row 2 opens a quote that never closes
    path.write_text("".join(lines), encoding="utf-8")
    with pytest.raises(PayrollStructureError, match=r"bordro.csv: line 3: .*(unbalanced quote|not valid CSV)"):
        rows_of(CsvSource(path))


def test_a_quote_closed_later_in_the_file_still_names_where_it_opened(tmp_path):
    path = write_csv(tmp_path / "bordro.csv", [person(n) for n in range(1, 6)], encoding="utf-8")
    lines = lines_of(path)
    lines[2] = lines[2].replace(";Ayşe;", ';"Ayşe;', 1)
    lines[4] = lines[4].replace(";Ayşe;", ';Ayşe";', 1)
    path.write_text("".join(lines), encoding="utf-8")
    with pytest.raises(PayrollStructureError, match=r"line 3: .*(runs over 3 lines|not valid CSV)"):
        rows_of(CsvSource(path))


def test_a_stray_quote_inside_a_cell_is_not_merged_silently(tmp_path):
    path = tmp_path / "bordro.csv"
    path.write_text('Sicil No;Adı\nP1;"Ay"şe\n', encoding="utf-8")
    with pytest.raises(PayrollStructureError, match=r"line 2: not valid CSV"):
        rows_of(CsvSource(path, spec=(_col("payroll_id"), _col("first_name"))))


def _col(name):
    from oks.payroll.columns import BY_NAME

    return BY_NAME[name]


@pytest.mark.parametrize("header", ["TC Kimlik No", "tckn", "TC KİMLİK NO"])
def test_two_headers_meaning_one_column_are_refused_naming_both(tmp_path, header):
    path = write_csv(tmp_path / "bordro.csv", [person(1)], encoding="utf-8")
    lines = lines_of(path)
    lines[0] = lines[0].rstrip("\r\n") + f";{header}\r\n"
    lines[1] = lines[1].rstrip("\r\n") + ";10000000146\r\n"
    path.write_text("".join(lines), encoding="utf-8")
    added = len(lines[0].split(";"))  # the extra header is the last column
    with pytest.raises(PayrollStructureError, match=rf"columns 7 and {added} both mean tckn \(TC Kimlik No\); keep one"):
        rows_of(CsvSource(path))


def test_one_bad_byte_in_a_utf8_file_is_refused_naming_its_line_not_read_as_cp1254(tmp_path):
    path = write_csv(tmp_path / "bordro.csv", [person(n) for n in range(1, 200)], encoding="utf-8")
    data = bytearray(path.read_bytes())
    at = data.index("Çağlar".encode()) + 1000
    line = data[:at].count(b"\n") + 1
    data[at:at] = b"\xff"
    path.write_bytes(bytes(data))
    with pytest.raises(PayrollStructureError, match=rf"line {line} is not UTF-8 while .* mixes encodings"):
        CsvSource(path)


@pytest.mark.parametrize(("encoding", "expected"), [("utf-8", "utf-8"), ("utf-8-sig", "utf-8-sig"), ("cp1254", "cp1254")])
def test_whole_files_keep_their_encoding_and_every_turkish_letter(tmp_path, encoding, expected):
    rows = [person(n, first_name="Çiğdem", last_name="Işıkoğlu Şahin") for n in range(1, 4)]
    path = write_csv(tmp_path / "bordro.csv", rows, encoding=encoding)
    assert detect_encoding(path) == expected
    assert {raw["last_name"] for _, raw in rows_of(CsvSource(path))} == {"Işıkoğlu Şahin"}


def test_a_cp1254_file_with_a_byte_cp1254_does_not_define_names_its_line(tmp_path):
    path = write_csv(tmp_path / "bordro.csv", [person(1, first_name="Şule"), person(2), person(3)], encoding="cp1254")
    lines = path.read_bytes().split(b"\r\n")
    lines[2] = lines[2].replace("Çağlar".encode("cp1254"), b"\x81a\xf0lar")  # 0x81 is undefined in cp1254
    path.write_bytes(b"\r\n".join(lines))
    with pytest.raises(PayrollStructureError, match=r"bordro.csv: line 3 is not readable as cp1254"):
        rows_of(CsvSource(path))


def test_a_cell_larger_than_any_payroll_cell_is_a_csv_error_not_a_traceback(tmp_path):
    path = write_csv(tmp_path / "bordro.csv", [person(1)], encoding="utf-8")
    lines = lines_of(path)
    lines[1] = lines[1].replace(";Ayşe;", ";" + "A" * (csv.field_size_limit() + 10) + ";", 1)
    path.write_text("".join(lines), encoding="utf-8")
    with pytest.raises(PayrollStructureError, match=r"line 2: not valid CSV \(field larger than field limit"):
        rows_of(CsvSource(path))


@pytest.mark.parametrize("content", [b"", b"not a zip at all", b"PK\x03\x04broken"])
def test_a_damaged_workbook_is_a_typed_error(tmp_path, content):
    path = tmp_path / "bordro.xlsx"
    path.write_bytes(content)
    with pytest.raises(PayrollStructureError, match=r"bordro.xlsx: not a readable Excel workbook"):
        rows_of(XlsxSource(path))


def test_a_workbook_missing_its_sheet_names_the_sheets_it_has(tmp_path):
    path = write_xlsx(tmp_path / "bordro.xlsx", [person(1)])
    with pytest.raises(PayrollStructureError, match=r"no sheet 'Maaş' \(sheets: Bordro\)"):
        rows_of(XlsxSource(path, sheet="Maaş"))


def test_a_workbook_with_duplicate_headers_is_refused(tmp_path):
    from openpyxl import load_workbook

    path = write_xlsx(tmp_path / "bordro.xlsx", [person(1)])
    book = load_workbook(path)
    sheet = book.active
    sheet.cell(row=1, column=sheet.max_column + 1, value="Sicil No")
    book.save(path)
    with pytest.raises(PayrollStructureError, match=r"both mean payroll_id"):
        rows_of(open_source(path))


def test_a_truncated_workbook_inside_is_a_typed_error(tmp_path):
    path = write_xlsx(tmp_path / "bordro.xlsx", [person(n) for n in range(1, 50)])
    with zipfile.ZipFile(path) as z:
        members = {name: z.read(name) for name in z.namelist()}
    sheet = next(name for name in members if name.startswith("xl/worksheets/"))
    members[sheet] = members[sheet][: len(members[sheet]) // 2]
    with zipfile.ZipFile(path, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    with pytest.raises(PayrollStructureError, match=r"bordro.xlsx: (the workbook is damaged|not a readable Excel workbook)"):
        rows_of(XlsxSource(path))
