"""Payroll sources: a SQL query, a CSV file or an XLSX workbook, all streamed.

Every source gives the same thing: the canonical column names it carries (checked against the
contract before a single row is read) and an iterator of ``(row_no, {column: raw value})`` in the
source's order, row numbers counting data rows from 1. Nothing is loaded whole: a million-row export
is read in the memory of one row (CSV, XLSX) or one fetch (SQL).
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from oks.payroll.columns import CONTRACT_COLUMNS, PAYROLL_COLUMNS, Column, canonical

__all__ = [
    "PayrollStructureError",
    "PayrollSource",
    "CsvSource",
    "XlsxSource",
    "SqlSource",
    "open_source",
    "open_contract_master",
]

RawRow = tuple[int, dict[str, object]]


class PayrollStructureError(ValueError):
    """The source as a whole cannot be used: a missing column, an unreadable file, no rows."""


class PayrollSource(Protocol):
    name: str

    def columns(self) -> list[str]: ...

    def rows(self) -> Iterator[RawRow]: ...


def check_columns(name: str, found: list[str | None], columns: tuple[Column, ...]) -> None:
    """Every required column present, and none twice: two headers meaning one column (``TC Kimlik No``
    and ``tckn``) would let one of them silently win."""
    seen: dict[str, int] = {}
    for position, column in enumerate(found, start=1):
        if column is None:
            continue
        if column in seen:
            turkish = next((c.turkish for c in columns if c.name == column), column)
            raise PayrollStructureError(
                f"{name}: columns {seen[column]} and {position} both mean {column} ({turkish}); keep one"
            )
        seen[column] = position
    missing = [c for c in columns if c.required and c.name not in seen]
    if missing:
        listed = ", ".join(f"{c.name} ({c.turkish})" for c in missing)
        raise PayrollStructureError(f"{name}: missing required column(s): {listed}")


# --- CSV -----------------------------------------------------------------------------------------

def detect_encoding(path: Path) -> str:
    """The file's encoding, decided from the whole file, line by line: UTF-8 (with or without BOM)
    when every line decodes as UTF-8; Windows-1254 — the Turkish code page older payroll products
    still export — when no line holds UTF-8's multi-byte letters; otherwise the file mixes the two
    (a damaged or hand-edited export) and is refused, naming the first line that is not UTF-8:
    guessing would garble every Turkish name of one half or the other."""
    utf8_letters = 0
    first_bad: int | None = None
    with path.open("rb") as fh:
        bom = fh.read(3) == codecs.BOM_UTF8
        fh.seek(0)
        for number, raw in enumerate(fh, start=1):
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                first_bad = first_bad or number
                continue
            utf8_letters += any(ord(ch) > 127 for ch in text)
    if first_bad is None:
        return "utf-8-sig" if bom else "utf-8"
    if utf8_letters or bom:
        raise PayrollStructureError(
            f"{path.name}: line {first_bad} is not UTF-8 while {utf8_letters} other line(s) are: the file mixes "
            "encodings (a damaged or hand-edited export); export it again as UTF-8"
        )
    return "cp1254"


def _first_undecodable_line(path: Path, encoding: str) -> int:
    with path.open("rb") as fh:
        for number, raw in enumerate(fh, start=1):
            try:
                raw.decode(encoding)
            except UnicodeDecodeError:
                return number
    return 0


@dataclass
class CsvSource:
    path: Path
    encoding: str | None = None
    delimiter: str | None = None
    spec: tuple[Column, ...] = PAYROLL_COLUMNS
    name: str = field(init=False)

    def __post_init__(self) -> None:
        self.path = Path(self.path)
        self.name = self.path.name
        if not self.path.is_file():
            raise PayrollStructureError(f"{self.path}: no such file")
        self.encoding = self.encoding or detect_encoding(self.path)

    def _open(self) -> io.TextIOWrapper:
        return self.path.open("r", encoding=self.encoding, newline="")

    def _dialect(self, first_line: str) -> str:
        if self.delimiter:
            return self.delimiter
        # Turkish exports use ';' because ',' is the decimal separator.
        counts = {d: first_line.count(d) for d in (";", "\t", ",", "|")}
        return max(counts, key=counts.get)

    def _header(self, fh) -> tuple[list[str], csv.reader]:
        first = fh.readline()
        if not first.strip():
            raise PayrollStructureError(f"{self.name}: empty file (no header row)")
        delimiter = self._dialect(first)
        try:
            header = next(csv.reader([first], delimiter=delimiter, strict=True))
        except csv.Error as exc:
            raise PayrollStructureError(f"{self.name}: line 1 (the header): not valid CSV ({exc})") from None
        # strict: a stray quote inside a cell is an error with its line, not a silently merged cell.
        return header, csv.reader(fh, delimiter=delimiter, strict=True)

    def columns(self) -> list[str]:
        try:
            with self._open() as fh:
                header, _ = self._header(fh)
        except UnicodeDecodeError:
            raise self._undecodable() from None
        return [c for c in canonical(header, self.spec) if c]

    def _undecodable(self) -> PayrollStructureError:
        line = _first_undecodable_line(self.path, self.encoding)
        return PayrollStructureError(
            f"{self.name}: line {line} is not readable as {self.encoding}; export again as UTF-8 or pass the encoding"
        )

    def rows(self) -> Iterator[RawRow]:
        try:
            yield from self._rows()
        except UnicodeDecodeError:
            raise self._undecodable() from None

    def _rows(self) -> Iterator[RawRow]:
        with self._open() as fh:
            header, reader = self._header(fh)
            names = canonical(header, self.spec)
            check_columns(self.name, names, self.spec)
            row_no, line = 0, 1
            try:
                for cells in reader:
                    start, line = line + 1, reader.line_num + 1  # physical lines, the header is line 1
                    if line - start > 0:
                        # A record over several lines: payroll cells hold no line breaks, so a quote
                        # opened and never closed — every row after it would silently vanish into it.
                        raise PayrollStructureError(
                            f"{self.name}: line {start}: a quoted cell runs over {line - start + 1} lines "
                            "(an unbalanced quote?); fix the export"
                        )
                    if not any(cell.strip() for cell in cells):
                        continue  # blank lines at the end of exports are not rows
                    row_no += 1
                    yield row_no, {n: (cells[i] if i < len(cells) else None) for i, n in enumerate(names) if n}
            except csv.Error as exc:
                raise PayrollStructureError(f"{self.name}: line {line + 1}: not valid CSV ({exc}); fix the export") from None


# --- XLSX ----------------------------------------------------------------------------------------


@dataclass
class XlsxSource:
    path: Path
    sheet: str | None = None
    spec: tuple[Column, ...] = PAYROLL_COLUMNS
    name: str = field(init=False)

    def __post_init__(self) -> None:
        self.path = Path(self.path)
        self.name = f"{self.path.name}[{self.sheet}]" if self.sheet else self.path.name
        if not self.path.is_file():
            raise PayrollStructureError(f"{self.path}: no such file")

    def _iter(self):
        import zipfile

        from openpyxl import load_workbook
        from openpyxl.utils.exceptions import InvalidFileException

        try:
            workbook = load_workbook(self.path, read_only=True, data_only=True)
        except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError, SyntaxError, EOFError) as exc:
            raise PayrollStructureError(
                f"{self.name}: not a readable Excel workbook ({type(exc).__name__}); save it again as .xlsx"
            ) from None
        try:
            if self.sheet and self.sheet not in workbook.sheetnames:
                raise PayrollStructureError(f"{self.name}: no sheet {self.sheet!r} (sheets: {', '.join(workbook.sheetnames)})")
            if not workbook.worksheets:
                raise PayrollStructureError(f"{self.name}: the workbook has no sheet")
            sheet = workbook[self.sheet] if self.sheet else workbook.worksheets[0]
            try:
                yield from sheet.iter_rows(values_only=True)
            except (zipfile.BadZipFile, KeyError, ValueError, OSError, SyntaxError, EOFError) as exc:  # SyntaxError: XML
                raise PayrollStructureError(f"{self.name}: the workbook is damaged ({type(exc).__name__}); save it again as .xlsx") from None
        finally:
            workbook.close()

    def columns(self) -> list[str]:
        for header in self._iter():
            return [c for c in canonical([str(h or "") for h in header], self.spec) if c]
        raise PayrollStructureError(f"{self.name}: empty sheet (no header row)")

    def rows(self) -> Iterator[RawRow]:
        it = self._iter()
        header = next(it, None)
        if header is None:
            raise PayrollStructureError(f"{self.name}: empty sheet (no header row)")
        names = canonical([str(h or "") for h in header], self.spec)
        check_columns(self.name, names, self.spec)
        row_no = 0
        for cells in it:
            if all(cell is None or (isinstance(cell, str) and not cell.strip()) for cell in cells):
                continue
            row_no += 1
            yield row_no, {n: (cells[i] if i < len(cells) else None) for i, n in enumerate(names) if n}


# --- SQL -----------------------------------------------------------------------------------------


@dataclass
class SqlSource:
    """Rows of a query against the payroll database (``oks_payroll`` connection in production).

    The query's column aliases are the canonical names; it receives ``:period`` and, when employers
    are filtered, ``:employers`` (a list, expanded into an IN clause) and ``:all_employers``.
    """

    url: str
    query: str
    params: Mapping[str, object]
    spec: tuple[Column, ...] = PAYROLL_COLUMNS
    fetch_size: int = 5000
    name: str = "payroll query"

    def _statement(self):
        import sqlalchemy as sa

        statement = sa.text(self.query)
        if "employers" in self.params:
            statement = statement.bindparams(sa.bindparam("employers", expanding=True))
        return statement

    def _execute(self, fn):
        import sqlalchemy as sa

        engine = sa.create_engine(self.url, hide_parameters=True)  # errors must not echo payroll rows
        try:
            with engine.connect() as conn:
                result = conn.execution_options(stream_results=True, yield_per=self.fetch_size).execute(
                    self._statement(), dict(self.params)
                )
                yield from fn(result)
        finally:
            engine.dispose()

    def columns(self) -> list[str]:
        return next(self._execute(lambda result: iter([[c for c in canonical(list(result.keys()), self.spec) if c]])))

    def rows(self) -> Iterator[RawRow]:
        def stream(result):
            names = canonical(list(result.keys()), self.spec)
            check_columns(self.name, names, self.spec)
            for row_no, row in enumerate(result, start=1):
                yield row_no, {n: row[i] for i, n in enumerate(names) if n}

        return self._execute(stream)


def sql_params(period: str, employers: list[str] | None) -> dict[str, object]:
    """Bind parameters for ``include/sql/*.sql``: the period, and the employer filter if any."""
    params: dict[str, object] = {"period": period, "all_employers": 0 if employers else 1}
    params["employers"] = list(employers) if employers else [""]
    return params


def open_source(location: str | Path, *, spec: tuple[Column, ...] = PAYROLL_COLUMNS, **options) -> PayrollSource:
    """A source from a path: ``.csv``/``.txt``, ``.xlsx``; for SQL build :class:`SqlSource` directly."""
    path = Path(location)
    suffix = path.suffix.lower()
    if suffix in {".csv", ".txt"}:
        return CsvSource(path, spec=spec, **options)
    if suffix in {".xlsx", ".xlsm"}:
        return XlsxSource(path, spec=spec, **options)
    raise PayrollStructureError(f"{path.name}: unknown payroll file type {suffix!r} (CSV or XLSX)")


def open_contract_master(location: str | Path, **options) -> PayrollSource:
    """The contract master file (CSV or XLSX) read against ``CONTRACT_COLUMNS``."""
    return open_source(location, spec=CONTRACT_COLUMNS, **options)
