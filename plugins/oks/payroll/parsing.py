"""Typed values from what payroll products export: Turkish number and date formats, Evet/Hayır.

A value that cannot be read raises :class:`CellError` with a reason code; the extraction records it
against the row and field instead of dropping the row. Nothing here validates identifiers (that is
the data-quality step's job): an identifier is only made compact so that the same TCKN written with
spaces is the same TCKN.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache

from oks.payroll.columns import Column
from oks.rules.identity import InvalidIdentifier, normalize_mobile

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
_E164_TR = re.compile(r"\+90\d{10}")
_IDENTIFIER_FIELDS = {"tckn", "iban", "employer_vkn"}
_IDENTIFIER_SEPARATORS = re.compile(r"[\s\-]")
_CURRENCY = re.compile(r"(?i)tl$|^tl|₺")


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


MONEY_LIMIT = Decimal("1000000000000")
"""Amounts are stored as NUMERIC(14, 2): anything from here up cannot be a payroll amount."""

_MONEY_TEXT = re.compile(r"[+-]?[0-9.,]+")


def _grouped(digits: str, sep: str) -> bool:
    """``1.234.567`` with ``sep`` = ``.``: thousands grouped in threes, the first group 1–3 digits."""
    return re.fullmatch(rf"\d{{1,3}}(\{sep}\d{{3}})+", digits) is not None


def _money_text(text: str) -> Decimal:
    """The one grammar of a money cell written as text (see docs/payroll-source.md):

    - digits, optionally grouped by thousands, optionally with a decimal part of one or two digits;
    - the decimal separator is the last of ``,`` / ``.``; the other, if present, groups by thousands;
    - a single separator before exactly three digits (``33.000``, ``33,000``) is refused: it is
      thousands in Turkish and decimals in English, and guessing wrong moves money a thousandfold;
    - no exponent, no letters; ``TL``/``₺`` and spaces are ignored.
    """
    text = _SPACES.sub("", text)
    text = _CURRENCY.sub("", text)
    if not _MONEY_TEXT.fullmatch(text):
        raise CellError("amount", "not a number (digits with . or , only: no letters, no exponent)")
    sign = "-" if text.startswith("-") else ""
    body = text.lstrip("+-")
    separators = [c for c in body if c in ".,"]
    if not body or not body[0].isdigit() or not body[-1].isdigit():
        raise CellError("amount", "not a number")
    if not separators:
        return Decimal(sign + body)
    last = body[max(body.rfind(","), body.rfind("."))]
    whole, fraction = body.rsplit(last, 1)
    if len(set(separators)) == 2:
        group = "." if last == "," else ","
        if not (whole.isdigit() or _grouped(whole, group)) or group in fraction:
            raise CellError("amount", "not a number: thousands must be grouped by three")
    elif separators.count(last) > 1:
        # 1.234.567 or 1,234,567: several of one separator can only group thousands.
        if not _grouped(body, last):
            raise CellError("amount", "not a number: thousands must be grouped by three")
        return Decimal(sign + body.replace(last, ""))
    elif len(fraction) == 3:
        raise CellError(
            "amount_ambiguous",
            "ambiguous amount: one separator before three digits is thousands (Turkish) or decimals "
            "(English); write the decimals too (1.234,00) or no separator (1234)",
        )
    if not fraction.isdigit() or not 1 <= len(fraction) <= 2:
        raise CellError("amount", "more than two decimals (kuruş)" if len(fraction) > 2 else "not a number")
    return Decimal(f"{sign}{whole.replace('.', '').replace(',', '')}.{fraction}")


def parse_money(value: object) -> Decimal:
    """A money cell → Decimal with two places: text by :func:`_money_text`'s grammar, or a number cell."""
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
        result = _money_text(str(value))
    if not result.is_finite():
        raise CellError("amount", "not a finite number")
    if abs(result) >= MONEY_LIMIT:  # before quantizing: a huge number has no kuruş place to quantize to
        raise CellError("amount", "too large to be a payroll amount")
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


_RATE_TEXT = re.compile(r"(%?)([0-9]+(?:[.,][0-9]+)?)(%?)")
RATE_PLACES = 5
"""Rates are stored as NUMERIC(7, 5): a finer rate would be rounded silently, so it is refused."""


def parse_rate(value: object) -> Decimal:
    """A rate cell → a fraction: ``0.05``, ``0,05``, ``%5``, ``5%``, or ``5`` (a bare number from 2 up to
    100 is a percent). A bare ``1`` is refused — 1% or 100%? — as is anything over 100%, negative,
    with an exponent, or finer than 0.00001."""
    if isinstance(value, bool):
        raise CellError("rate", "a yes/no value is not a rate")
    percent = False
    if isinstance(value, (int, Decimal)):
        rate = Decimal(value)
    elif isinstance(value, float):
        rate = Decimal(repr(value))
    else:
        match = _RATE_TEXT.fullmatch(_SPACES.sub("", str(value)))
        if not match or (match.group(1) and match.group(3)):
            raise CellError("rate", "not a rate (expected 0.05 or %5)")
        percent = bool(match.group(1) or match.group(3))
        rate = Decimal(match.group(2).replace(",", "."))
    if not rate.is_finite() or rate < 0:
        raise CellError("rate", "not a rate (expected 0.05 or %5)")
    if not percent:
        if rate == 1:
            raise CellError("rate_ambiguous", "ambiguous rate 1: write %1 (one percent) or %100")
        percent = rate > 1
    if percent:
        rate = rate / 100
    if rate > 1:
        raise CellError("rate", "over 100%")
    if rate != rate.quantize(Decimal(1).scaleb(-RATE_PLACES)):
        raise CellError("rate", f"finer than {RATE_PLACES} decimal places of a fraction")
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
        text = _IDENTIFIER_SEPARATORS.sub("", text).upper()
    elif column.name == "fund_preference":
        # The two OKS fund choices as payroll writes them; anything else stays as written, for validation
        # to refuse by name — a typo must not put someone in the fund they did not choose.
        text = FUND_PREFERENCES.get(_fold_choice(text), text)
    elif column.name == "mobile" and not _E164_TR.fullmatch(text):
        # A mobile is kept as E.164 (+905321234567), the form the store and DES hold, whatever spelling
        # payroll used; anything else stays as written, for validation to judge and name. One already
        # in that form stays as it is either way: it skips the parse.
        try:
            text = normalize_mobile(text)
        except InvalidIdentifier:
            pass
    return text


FUND_PREFERENCES = {
    **dict.fromkeys(("faizli", "standart", "standard", "konvansiyonel", "geleneksel"), "STANDARD"),
    **dict.fromkeys(("faizsiz", "katilim", "participation", "katilimfonu", "faizsizfon", "icazetli"), "PARTICIPATION"),
}
"""A person's fund choice (docs/rules.md §4): interest-bearing (faizli) or participation (faizsiz,
katılım), by the folded spellings payroll products use."""

_FOLD = str.maketrans({"ı": "i", "İ": "i", "ş": "s", "Ş": "s", "ç": "c", "Ç": "c", "ğ": "g", "Ğ": "g", "ü": "u", "Ü": "u",
                       "ö": "o", "Ö": "o", "â": "a", "Â": "a"})  # fmt: skip


def _fold_choice(text: str) -> str:
    return "".join(ch for ch in text.translate(_FOLD).lower() if ch.isalnum())


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
