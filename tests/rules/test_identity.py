"""TCKN, IBAN and mobile normalization: table-driven edges plus laws that hold for all inputs.

The property tests check stdnum/phonenumbers-backed code against independent oracles written from
docs/rules.md §8, so a wrong library call shows up as a disagreement.
"""

from __future__ import annotations

import phonenumbers
import pytest
from hypothesis import given
from hypothesis import strategies as st

from oks.rules.identity import InvalidIdentifier, normalize_iban, normalize_mobile, normalize_tckn

# --- oracles, straight from docs/rules.md §8 ------------------------------------------------


def tckn_check_digits(first9: str) -> str:
    d = [int(c) for c in first9]
    d10 = ((d[0] + d[2] + d[4] + d[6] + d[8]) * 7 - (d[1] + d[3] + d[5] + d[7])) % 10
    d11 = (sum(d) + d10) % 10
    return f"{d10}{d11}"


def tckn_is_valid(text: str) -> bool:
    return len(text) == 11 and text.isdigit() and text[0] != "0" and text[9:] == tckn_check_digits(text[:9])


def tr_iban(bank: str, reserved: str, account: str) -> str:
    """Build a TR IBAN with correct ISO 7064 MOD 97-10 check digits."""
    bban = bank + reserved + account
    rearranged = bban + "TR00"
    numeric = "".join(str(int(c, 36)) for c in rearranged)
    check = 98 - int(numeric) % 97
    return f"TR{check:02d}{bban}"


# --- TCKN ---------------------------------------------------------------------------------------

VALID_TCKN = "17291716060"


@pytest.mark.parametrize(
    "value",
    [VALID_TCKN, " 17291716060 ", "172 917 160 60", "172-917-160-60", 17291716060],
    ids=["plain", "padded", "spaced", "dashed", "int"],
)
def test_tckn_accepts_common_spellings(value):
    assert normalize_tckn(value) == VALID_TCKN


@pytest.mark.parametrize(
    ("value", "code"),
    [
        (None, "missing"),
        ("", "missing"),
        ("   ", "missing"),
        (True, "missing"),
        ("1729171606", "length"),
        ("172917160600", "length"),
        ("1729171606a", "format"),
        ("07291716060", "format"),  # first digit 0
        ("00000000000", "format"),
        ("17291716061", "checksum"),  # d11 wrong
        ("17291716050", "checksum"),  # d10 wrong
        (17291716060.0, "format"),  # a float from a spreadsheet cell
    ],
)
def test_tckn_refusals_carry_a_code(value, code):
    with pytest.raises(InvalidIdentifier) as caught:
        normalize_tckn(value)
    assert caught.value.code == code
    assert caught.value.kind == "tckn"


def test_tckn_error_message_does_not_echo_the_value():
    with pytest.raises(InvalidIdentifier) as caught:
        normalize_tckn("17291716061")
    assert "17291716061" not in str(caught.value)
    assert "172******61" in str(caught.value)


@given(st.text(alphabet="0123456789", min_size=11, max_size=11))
def test_tckn_agrees_with_the_domain_formula(text):
    if tckn_is_valid(text):
        assert normalize_tckn(text) == text
    else:
        with pytest.raises(InvalidIdentifier):
            normalize_tckn(text)


valid_tckns = st.builds(
    lambda first, rest: first + rest + tckn_check_digits(first + rest),
    st.sampled_from("123456789"),
    st.text(alphabet="0123456789", min_size=8, max_size=8),
)


@given(valid_tckns)
def test_normalized_tckn_normalizes_to_itself(tckn):
    once = normalize_tckn(tckn)
    assert normalize_tckn(once) == once


# --- IBAN ---------------------------------------------------------------------------------------

VALID_IBAN = "TR330006100519786457841326"


@pytest.mark.parametrize(
    "value",
    [VALID_IBAN, "TR33 0006 1005 1978 6457 8413 26", "tr330006100519786457841326", " TR33-0006-1005-1978-6457-8413-26 "],
    ids=["compact", "grouped", "lower", "dashed"],
)
def test_iban_accepts_common_spellings(value):
    assert normalize_iban(value) == VALID_IBAN


@pytest.mark.parametrize(
    ("value", "code"),
    [
        (None, "missing"),
        ("", "missing"),
        ("DE89370400440532013000", "country"),
        ("GB82WEST12345698765432", "country"),
        ("TR33000610051978645784132", "length"),
        ("TR3300061005197864578413261", "length"),
        ("TR330006100519786457841325", "checksum"),
        ("TR340006100519786457841326", "checksum"),
        ("330006100519786457841326TR", "format"),
        ("TRXX0006100519786457841326", "format"),
        ("TR33ABCDE0519786457841326X", "format"),
        (tr_iban("00061", "1", "0519786457841326"), "reserved_digit"),
    ],
)
def test_iban_refusals_carry_a_code(value, code):
    with pytest.raises(InvalidIdentifier) as caught:
        normalize_iban(value)
    assert caught.value.code == code
    if value:
        assert str(value).replace(" ", "") not in str(caught.value)


valid_ibans = st.builds(
    lambda bank, account: tr_iban(bank, "0", account),
    st.text(alphabet="0123456789", min_size=5, max_size=5),
    st.text(alphabet="0123456789", min_size=16, max_size=16),
)


@given(valid_ibans, st.sampled_from([" ", "", "-"]), st.booleans())
def test_normalized_iban_normalizes_to_itself(iban, separator, lower):
    spelled = separator.join(iban[i : i + 4] for i in range(0, len(iban), 4))
    spelled = spelled.lower() if lower else spelled
    once = normalize_iban(spelled)
    assert once == iban
    assert normalize_iban(once) == once


