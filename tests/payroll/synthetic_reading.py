"""Reading `oks demo-data` output back, strictly, for the generator's tests.

Strict on purpose: each format must hold exactly the spelling the generator promises (ISO text and
decimal strings in SQLite; ``1.234,56``, ``31.10.2026``, ``Evet``/``Hayır`` in CSV; real date and
number cells in XLSX). A cell that does not read is kept as :class:`Unreadable` so tests can tell
planted unreadable cells from generator mistakes.
"""

from __future__ import annotations

import csv
import json
import re
import sqlite3
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

from oks.payroll.columns import CONTRACT_COLUMNS, PAYROLL_COLUMNS, Column, canonical

ROOT = Path(__file__).resolve().parents[2]
EXTRACT_SQL = ROOT / "include" / "sql" / "payroll_extract.sql"
CENT = Decimal("0.01")

# Small, but with a defect share high enough that every defect kind occurs several times.
DEMO = {
    "employers": 6,
    "employees": 600,
    "period": "2026-10",
    "seed": 11,
    "defect_share": 0.08,
    "identity_mismatch_share": 0.03,
    "chunk_size": 97,
}


@dataclass(frozen=True)
class Unreadable:
    raw: object


def _sqlite_cell(column: Column, value):
    if value is None:
        return None
    kind = column.kind
    if kind == "date":
        return date.fromisoformat(value) if re.fullmatch(r"\d{4}-\d\d-\d\d", value) else Unreadable(value)
    if kind == "money":
        return Decimal(value) if re.fullmatch(r"-?\d+\.\d\d", value) else Unreadable(value)
    if kind == "rate":
        return Decimal(value) if re.fullmatch(r"0\.\d+", value) else Unreadable(value)
    if kind == "bool":
        return {0: False, 1: True}.get(value, Unreadable(value))
    if kind == "int":
        return value if isinstance(value, int) else Unreadable(value)
    if kind == "period":
        return value if re.fullmatch(r"\d{4}-\d\d", value) else Unreadable(value)
    return value


def _csv_cell(column: Column, value: str):
    if value == "":
        return None
    kind = column.kind
    try:
        if kind == "date" and re.fullmatch(r"\d\d\.\d\d\.\d{4}", value):
            return datetime.strptime(value, "%d.%m.%Y").date()
        if kind == "money" and re.fullmatch(r"-?\d{1,3}(\.\d{3})*,\d\d", value):
            return Decimal(value.replace(".", "").replace(",", "."))
        if kind == "rate" and re.fullmatch(r"%\d+(,\d+)?", value):
            return Decimal(value[1:].replace(",", ".")) / 100
        if kind == "bool" and value in ("Evet", "Hayır"):
            return value == "Evet"
        if kind == "int" and re.fullmatch(r"\d+", value):
            return int(value)
        if kind == "period" and re.fullmatch(r"\d{4}/\d\d", value):
            return value.replace("/", "-")
        if kind == "text":
            return value
    except ValueError:
        pass
    return Unreadable(value)


def _xlsx_cell(column: Column, value):
    if value is None:
        return None
    kind = column.kind
    if kind == "date":
        return value.date() if isinstance(value, datetime) else Unreadable(value)
    if kind in {"money", "rate"}:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            number = Decimal(repr(value))
            return number.quantize(CENT) if kind == "money" else number
        return Unreadable(value)
    if kind == "bool":
        return {"Evet": True, "Hayır": False}.get(value, Unreadable(value))
    if kind == "int":
        return value if isinstance(value, int) else Unreadable(value)
    if kind == "period":
        return value.replace("/", "-") if isinstance(value, str) and re.fullmatch(r"\d{4}/\d\d", value) else Unreadable(value)
    return value if isinstance(value, str) else Unreadable(value)


def manifest_json(out: Path) -> dict:
    return json.loads((out / "manifest.json").read_text(encoding="utf-8"))


def extract_query() -> str:
    return EXTRACT_SQL.read_text(encoding="utf-8")


