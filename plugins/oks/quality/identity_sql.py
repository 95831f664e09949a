"""The identity rules of :mod:`oks.rules.identity` as SQL predicates, so validation runs in the database.

Each function returns a boolean SQL expression over a text column: true when ``normalize_tckn`` /
``normalize_iban`` / ``normalize_mobile`` would accept the value, false when they would refuse it,
NULL for NULL. The arithmetic is the identity module's (stdnum's check digits, MOD 97-10, the
reserved digit) and the mobile ranges are read from phonenumbers' own metadata at run time, so a
new mobile range arrives with a phonenumbers upgrade, not with an edit here.

Equivalence is a tested property (tests/quality/test_identity_sql.py, hypothesis, SQLite and
PostgreSQL): over printable ASCII — what payroll exports carry — the predicate and the Python rule
agree on every value; over any text the predicate never accepts what the Python rule refuses. The
one way they part is towards strictness: spellings phonenumbers tolerates but no payroll writes
(vanity letters, "ext. 12", full-width digits, tabs inside a TCKN) are refused here, so at worst a
row is quarantined for an exotic spelling; never does a bad identifier pass.

Every constant is rendered inline (``literal_column``), never as a bound parameter: GX prints the
failing-row query (``unexpected_index_query``) by substituting parameters itself, which mangles
some values, and the pipeline runs that very query to fill the quarantine.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from oks.rules.identity import tr_mobile_pattern

__all__ = ["tckn_is_valid", "tr_iban_is_valid", "tr_mobile_is_valid", "SUPPORTED_DIALECTS"]

SUPPORTED_DIALECTS = ("sqlite", "postgresql")

# What oks.rules.identity drops before reading a TCKN or an IBAN (its _SEPARATORS, less whitespace
# other than the space: the extraction has already removed all whitespace from these columns).
_ID_SEPARATORS = " -./()"
# What phonenumbers skips inside a number as payroll exports write it.
_PHONE_SEPARATORS = " -./()"


def _text(value: str) -> ColumnElement:
    return sa.literal_column("'" + value.replace("'", "''") + "'")


def _int(value: int) -> ColumnElement:
    return sa.literal_column(str(int(value)), sa.Integer)


def _check_dialect(dialect: str) -> str:
    if dialect not in SUPPORTED_DIALECTS:
        raise NotImplementedError(f"identity checks in SQL exist for {', '.join(SUPPORTED_DIALECTS)}, not {dialect}")
    return dialect


def _strip(expr: ColumnElement, characters: str) -> ColumnElement:
    for character in characters:
        expr = sa.func.replace(expr, _text(character), _text(""))
    return expr


def _only_digits(expr: ColumnElement, dialect: str) -> ColumnElement:
    """True when ``expr`` is one or more ASCII digits (never a locale's notion of a digit)."""
    if dialect == "sqlite":
        return sa.and_(expr != _text(""), sa.not_(expr.op("GLOB")(_text("*[^0-9]*"))))
    return expr.op("~")(_text("^[0-9]+$"))


def _matches(expr: ColumnElement, pattern: str, dialect: str) -> ColumnElement:
    """A full match of ``pattern`` (ASCII classes only, no backslashes: both engines read it alike)."""
    assert "\\" not in pattern and "?" not in pattern.replace("(?:", "(")
    operator = "REGEXP" if dialect == "sqlite" else "~"
    return expr.op(operator)(_text(f"^(?:{pattern})$"))


def _shaped(expr: ColumnElement, glob: str, regex: str, dialect: str) -> ColumnElement:
    """A full match of one shape, written as a GLOB for SQLite (native, no Python call per row) and as a
    regular expression for PostgreSQL."""
    if dialect == "sqlite":
        return expr.op("GLOB")(_text(glob))
    return _matches(expr, regex, dialect)


def _code(character: ColumnElement, dialect: str) -> ColumnElement:
    return (sa.func.unicode if dialect == "sqlite" else sa.func.ascii)(character)


def _digit(expr: ColumnElement, position: int) -> ColumnElement:
    return sa.cast(sa.func.substr(expr, _int(position), _int(1)), sa.Integer)


# --- TCKN ----------------------------------------------------------------------------------------


def _tckn_check_digits_match(s: ColumnElement) -> ColumnElement:
    """For ``s`` known to be 11 ASCII digits."""
    d = {k: _digit(s, k) for k in range(1, 12)}
    odd = d[1] + d[3] + d[5] + d[7] + d[9]
    even = d[2] + d[4] + d[6] + d[8]
    # stdnum.tr.tckimlik.calc_check_digits: (10 - Σ(3·odd + even)) mod 10, then (that + Σd1..d9) mod 10;
    # written with a non-negative left operand because SQL's % keeps the sign.
    check1 = (_int(10) - (_int(3) * odd + even) % _int(10)) % _int(10)
    check2 = (check1 + odd + even) % _int(10)
    return sa.and_(d[10] == check1, d[11] == check2)


def tckn_is_valid(column: ColumnElement, dialect: str) -> ColumnElement:
    """``normalize_tckn`` in SQL: 11 ASCII digits, first not 0, both check digits right."""
    _check_dialect(dialect)
    # The extraction stores a TCKN compact, so nearly every value takes the first branch and the
    # separator stripping below is never evaluated for it (CASE is lazy on both engines).
    canonical = _shaped(column, "[1-9]" + "[0-9]" * 10, "[1-9][0-9]{10}", dialect)
    s = _strip(column, _ID_SEPARATORS)
    well_formed = sa.and_(
        sa.func.length(s) == _int(11),
        _only_digits(s, dialect),
        sa.func.substr(s, _int(1), _int(1)) != _text("0"),
    )
    # The CASE also keeps PostgreSQL from casting a non-digit (an error there, 0 on SQLite).
    return sa.case(
        (canonical, _tckn_check_digits_match(column)),
        (well_formed, _tckn_check_digits_match(s)),
        else_=sa.false(),
    )


# --- IBAN ----------------------------------------------------------------------------------------

_TR_IBAN_LENGTH = 26
_TR_IBAN_GLOB = "TR" + "[0-9]" * 7 + "0" + "[0-9A-Z]" * 16
_TR_IBAN_REGEX = "TR[0-9]{7}0[0-9A-Z]{16}"
_CHUNK = 4  # characters: at most 8 digits, below 10**8


def _iban_remainder_digits(s: ColumnElement) -> ColumnElement:
    """MOD 97 of the rearranged number when all 26 characters after ``TR`` are digits: 22 digits,
    then T=29 and R=27, then the check digits — 28 digits in four 7-digit pieces, every intermediate
    below 2**31."""
    pieces = [
        sa.func.substr(s, _int(5), _int(7)),
        sa.func.substr(s, _int(12), _int(7)),
        sa.func.substr(s, _int(19), _int(7)),
        sa.func.substr(s, _int(26), _int(1)).op("||")(_text("2927")).op("||")(sa.func.substr(s, _int(3), _int(2))),
    ]
    remainder: ColumnElement = _int(0)
    for piece in pieces:
        remainder = (remainder * _int(10**7) + sa.cast(piece, sa.Integer)) % _int(97)
    return remainder


def _iban_remainder_general(s: ColumnElement, dialect: str) -> ColumnElement:
    """MOD 97 of the rearranged number, letters read as two digits (A=10 … Z=35, as stdnum does).
    Horner's rule over chunks of four characters keeps every intermediate inside a 32-bit integer
    and the expression shallow enough for SQLite's parser."""
    positions = list(range(5, _TR_IBAN_LENGTH + 1)) + [1, 2, 3, 4]
    remainder: ColumnElement = _int(0)
    for start in range(0, len(positions), _CHUNK):
        chunk_value: ColumnElement | None = None
        chunk_scale: ColumnElement | None = None
        for position in positions[start : start + _CHUNK]:
            code = _code(sa.func.substr(s, _int(position), _int(1)), dialect)
            is_digit = code < _int(65)
            scale = sa.case((is_digit, _int(10)), else_=_int(100))
            value = sa.case((is_digit, code - _int(48)), else_=code - _int(55))
            chunk_value = value if chunk_value is None else chunk_value * scale + value
            chunk_scale = scale if chunk_scale is None else chunk_scale * scale
        remainder = (remainder * (chunk_scale % _int(97)) + chunk_value) % _int(97)
    return remainder


def tr_iban_is_valid(column: ColumnElement, dialect: str) -> ColumnElement:
    """``normalize_iban`` in SQL: TR, 26 characters, digits up to the reserved digit which is 0, and
    MOD 97-10 over the rearranged number equal to 1 (ISO 7064: the first four characters moved to
    the end)."""
    _check_dialect(dialect)
    # Turkish accounts are digits and the extraction stores an IBAN compact and upper-case: the
    # first branch is the common one and the cheap one.
    canonical = _shaped(column, "TR" + "[0-9]" * 7 + "0" + "[0-9]" * 16, "TR[0-9]{7}0[0-9]{16}", dialect)
    s = sa.func.upper(_strip(column, _ID_SEPARATORS))
    well_formed = _shaped(s, _TR_IBAN_GLOB, _TR_IBAN_REGEX, dialect)
    return sa.case(
        (canonical, _iban_remainder_digits(column) == _int(1)),
        (well_formed, _iban_remainder_general(s, dialect) == _int(1)),
        else_=sa.false(),
    )


# --- mobile --------------------------------------------------------------------------------------


def tr_mobile_is_valid(column: ColumnElement, dialect: str) -> ColumnElement:
    """``normalize_mobile`` in SQL: a Turkish mobile written as 5…, 05…, +90…, 0090… or 90…
    (with the trunk 0 after the country code tolerated, as phonenumbers does), separators ignored;
    the 10 national digits must fall in a mobile range of phonenumbers' metadata."""
    _check_dialect(dialect)
    s = _strip(column, _PHONE_SEPARATORS)
    length = sa.func.length(s)
    after_plus = sa.func.substr(s, _int(2))

    def national_after(offset: int) -> ColumnElement:
        rest = sa.func.substr(s, _int(offset + 1))
        # "+90 (0) 532 …": phonenumbers drops the trunk prefix after the country code too.
        return sa.case((sa.func.substr(rest, _int(1), _int(1)) == _text("0"), sa.func.substr(rest, _int(2))), else_=rest)

    def starts(prefix: str) -> ColumnElement:
        return sa.func.substr(s, _int(1), _int(len(prefix))) == _text(prefix)

    national = sa.case(
        (starts("+90"), national_after(3)),
        (starts("0090"), national_after(4)),
        # Digits only and no trunk 0: "90 532 …" is read as the country code when what follows is a
        # whole national number (12 digits, or 13 with the trunk 0).
        (sa.and_(starts("90"), length.in_([_int(12), _int(13)])), national_after(2)),
        (starts("0"), sa.func.substr(s, _int(2))),
        else_=s,
    )
    digits_after_plus = sa.case((starts("+"), after_plus), else_=s)
    well_formed = sa.and_(
        _only_digits(digits_after_plus, dialect),
        sa.func.length(national) == _int(10),
        _only_digits(national, dialect),
    )
    pattern = tr_mobile_pattern()
    # The spellings payroll screens hold without separators go straight to the range check; only
    # the others pay for the stripping and prefix reading above (CASE is lazy on both engines).
    ten = "[0-9]" * 9
    return sa.case(
        (_shaped(column, "+90[1-9]" + ten, "[+]90[1-9][0-9]{9}", dialect), _matches(sa.func.substr(column, _int(4)), pattern, dialect)),
        (_shaped(column, "0[1-9]" + ten, "0[1-9][0-9]{9}", dialect), _matches(sa.func.substr(column, _int(2)), pattern, dialect)),
        (_shaped(column, "[1-9]" + ten, "[1-9][0-9]{9}", dialect), _matches(column, pattern, dialect)),
        (well_formed, _matches(national, pattern, dialect)),
        else_=sa.false(),
    )
