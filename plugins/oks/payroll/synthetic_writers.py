"""Writing synthetic payroll the way each kind of source holds it: a payroll database (SQLite),
a Turkish CSV export, an Excel workbook; and the generator's own artifacts (identity register,
defect list).

Every writer streams: it takes rows a chunk at a time and keeps none. Output is byte-for-byte a
function of the rows (no timestamps, no random temp names inside the files), so the same seed
gives the same files.
"""

from __future__ import annotations

import csv
import os
import shutil
import sqlite3
import zipfile
from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal
from operator import attrgetter, itemgetter
from pathlib import Path

from oks.payroll.columns import CONTRACT_COLUMNS, PAYROLL_COLUMNS, Column
from oks.payroll.synthetic_plan import Contract
from oks.payroll.synthetic_rows import DefectEntry

__all__ = [
    "SqliteWriter",
    "CsvWriter",
    "XlsxWriter",
    "DefectsWriter",
    "RegisterWriter",
    "PAYROLL_TABLE",
    "CONTRACTS_TABLE",
]

PAYROLL_TABLE = "payroll"
CONTRACTS_TABLE = "contracts"
_PAYROLL_NAMES = tuple(c.name for c in PAYROLL_COLUMNS)
_CONTRACT_NAMES = tuple(c.name for c in CONTRACT_COLUMNS)
_payroll_values = itemgetter(*_PAYROLL_NAMES)
_contract_values = attrgetter(*_CONTRACT_NAMES)


def _partial(path: Path) -> Path:
    # Files are written under a temporary name and renamed when complete, so a crash never leaves
    # a file that looks finished.
    return path.with_name(path.name + ".partial")


def _finish(path: Path) -> None:
    os.replace(_partial(path), path)


# --- SQLite: the payroll database ----------------------------------------------------------------


def _sql_type(column: Column) -> str:
    return "INTEGER" if column.kind in {"int", "bool"} else "TEXT"


def _sql_converter(kind: str):
    # Money and rates as TEXT decimal strings stay exact ('33030.00'); SQLite's NUMERIC affinity
    # would turn them into floating point. Dates as ISO text, booleans 0/1.
    if kind in {"money", "rate"}:
        return lambda v: None if v is None else str(v)
    if kind == "date":
        return lambda v: v.isoformat() if isinstance(v, date) else v
    if kind == "bool":
        return lambda v: None if v is None else int(v)
    return None


def _row_converter(columns: tuple[Column, ...], converter_for):
    converters = [converter_for(c.kind) for c in columns]
    if all(f is None for f in converters):
        return lambda values: values
    pairs = [(i, f) for i, f in enumerate(converters) if f is not None]

    def convert(values):
        values = list(values)
        for i, f in pairs:
            values[i] = f(values[i])
        return values

    return convert


class SqliteWriter:
    """``payroll`` and ``contracts`` tables whose columns are the canonical names, in one file."""

    def __init__(self, path: Path, contracts: Iterable[Contract]) -> None:
        self.path = path
        partial = _partial(path)
        partial.unlink(missing_ok=True)
        self._conn = sqlite3.connect(partial)
        # A generated file is regenerated after a crash, so durability is not worth the time.
        self._conn.execute("PRAGMA journal_mode = OFF")
        self._conn.execute("PRAGMA synchronous = OFF")
        self._payroll_row = _row_converter(PAYROLL_COLUMNS, _sql_converter)
        self._insert = self._create(PAYROLL_TABLE, PAYROLL_COLUMNS)
        insert_contract = self._create(CONTRACTS_TABLE, CONTRACT_COLUMNS)
        contract_row = _row_converter(CONTRACT_COLUMNS, _sql_converter)
        self._conn.executemany(insert_contract, (contract_row(_contract_values(c)) for c in contracts))

    def _create(self, table: str, columns: tuple[Column, ...]) -> str:
        definitions = ", ".join(f"{c.name} {_sql_type(c)}" for c in columns)
        self._conn.execute(f"CREATE TABLE {table} ({definitions})")
        return f"INSERT INTO {table} VALUES ({', '.join('?' for _ in columns)})"

    def write(self, rows: list[dict]) -> None:
        self._conn.executemany(self._insert, [self._payroll_row(_payroll_values(row)) for row in rows])

    def close(self) -> None:
        # The index serves the extract query's filter and order (include/sql/payroll_extract.sql).
        self._conn.execute(
            f"CREATE INDEX ix_{PAYROLL_TABLE}_extract ON {PAYROLL_TABLE} (period, employer_vkn, payroll_id, payment_kind)"
        )
        self._conn.commit()
        self._conn.close()
        _finish(self.path)

    def abort(self) -> None:
        self._conn.close()
        _partial(self.path).unlink(missing_ok=True)


