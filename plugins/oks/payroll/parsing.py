"""Typed values from what payroll products export: Turkish number and date formats, Evet/Hayır.

A value that cannot be read raises :class:`CellError` with a reason code; the extraction records it
against the row and field instead of dropping the row. Nothing here validates identifiers (that is
the data-quality step's job): an identifier is only made compact so that the same TCKN written with
spaces is the same TCKN.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache

from oks.payroll.columns import Column

__all__ = ["CellError", "parse_cell", "parse_money", "parse_date", "parse_period", "parse_rate", "parse_bool"]


class CellError(ValueError):
    """A cell that cannot be read as its column's kind. ``code``: missing | date | amount | number |
    rate | bool | period | text."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


_TRUE = {"evet", "e", "var", "true", "t", "yes", "y", "1", "x"}
_FALSE = {"hayir", "hayır", "h", "yok", "false", "f", "no", "n", "0", ""}
_SPACES = re.compile(r"\s+")
_IDENTIFIER_FIELDS = {"tckn", "iban", "employer_vkn"}


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def parse_money(value: object) -> Decimal:
    """``1.234,56`` (Turkish), ``1234,56``, ``1234.56``, ``1,234.56``, or a number cell → Decimal."""
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, bool):
        raise CellError("amount", "a yes/no value is not an amount")
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, float):
        # A spreadsheet number cell: its shortest repr is what the user typed (33030.1, not 33030.0999…).
        result = Decimal(repr(value))
    else:
        text = _SPACES.sub("", str(value)).replace("TL", "").replace("₺", "")
        if "," in text and "." in text:
            # Whichever separator comes last is the decimal one; the other must group by thousands.
            decimal_sep = "," if text.rfind(",") > text.rfind(".") else "."
            group_sep = "." if decimal_sep == "," else ","
            whole, fraction = text.rsplit(decimal_sep, 1)
            if not re.fullmatch(rf"-?\d{{1,3}}(\{group_sep}\d{{3}})*", whole):
                raise CellError("amount", "not a number")
            text = whole.replace(group_sep, "") + "." + fraction
        elif "," in text:
            if text.count(",") > 1:
                raise CellError("amount", "more than one decimal comma")
            text = text.replace(",", ".")
        elif text.count(".") > 1:
            # 1.234.567 is Turkish thousands grouping; anything else with several dots is garbage.
            if not re.fullmatch(r"-?\d{1,3}(\.\d{3})+", text):
                raise CellError("amount", "not a number")
            text = text.replace(".", "")
        try:
            result = Decimal(text)
        except InvalidOperation:
            raise CellError("amount", "not a number") from None
    if not result.is_finite():
        raise CellError("amount", "not a finite number")
    if result != result.quantize(Decimal("0.01")):
        raise CellError("amount", "more than two decimals (kuruş)")
    return result.quantize(Decimal("0.01"))


_DAY_FIRST = re.compile(r"(\d{1,2})[./-](\d{1,2})[./-](\d{4})")
_ISO = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T]00:00(?::00)?)?")


@lru_cache(maxsize=8192)
def _date_from_text(text: str) -> date:
    # Regexes instead of strptime: a payroll has millions of date cells and few distinct values.
    match = _DAY_FIRST.fullmatch(text)
    if match:
        day, month, year = (int(g) for g in match.groups())
    else:
        match = _ISO.fullmatch(text)
        if not match:
            raise CellError("date", "not a date (expected 31.10.2026 or 2026-10-31)")
        year, month, day = (int(g) for g in match.groups())
    try:
        return date(year, month, day)
    except ValueError:
        raise CellError("date", "not a date: no such day (expected 31.10.2026 or 2026-10-31)") from None


def parse_date(value: object) -> date:
    """``31.10.2026`` (Turkish), ``31/10/2026``, ``2026-10-31``, or a date cell."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return _date_from_text(str(value).strip())


def parse_period(value: object) -> str:
    """``2026-10``, ``2026/10``, ``10.2026``, ``10/2026``, ``202610``, or a date cell → ``2026-10``."""
    if isinstance(value, (date, datetime)):
        return f"{value.year:04d}-{value.month:02d}"
    text = str(value).strip()
    match = (
        re.fullmatch(r"(\d{4})[-/.](\d{1,2})", text)
        or re.fullmatch(r"(\d{4})(\d{2})", text)
    )
    if match:
        year, month = int(match.group(1)), int(match.group(2))
    else:
        match = re.fullmatch(r"(\d{1,2})[-/.](\d{4})", text)
        if not match:
            raise CellError("period", "not a pay period (expected 2026-10)")
        month, year = int(match.group(1)), int(match.group(2))
    if not 1 <= month <= 12 or not 2000 <= year <= 2100:
        raise CellError("period", "month or year out of range")
    return f"{year:04d}-{month:02d}"


def parse_rate(value: object) -> Decimal:
    """``0.05``, ``0,05``, ``%5``, ``5%`` or ``5`` (a whole number above 1 is a percent) → 0.05."""
    text = str(value).strip() if not isinstance(value, (int, float, Decimal)) else value
    percent = isinstance(text, str) and "%" in text
    if isinstance(text, str):
        text = text.replace("%", "").replace(",", ".").strip()
    try:
        rate = Decimal(repr(text)) if isinstance(text, float) else Decimal(text)
    except InvalidOperation:
        raise CellError("rate", "not a rate (expected 0.05 or %5)") from None
    if not rate.is_finite() or rate < 0:
        raise CellError("rate", "not a rate (expected 0.05 or %5)")
    if percent or rate > 1:
        rate = rate / 100
    return rate


def parse_bool(value: object) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)) and value in (0, 1):
        return bool(value)
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise CellError("bool", "not a yes/no value (Evet/Hayır)")


def parse_int(value: object) -> int:
    if isinstance(value, bool):
        raise CellError("number", "not a whole number")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    text = str(value).strip()
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    if re.fullmatch(r"-?\d+[.,]0+", text):
        return int(re.split(r"[.,]", text)[0])
    raise CellError("number", "not a whole number")


def parse_text(column: Column, value: object) -> str:
    if isinstance(value, float):
        # Spreadsheets turn 17291716060 or a payroll id into a number; a whole float keeps every digit
        # up to 2**53, so the text is recoverable.
        return str(int(value)) if value.is_integer() else repr(value)
    text = _SPACES.sub(" ", str(value)).strip()
    if column.name in _IDENTIFIER_FIELDS:
        text = re.sub(r"[\s\-]", "", text).upper()
    return text


_PARSERS = {
    "money": parse_money,
    "date": parse_date,
    "period": parse_period,
    "rate": parse_rate,
    "bool": parse_bool,
    "int": parse_int,
}


def parse_cell(column: Column, value: object):
    """The typed value of one cell, ``None`` for a blank one."""
    if _blank(value):
        return None
    parser = _PARSERS.get(column.kind)
    if parser is None:
        return parse_text(column, value)
    return parser(value)