def sqlite_rows(path: Path, period: str, employers: list[str] | None = None) -> list[dict]:
    """Rows through include/sql/payroll_extract.sql, bound the way the pipeline binds it."""
    import sqlalchemy as sa

    engine = sa.create_engine(f"sqlite:///{path}")
    statement = sa.text(extract_query()).bindparams(sa.bindparam("employers", expanding=True))
    params = {"period": period, "all_employers": 0 if employers else 1, "employers": employers or [""]}
    try:
        with engine.connect() as conn:
            result = conn.execute(statement, params)
            names = list(result.keys())
            return [dict(zip(names, row, strict=True)) for row in result]
    finally:
        engine.dispose()


def _typed(raw_rows, columns, cell) -> list[dict]:
    by_name = {c.name: c for c in columns}
    return [{name: cell(by_name[name], value) for name, value in raw.items()} for raw in raw_rows]


def _csv_raw(path: Path, encoding: str, columns) -> list[dict]:
    with path.open(encoding=encoding, newline="") as fh:
        reader = csv.reader(fh, delimiter=";")
        header = next(reader)
        names = canonical(header, columns)
        assert None not in names, header
        return [dict(zip(names, cells, strict=True)) for cells in reader]


def _xlsx_raw(path: Path, sheet: str, columns) -> list[dict]:
    from openpyxl import load_workbook

    workbook = load_workbook(path, read_only=True)
    try:
        rows = workbook[sheet].iter_rows(values_only=True)
        names = canonical([str(h) for h in next(rows)], columns)
        assert None not in names
        # A sheet leaves out a row's empty cells at its end (the fund preference, often): read as empty.
        return [dict(zip(names, (*cells, *(None,) * (len(names) - len(cells))), strict=True)) for cells in rows]
    finally:
        workbook.close()


def read_payroll(out: Path) -> list[dict]:
    """The payroll rows in their order (row_no = index + 1), typed, canonical names."""
    meta = manifest_json(out)
    path = out / meta["files"]["payroll"]
    if meta["format"] == "sqlite":
        return _typed(sqlite_rows(path, meta["period"]), PAYROLL_COLUMNS, _sqlite_cell)
    if meta["format"] == "csv":
        return _typed(_csv_raw(path, meta["encoding"], PAYROLL_COLUMNS), PAYROLL_COLUMNS, _csv_cell)
    return _typed(_xlsx_raw(path, "payroll", PAYROLL_COLUMNS), PAYROLL_COLUMNS, _xlsx_cell)


def read_contracts(out: Path) -> list[dict]:
    meta = manifest_json(out)
    path = out / meta["files"]["contracts"]
    if meta["format"] == "sqlite":
        with sqlite3.connect(path) as conn:
            cursor = conn.execute("SELECT * FROM contracts")
            names = [d[0] for d in cursor.description]
            raw = [dict(zip(names, row, strict=True)) for row in cursor]
        return _typed(raw, CONTRACT_COLUMNS, _sqlite_cell)
    if meta["format"] == "csv":
        return _typed(_csv_raw(path, meta["encoding"], CONTRACT_COLUMNS), CONTRACT_COLUMNS, _csv_cell)
    return _typed(_xlsx_raw(path, "contracts", CONTRACT_COLUMNS), CONTRACT_COLUMNS, _xlsx_cell)


def read_register(out: Path) -> dict[str, dict]:
    with (out / "identity_register.csv").open(encoding="utf-8", newline="") as fh:
        people = list(csv.DictReader(fh))
    register = {p["tckn"]: {**p, "birth_date": date.fromisoformat(p["birth_date"])} for p in people}
    assert len(register) == len(people), "a TCKN appears twice in the register"
    return register


def read_defects(out: Path) -> list[dict]:
    with (out / "defects.csv").open(encoding="utf-8", newline="") as fh:
        return [{**d, "row_no": int(d["row_no"])} for d in csv.DictReader(fh)]