# --- Turkish text: CSV cells and XLSX text -------------------------------------------------------

_DECIMAL_SWAP = str.maketrans(",.", ".,")


def turkish_money(value: Decimal) -> str:
    """``Decimal('1234.56')`` → ``1.234,56``."""
    return f"{value:,.2f}".translate(_DECIMAL_SWAP)


def turkish_date(value: date) -> str:
    return f"{value.day:02d}.{value.month:02d}.{value.year:04d}"


def turkish_rate(value: Decimal) -> str:
    """``Decimal('0.05')`` → ``%5``; ``0.045`` → ``%4,5`` (Turkish writes the percent sign first)."""
    return "%" + format((value * 100).normalize(), "f").replace(".", ",")


def turkish_period(value: str) -> str:
    """``2026-10`` → ``2026/10``, the way payroll screens show a pay period."""
    return value.replace("-", "/")


def _text_converter(kind: str):
    # A value that is already text in a date or money column is a planted unreadable cell: as is.
    if kind == "money":
        return lambda v: turkish_money(v) if isinstance(v, Decimal) else v
    if kind == "date":
        return lambda v: turkish_date(v) if isinstance(v, date) else v
    if kind == "rate":
        return lambda v: turkish_rate(v) if isinstance(v, Decimal) else v
    if kind == "bool":
        return lambda v: None if v is None else ("Evet" if v else "Hayır")
    if kind == "period":
        return lambda v: turkish_period(v) if isinstance(v, str) else v
    return None


# --- CSV -----------------------------------------------------------------------------------------


class _TextFile:
    """A text file written under its partial name and renamed by :meth:`close`."""

    def __init__(self, path: Path, encoding: str) -> None:
        self.path = path
        self._file = _partial(path).open("w", encoding=encoding, newline="")

    def close(self) -> None:
        self._file.close()
        _finish(self.path)

    def abort(self) -> None:
        self._file.close()
        _partial(self.path).unlink(missing_ok=True)


class _CsvTable(_TextFile):
    def __init__(self, path: Path, columns: tuple[Column, ...], encoding: str) -> None:
        super().__init__(path, encoding)
        # ';' because ',' is the Turkish decimal separator; CRLF as Windows payroll products write.
        self._writer = csv.writer(self._file, delimiter=";", lineterminator="\r\n")
        self._writer.writerow([c.turkish for c in columns])
        self._convert = _row_converter(columns, _text_converter)

    def write(self, values_list: Iterable[tuple]) -> None:
        self._writer.writerows(self._convert(values) for values in values_list)


class CsvWriter:
    """``payroll.csv`` and ``contracts.csv`` as Turkish payroll products export them."""

    def __init__(self, payroll_path: Path, contracts_path: Path, contracts: Iterable[Contract], encoding: str) -> None:
        self._contracts = tuple(contracts)
        self._contracts_path = contracts_path
        self._encoding = encoding
        self._payroll = _CsvTable(payroll_path, PAYROLL_COLUMNS, encoding)

    def write(self, rows: list[dict]) -> None:
        self._payroll.write(_payroll_values(row) for row in rows)

    def close(self) -> None:
        self._payroll.close()
        # Written last, so a failed run leaves no contracts.csv that looks like a finished one.
        contracts = _CsvTable(self._contracts_path, CONTRACT_COLUMNS, self._encoding)
        contracts.write(_contract_values(c) for c in self._contracts)
        contracts.close()

    def abort(self) -> None:
        self._payroll.abort()


# --- XLSX ----------------------------------------------------------------------------------------

_XLSX_FORMATS = {"money": "#,##0.00", "date": "DD.MM.YYYY", "rate": "0%"}