@given(valid_ibans, st.integers(min_value=4, max_value=25), st.sampled_from("0123456789"))
def test_any_single_digit_change_is_caught(iban, position, digit):
    changed = iban[:position] + digit + iban[position + 1 :]
    if changed == iban:
        return
    with pytest.raises(InvalidIdentifier) as caught:
        normalize_iban(changed)
    assert caught.value.code in {"checksum", "reserved_digit"}


# --- mobile -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    ["05321234567", "5321234567", "+905321234567", "0090 532 123 45 67", "+90 (532) 123-45-67", "0532-123 45 67"],
)
def test_mobile_accepts_common_spellings(value):
    assert normalize_mobile(value) == "+905321234567"


@pytest.mark.parametrize(
    ("value", "code"),
    [
        (None, "missing"),
        ("", "missing"),
        ("  ", "missing"),
        ("0212 123 45 67", "not_mobile"),  # Istanbul landline
        ("0312 123 45 67", "not_mobile"),  # Ankara landline
        ("0850 123 45 67", "not_mobile"),  # non-geographic service number
        ("+44 7911 123456", "country"),
        ("0532 123 456", "length"),
        ("0532 123 45 678", "length"),
        ("telefon yok", "format"),
    ],
)
def test_mobile_refusals_carry_a_code(value, code):
    with pytest.raises(InvalidIdentifier) as caught:
        normalize_mobile(value)
    assert caught.value.code == code


def test_mobile_error_message_is_masked():
    with pytest.raises(InvalidIdentifier) as caught:
        normalize_mobile("02121234567")
    assert "2121234567" not in str(caught.value)


@given(
    st.text(alphabet="0123456789", min_size=9, max_size=9),
    st.sampled_from(["0{}", "{}", "+90{}", "0090{}", "+90 {}"]),
)
def test_normalized_mobile_normalizes_to_itself(rest, spelling):
    national = "5" + rest
    try:
        once = normalize_mobile(spelling.format(national))
    except InvalidIdentifier as exc:
        # Some 5xx ranges are unassigned; those are refused the same way in every spelling.
        with pytest.raises(InvalidIdentifier) as again:
            normalize_mobile(national)
        assert again.value.code == exc.code
        return
    assert once == "+90" + national
    assert normalize_mobile(once) == once


def _phonenumbers_reading(national: str) -> str | None:
    """What phonenumbers alone makes of 10 national digits: the E.164 of a Turkish mobile, or None."""
    number = phonenumbers.parse(national, "TR")
    mobile = phonenumbers.is_valid_number(number) and phonenumbers.number_type(number) in {
        phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE}  # fmt: skip
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164) if mobile else None


@given(
    st.sampled_from("123456789"),
    st.text(alphabet="0123456789", min_size=2, max_size=2),
    st.text(alphabet="0123456789", min_size=7, max_size=7),
    st.sampled_from(["{}", "0{}", "+90{}"]),
)
def test_plain_spellings_skip_the_parse_but_read_as_phonenumbers_reads_them(first, prefix, rest, spelling):
    # Plain spellings take a fast path (no phonenumbers parse); it must accept exactly what the
    # parse accepts — every area code and 5xx prefix drawn, landlines, pagers and service numbers too.
    national = first + prefix + rest
    expected = _phonenumbers_reading(national)
    if expected is None:
        with pytest.raises(InvalidIdentifier):
            normalize_mobile(spelling.format(national))
    else:
        assert normalize_mobile(spelling.format(national)) == expected


def _phonenumbers_reading_of(text: str) -> str | None:
    """What phonenumbers alone makes of a spelling: the E.164 of a Turkish mobile, or None."""
    try:
        number = phonenumbers.parse(text, "TR")
    except phonenumbers.NumberParseException:
        return None
    mobile = phonenumbers.is_valid_number(number) and number.country_code == 90 and phonenumbers.number_type(number) in {
        phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE}  # fmt: skip
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164) if mobile else None


@given(
    st.sampled_from(["5321234567", "5051234567", "5441234567", "5121234567", "2121234567", "8501234567", "5922111234"]),
    st.sampled_from(["{}", "0{}", "+90{}"]),
    st.lists(st.tuples(st.integers(0, 14), st.sampled_from([" ", "-", "(", ")", "  ", "\t"])), max_size=6),
)
def test_spellings_with_separators_read_as_phonenumbers_reads_them(national, spelling, inserts):
    # Spaces, dashes and brackets anywhere (0532 123 45 67, (0532) 123-45-67) take the fast path too:
    # it must give what phonenumbers' own parse of the very same text gives, refusal included.
    text = spelling.format(national)
    for position, separator in inserts:
        text = text[:position] + separator + text[position:]
    expected = _phonenumbers_reading_of(text)
    if expected is None:
        with pytest.raises(InvalidIdentifier):
            normalize_mobile(text)
    else:
        assert normalize_mobile(text) == expected


@pytest.mark.parametrize("national", ["5121234567", "5922111234", "5924611234", "5610111234", "5616151234", "5822312345"])
def test_ranges_phonenumbers_classifies_before_mobile_stay_its_reading(national):
    # Pager (512…), personal numbers (592…) and the narrow 561…/582… mobile ranges, spelled plainly.
    expected = _phonenumbers_reading(national)
    if expected is None:
        with pytest.raises(InvalidIdentifier):
            normalize_mobile(national)
    else:
        assert normalize_mobile(national) == expected
