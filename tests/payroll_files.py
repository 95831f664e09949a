"""Small payroll files written the way Turkish payroll products export them, for tests.

Hand-made and tiny on purpose: each test states exactly which rows are good and which are broken.
(Large, realistic data comes from `oks demo-data`.)
"""

from __future__ import annotations

import csv
from datetime import date
from decimal import Decimal
from pathlib import Path

from oks.payroll.columns import CONTRACT_COLUMNS, PAYROLL_COLUMNS

VKN = "1234567890"
CONTRACT = "AG-2026-001"


def person(n: int, **overrides) -> dict:
    """A clean payroll row for person ``n`` (valid TCKN, IBAN and mobile)."""
    from stdnum import iban
    from stdnum.tr import tckimlik

    first9 = f"{100000000 + n * 7919:09d}"
    account = f"{n:016d}"
    bban = "00062" + "0" + account
    row = {
        "employer_vkn": VKN,
        "employer_name": "Örnek Tekstil A.Ş.",
        "employer_sector": "private",
        "employer_headcount": 120,
        "workplace_sgk_no": "1234",
        "payroll_id": f"P{n:05d}",
        "tckn": first9 + tckimlik.calc_check_digits(first9),
        "first_name": "Ayşe",
        "last_name": "Çağlar",
        "birth_date": date(1990, 1, 1 + n % 28),
        "citizenship": "TR",
        "sgk_status": "4a",
        "hire_date": date(2020, 3, 1),
        "exit_date": None,
        "iban": "TR" + iban.calc_check_digits("TR00" + bban) + bban,
        "mobile": f"+90532{n:07d}",
        "email": None,
        "has_oks_certificate": False,
        "voluntary": False,
        "contract_no": CONTRACT,
        "rate_override": None,
        "amount_override": None,
        "borne_by": None,
        "period": "2026-10",
        "payment_kind": "regular",
        "pek": Decimal("45000.00") + n,
        "sgk_days": 30,
        "wage_paid_on": date(2026, 10, 30),
    }
    row.update(overrides)
    return row


def contract(**overrides) -> dict:
    row = {
        "contract_no": CONTRACT,
        "employer_vkn": VKN,
        "insurer": "AGESA",
        "starts_on": date(2019, 1, 1),
        "ends_on": None,
        "rate": None,
        "fixed_amount": None,
        "borne_by": "employee",
        "fund_kind": "STANDARD",
        "collection_iban": "TR330006100519786457841326",
        "bank": "Akbank",
        "branch": "Levent",
    }
    row.update(overrides)
    return row


def turkish(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "Evet" if value else "Hayır"
    if isinstance(value, date):
        return value.strftime("%d.%m.%Y")
    if isinstance(value, Decimal):
        whole, _, cents = f"{value:.2f}".partition(".")
        return f"{int(whole):,}".replace(",", ".") + "," + cents
    return str(value)


def write_csv(path: Path, rows: list[dict], *, columns=PAYROLL_COLUMNS, encoding="utf-8-sig", drop=()) -> Path:
    """Turkish headers, ';' separator, Turkish numbers and dates. Cells given as str are written as is
    (to plant malformed values)."""
    kept = [c for c in columns if c.name not in drop]
    with path.open("w", encoding=encoding, newline="") as fh:
        writer = csv.writer(fh, delimiter=";")
        writer.writerow([c.turkish for c in kept])
        for row in rows:
            writer.writerow([turkish(row.get(c.name)) for c in kept])
    return path


def write_contracts_csv(path: Path, rows: list[dict]) -> Path:
    return write_csv(path, rows, columns=CONTRACT_COLUMNS)


def write_xlsx(path: Path, rows: list[dict], *, columns=PAYROLL_COLUMNS) -> Path:
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Bordro")
    sheet.append([c.turkish for c in columns])
    for row in rows:
        cells = []
        for c in columns:
            value = row.get(c.name)
            if isinstance(value, Decimal):
                value = float(value)  # what a spreadsheet holds; the reader turns it back exactly
            elif isinstance(value, bool):
                value = "Evet" if value else "Hayır"
            cells.append(value)
        sheet.append(cells)
    workbook.save(path)
    return path