class _FixedTimeZipFile(zipfile.ZipFile):
    """A zip whose entries all carry one fixed timestamp, so the same workbook is the same bytes."""

    def __init__(self, *args, timestamp: tuple[int, int, int, int, int, int], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._timestamp = timestamp

    def _info(self, name: str) -> zipfile.ZipInfo:
        info = zipfile.ZipInfo(name, date_time=self._timestamp)
        info.compress_type = zipfile.ZIP_DEFLATED
        info.external_attr = 0o600 << 16
        return info

    def writestr(self, zinfo_or_arcname, data, compress_type=None, compresslevel=None):
        if not isinstance(zinfo_or_arcname, zipfile.ZipInfo):
            zinfo_or_arcname = self._info(zinfo_or_arcname)
        super().writestr(zinfo_or_arcname, data, compress_type, compresslevel)

    def write(self, filename, arcname=None, compress_type=None, compresslevel=None):
        info = self._info(arcname or os.path.basename(filename))
        info.file_size = os.path.getsize(filename)  # lets zipfile choose ZIP64 for a huge sheet
        with open(filename, "rb") as source, self.open(info, "w") as target:
            shutil.copyfileobj(source, target, 1 << 20)


class XlsxWriter:
    """``payroll.xlsx``: sheet ``payroll`` then sheet ``contracts``, Turkish headers.

    Streams through openpyxl's write-only mode. Dates are real date cells (shown 31.10.2026).
    Amounts are number cells shown with two decimals: the cell holds the decimal text openpyxl
    writes for the Decimal (``33030.1``), and a reader gets a float back that it must quantize to
    kuruş — exact for any amount below 10^13, far above any PEK. Rates are number cells shown as
    percent. Identifiers (TCKN, VKN, payroll id) are text cells so no leading zero or digit is lost.
    """

    def __init__(self, path: Path, contracts: Iterable[Contract], *, timestamp: datetime) -> None:
        from openpyxl import Workbook

        self.path = path
        self._timestamp = timestamp
        self._workbook = Workbook(write_only=True)
        self._payroll = self._workbook.create_sheet("payroll")
        contracts_sheet = self._workbook.create_sheet("contracts")
        self._payroll.append([c.turkish for c in PAYROLL_COLUMNS])
        self._payroll_cells = self._cell_makers(self._payroll, PAYROLL_COLUMNS)
        contracts_sheet.append([c.turkish for c in CONTRACT_COLUMNS])
        contract_cells = self._cell_makers(contracts_sheet, CONTRACT_COLUMNS)
        for contract in contracts:
            contracts_sheet.append(contract_cells(_contract_values(contract)))

    @staticmethod
    def _cell_makers(sheet, columns: tuple[Column, ...]):
        from openpyxl.cell import WriteOnlyCell

        def styled(number_format: str, kind: str):
            typed = Decimal if kind in {"money", "rate"} else date

            def make(value):
                if not isinstance(value, typed):
                    return value  # empty, or a planted unreadable cell kept as text
                cell = WriteOnlyCell(sheet, value=value)
                cell.number_format = number_format
                return cell

            return make

        makers = []
        for column in columns:
            if column.kind in _XLSX_FORMATS:
                makers.append(styled(_XLSX_FORMATS[column.kind], column.kind))
            else:
                makers.append(_text_converter(column.kind))
        pairs = [(i, f) for i, f in enumerate(makers) if f is not None]

        def cells(values):
            values = list(values)
            for i, f in pairs:
                values[i] = f(values[i])
            return values

        return cells

    def write(self, rows: list[dict]) -> None:
        for row in rows:
            self._payroll.append(self._payroll_cells(_payroll_values(row)))

    def close(self) -> None:
        from openpyxl.writer.excel import ExcelWriter

        # Workbook.save stamps the current time into the document properties and zip entries;
        # writing through ExcelWriter with fixed times keeps the file reproducible.
        properties = self._workbook.properties
        properties.created = properties.modified = self._timestamp
        properties.creator = properties.lastModifiedBy = "oks demo-data"
        stamp = self._timestamp.timetuple()[:6]
        partial = _partial(self.path)
        archive = _FixedTimeZipFile(partial, "w", zipfile.ZIP_DEFLATED, allowZip64=True, timestamp=stamp)
        ExcelWriter(self._workbook, archive).save()
        _finish(self.path)

    def abort(self) -> None:
        # Write-only sheets stream into temporary files of openpyxl's own; close and remove them.
        for sheet in self._workbook.worksheets:
            if not sheet.closed:
                sheet.close()
            sheet._writer.cleanup()
        _partial(self.path).unlink(missing_ok=True)


# --- the generator's own artifacts ---------------------------------------------------------------


class RegisterWriter(_TextFile):
    """``identity_register.csv``: each person's true identity (tckn, names, ISO birth date), the
    population register (MERNİS) the DES simulator checks personnel against."""

    HEADER = ("tckn", "first_name", "last_name", "birth_date")

    def __init__(self, path: Path) -> None:
        super().__init__(path, "utf-8")
        self._writer = csv.writer(self._file, lineterminator="\n")
        self._writer.writerow(self.HEADER)

    def write(self, people: list[tuple]) -> None:
        self._writer.writerows((tckn, first, last, born.isoformat()) for tckn, first, last, born in people)


class DefectsWriter(_TextFile):
    """``defects.csv``: every planted defect and identity mismatch, by data row (1-based)."""

    HEADER = ("row_no", "payroll_id", "defect", "field", "detail")

    def __init__(self, path: Path) -> None:
        super().__init__(path, "utf-8")
        self._writer = csv.writer(self._file, lineterminator="\n")
        self._writer.writerow(self.HEADER)

    def write(self, entries: list[DefectEntry]) -> None:
        self._writer.writerows((e.row_no, e.payroll_id, e.defect, e.field, e.detail) for e in entries)
