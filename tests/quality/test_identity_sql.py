"""The SQL pushdowns of the identity rules agree with oks.rules.identity (the property the validation
step relies on), on SQLite and PostgreSQL.

Two properties per identifier:
- equality over what payroll exports carry (printable ASCII; for mobiles, digits, separators and a
  leading +): the SQL predicate accepts exactly what normalize_* accepts;
- soundness over any text: the SQL predicate never accepts what normalize_* refuses.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from stdnum import iban as stdnum_iban
from stdnum.tr import tckimlik

from oks.quality.identity_sql import tckn_is_valid, tr_iban_is_valid, tr_mobile_is_valid
from oks.rules.identity import InvalidIdentifier, normalize_iban, normalize_mobile, normalize_tckn

PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

PREDICATES = {
    "tckn": (tckn_is_valid, normalize_tckn),
    "iban": (tr_iban_is_valid, normalize_iban),
    "mobile": (tr_mobile_is_valid, normalize_mobile),
}


@pytest.fixture
def engine(database_url):
    engine = sa.create_engine(database_url)
    yield engine
    engine.dispose()


def sql_accepts(engine, kind: str, values: list[str]) -> list[bool]:
    predicate = PREDICATES[kind][0]
    value = sa.bindparam("value", type_=sa.String)
    query = sa.select(predicate(value, engine.dialect.name))
    with engine.connect() as conn:
        return [bool(conn.execute(query, {"value": v}).scalar_one()) for v in values]


def python_accepts(kind: str, value: str) -> bool:
    try:
        PREDICATES[kind][1](value)
    except InvalidIdentifier:
        return False
    return True


def assert_equal(engine, kind: str, values: list[str]) -> None:
    got = dict(zip(values, sql_accepts(engine, kind, values), strict=True))
    disagree = {v: accepted for v, accepted in got.items() if accepted != python_accepts(kind, v)}
    assert disagree == {}, f"SQL and Python disagree on {kind}: {disagree}"


def assert_sound(engine, kind: str, values: list[str]) -> None:
    wrongly_accepted = [v for v, ok in zip(values, sql_accepts(engine, kind, values), strict=True) if ok and not python_accepts(kind, v)]
    assert wrongly_accepted == []


# --- strategies ------------------------------------------------------------------------------------

printable_ascii = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=30)
any_text = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=30)  # storable text: no NUL, no lone surrogate
digits = st.text("0123456789", min_size=1, max_size=14)
phone_noise = st.builds(str.__add__, st.sampled_from(["", "+"]), st.text("0123456789 -", max_size=16))
separator = st.sampled_from(["", "", "", " ", "-", ".", "/", "(", ")"])


@st.composite
def sprinkled(draw, text: str) -> str:
    """``text`` with separators between some characters, as a payroll screen might show it."""
    return "".join(ch + draw(separator) for ch in text)


@st.composite
def tckns(draw) -> str:
    first9 = str(draw(st.integers(1, 9))) + draw(st.text("0123456789", min_size=8, max_size=8))
    number = first9 + tckimlik.calc_check_digits(first9)
    change = draw(st.sampled_from(["none", "none", "digit", "first_zero", "shorter", "longer", "letter"]))
    if change == "digit":
        i = draw(st.integers(0, 10))
        number = number[:i] + draw(st.sampled_from("0123456789")) + number[i + 1 :]
    elif change == "first_zero":
        number = "0" + number[1:]
    elif change == "shorter":
        number = number[:-1]
    elif change == "longer":
        number += draw(st.sampled_from("0123456789"))
    elif change == "letter":
        i = draw(st.integers(0, 10))
        number = number[:i] + draw(st.sampled_from("aOlI")) + number[i + 1 :]
    return draw(sprinkled(number))


@st.composite
def ibans(draw) -> str:
    bank = draw(st.text("0123456789", min_size=5, max_size=5))
    account_alphabet = draw(st.sampled_from(["0123456789", "0123456789", "0123456789ABCXYZ"]))
    account = draw(st.text(account_alphabet, min_size=16, max_size=16))
    reserved = draw(st.sampled_from("0000000001"))
    bban = bank + reserved + account
    country = draw(st.sampled_from(["TR", "TR", "TR", "DE", "tr"]))
    number = country.upper() + stdnum_iban.calc_check_digits(country.upper() + "00" + bban) + bban
    change = draw(st.sampled_from(["none", "none", "char", "check", "shorter", "lower"]))
    if change == "char":
        i = draw(st.integers(0, len(number) - 1))
        number = number[:i] + draw(st.sampled_from("0123456789AZ")) + number[i + 1 :]
    elif change == "check":
        number = number[:2] + f"{draw(st.integers(0, 99)):02d}" + number[4:]
    elif change == "shorter":
        number = number[:-1]
    elif change == "lower":
        number = number.lower()
    return draw(sprinkled(number))


MOBILE_PREFIXES = ["", "0", "+90", "+90 (0) ", "+900", "0090", "0090 0", "90", "900", "+", "00", "+1", "+44", "0 0", "(0)"]


@st.composite
def mobiles(draw) -> str:
    first = draw(st.sampled_from("55555512348"))
    national = first + draw(st.text("0123456789", min_size=8, max_size=10))
    return draw(st.sampled_from(MOBILE_PREFIXES)) + draw(sprinkled(national))


# --- properties ------------------------------------------------------------------------------------


@PROPERTY
@given(values=st.lists(tckns(), min_size=1, max_size=25), noise=st.lists(printable_ascii, max_size=5))
def test_tckn_sql_equals_normalize_tckn(engine, values, noise):
    assert_equal(engine, "tckn", values + noise)


@PROPERTY
@given(values=st.lists(ibans(), min_size=1, max_size=25), noise=st.lists(printable_ascii, max_size=5))
def test_iban_sql_equals_normalize_iban(engine, values, noise):
    assert_equal(engine, "iban", values + noise)


@PROPERTY
@given(values=st.lists(mobiles(), min_size=1, max_size=25), noise=st.lists(phone_noise, max_size=5))
def test_mobile_sql_equals_normalize_mobile(engine, values, noise):
    assert_equal(engine, "mobile", values + noise)


@PROPERTY
@given(kind=st.sampled_from(sorted(PREDICATES)), values=st.lists(any_text, min_size=1, max_size=25))
def test_sql_never_accepts_what_python_refuses(engine, kind, values):
    assert_sound(engine, kind, values)


@pytest.mark.parametrize(
    ("kind", "value", "accepted"),
    [
        ("tckn", "17291716060", True),
        ("tckn", "172 917 160-60", True),
        ("tckn", "17291716061", False),
        ("tckn", "07291716092", False),
        ("iban", "TR330006100519786457841326", True),
        ("iban", "TR33 0006 1005 1978 6457 8413 26", True),
        ("iban", "tr330006100519786457841326", True),
        ("iban", "TR330006100519786457841327", False),
        ("iban", "DE89370400440532013000", False),
        ("mobile", "0532 123 45 67", True),
        ("mobile", "+90 532 123 45 67", True),
        ("mobile", "0090 532 1234567", True),
        ("mobile", "0212 123 45 67", False),
        ("mobile", "0850 123 45 67", False),
        ("mobile", "0512 123 45 67", False),  # a pager range, not a mobile
        # Spellings phonenumbers reads but no payroll writes: refused in SQL (stricter, never looser).
        ("mobile", "0532 ADG JMPT", False),
        ("mobile", "0532 123 45 67 ext. 5", False),
    ],
)
def test_known_values(engine, kind, value, accepted):
    assert sql_accepts(engine, kind, [value]) == [accepted]
    if accepted:
        assert python_accepts(kind, value)

