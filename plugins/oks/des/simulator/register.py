"""The identity register (the simulator's stand-in for MERNİS): who exists, with which names and birth date.

Read from the CSV the synthetic payroll generator writes next to its payroll:
``identity_register.csv`` with columns ``tckn, first_name, last_name, birth_date`` (ISO date).
"""

from __future__ import annotations

import csv
import io
import typing
from collections.abc import Iterator
from datetime import date
from pathlib import Path

COLUMNS = ("tckn", "first_name", "last_name", "birth_date")

# str.upper() maps i to I, but in Turkish i is the dotted İ and ı the dotless I: without this,
# "Işık" and "ışık" would not match, and "Ali" would not match "ALİ" as a payroll system writes it.
_TURKISH_UPPER = str.maketrans({"i": "İ", "ı": "I"})


def fold_name(name: str) -> str:
    """A name as the register compares it: Turkish upper case, single spaces."""
    return " ".join(name.translate(_TURKISH_UPPER).upper().split())


def read_rows(source: Path | str) -> Iterator[tuple[str, str, str, str]]:
    """``(tckn, folded first name, folded last name, ISO birth date)`` per row of a file path or CSV text."""
    handle: typing.TextIO
    if isinstance(source, Path):
        handle = source.open(newline="", encoding="utf-8-sig")
    else:
        handle = io.StringIO(source)
    with handle:
        reader = csv.DictReader(handle)
        missing = [c for c in COLUMNS if c not in (reader.fieldnames or ())]
        if missing:
            raise ValueError(f"identity register: missing column(s) {', '.join(missing)}")
        for line_no, row in enumerate(reader, start=2):
            try:
                born = date.fromisoformat(row["birth_date"].strip()).isoformat()
            except ValueError:
                raise ValueError(f"identity register line {line_no}: birth_date is not an ISO date") from None
            yield row["tckn"].strip(), fold_name(row["first_name"]), fold_name(row["last_name"]), born
