"""Insurer upload files: canonical records rendered per profile, and read back per profile.

Written as the profile says — columns and headers, dates, numbers, encoding, CSV or XLSX. Every cell
of an XLSX file is a text cell: an amount never passes through a float, a TCKN or payroll id never
loses a leading digit, a date is the spelling the insurer asked for. Reading applies the same profile
the other way and refuses, naming the row and column, any cell not in the profile's spelling: an
insurer's answer file or a file read back in a test is never guessed at.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path

from oks.channels.profiles import FileKind, InsurerProfile
from oks.channels.record import FIELD_KINDS, SubmissionRecord

__all__ = ["FileReadError", "render", "write_file", "read_file", "format_amount"]


class FileReadError(ValueError):
    """A cell that is not in the profile's spelling: the message names the file, row and column."""


def format_amount(value: Decimal, profile: InsurerProfile) -> str:
    whole, _, cents = f"{value:.2f}".partition(".")
    sign = "-" if whole.startswith("-") else ""
    digits = whole.lstrip("-")
    if profile.thousands_separator:
        digits = f"{int(digits):,}".replace(",", profile.thousands_separator)
    return f"{sign}{digits}{profile.decimal_separator}{cents}"


def _cell(field: str, value: object, profile: InsurerProfile) -> str:
    if value is None:
        return ""
    kind = FIELD_KINDS[field]
    if kind == "text":
        return profile.event_names.get(str(value), str(value)) if field == "event_code" else str(value)
    if kind == "date" and isinstance(value, date):
        return value.strftime(profile.date_format)
    if kind == "money" and isinstance(value, Decimal):
        return format_amount(value, profile)
    if kind == "rate" and isinstance(value, Decimal):
        return f"{value.normalize():f}".replace(".", profile.decimal_separator)
    # Written as it came it would be in no one's spelling: a bug upstream, never a file.
    raise TypeError(f"{field}: a {kind} must be a {'date' if kind == 'date' else 'Decimal'}, got {type(value).__name__}")


def render(records: Iterable[SubmissionRecord], profile: InsurerProfile, kind: FileKind) -> bytes:
    """The file's bytes: a header row of the profile's words, then one row per record."""
    layout = profile.layout(kind)
    rows = [[_cell(field, getattr(record, field), profile) for field, _ in layout.columns] for record in records]
    if profile.format == "csv":
        text = io.StringIO(newline="")
        writer = csv.writer(text, delimiter=profile.delimiter, lineterminator="\r\n")
        writer.writerow(layout.headers)
        writer.writerows(rows)
        return text.getvalue().encode(profile.encoding)
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = kind
    sheet.append(list(layout.headers))
    for row in rows:
        sheet.append(row)
    for column in sheet.iter_cols(min_row=2):
        for cell in column:
            cell.number_format = "@"  # text: Excel must not turn 17291716060 or 01.10.2026 into a number or date
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def write_file(records: Iterable[SubmissionRecord], profile: InsurerProfile, kind: FileKind, *, folder: Path, contract_no: str,
               period: str, part: str | None = None) -> Path:  # fmt: skip
    """The file in ``folder`` under the profile's file name; written whole or not at all."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / profile.file_name_for(contract_no=contract_no, period=period, kind=kind, part=part)
    partial = path.with_name(path.name + ".part")
    partial.write_bytes(render(records, profile, kind))
    partial.replace(path)
    return path


def _rows(path: Path, profile: InsurerProfile) -> list[list[str]]:
    if profile.format == "csv":
        text = path.read_bytes().decode(profile.encoding)
        return [row for row in csv.reader(io.StringIO(text, newline=""), delimiter=profile.delimiter) if any(row)]
    from openpyxl import load_workbook

    book = load_workbook(path, read_only=True, data_only=True)
    try:
        return [["" if v is None else str(v) for v in row] for row in book.active.iter_rows(values_only=True) if any(row)]
    finally:
        book.close()


def _amount_pattern(profile: InsurerProfile) -> re.Pattern[str]:
    thousands = re.escape(profile.thousands_separator)
    whole = rf"\d{{1,3}}(?:{thousands}\d{{3}})*" if thousands else r"\d+"
    return re.compile(rf"-?{whole}{re.escape(profile.decimal_separator)}\d{{2}}")


def _typed(field: str, text: str, profile: InsurerProfile, amount: re.Pattern[str]) -> object:
    if text == "":
        return None
    kind = FIELD_KINDS[field]
    # The messages never echo the cell: a misaligned answer file may hold a TCKN or a name anywhere.
    if kind == "date":
        try:
            return datetime.strptime(text, profile.date_format).date()
        except ValueError:
            raise ValueError(f"not a date written as {date(2026, 12, 31).strftime(profile.date_format)}") from None
    if kind == "money":
        if not amount.fullmatch(text):
            raise ValueError(f"not an amount written as {format_amount(Decimal('1234.56'), profile)}")
        return Decimal(text.replace(profile.thousands_separator or "\0", "").replace(profile.decimal_separator, "."))
    if kind == "rate":
        try:
            return Decimal(text.replace(profile.decimal_separator, "."))
        except InvalidOperation:
            raise ValueError("not a rate") from None
    if field == "event_code":
        codes = {name: code for code, name in profile.event_names.items()} | {"CONTRIBUTION": "CONTRIBUTION"}
        if text not in codes:
            raise ValueError(f"none of the profile's events ({', '.join(sorted(codes))})")
        return codes[text]
    return text


def read_file(path: Path, profile: InsurerProfile, kind: FileKind) -> list[dict[str, object]]:
    """The file's rows as {record field: typed value}, by the profile's headers and spellings."""
    rows = _rows(path, profile)
    if not rows:
        raise FileReadError(f"{path.name}: empty (no header row)")
    layout = profile.layout(kind)
    header = [h.strip() for h in rows[0]]
    if header != list(layout.headers):
        raise FileReadError(f"{path.name}: the header is not the profile's ({profile.source}): expected {list(layout.headers)}")
    amount = _amount_pattern(profile)
    out = []
    for number, row in enumerate(rows[1:], start=2):
        values = {}
        for (field, header_text), cell in zip(layout.columns, row + [""] * (len(layout.columns) - len(row)), strict=False):
            try:
                values[field] = _typed(field, cell.strip(), profile, amount)
            except (ValueError, InvalidOperation) as exc:
                raise FileReadError(f"{path.name} row {number}, column {header_text!r}: {exc}") from None
        out.append(values)
    return out
