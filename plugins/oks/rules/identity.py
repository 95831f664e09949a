"""Personal identifiers: TCKN, Turkish IBAN, Turkish mobile number (docs/rules.md §8).

Each ``normalize_*`` returns the one canonical spelling the store and DES use, or raises
:class:`InvalidIdentifier` with a machine-readable ``code``. Messages never echo the full value
(KVKK): they carry the masked value only. The arithmetic is python-stdnum's and phonenumbers'.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache

import phonenumbers
from stdnum import iban as _iban
from stdnum.exceptions import InvalidChecksum, InvalidFormat, InvalidLength, ValidationError
from stdnum.tr import tckimlik as _tckimlik

from oks.privacy import mask_iban, mask_phone, mask_tckn

__all__ = ["InvalidIdentifier", "normalize_tckn", "normalize_iban", "normalize_mobile", "tr_mobile_pattern"]

_SEPARATORS = re.compile(r"[\s\-./()]")


class InvalidIdentifier(ValueError):
    """An identifier that cannot be used: ``kind`` (tckn, iban, mobile), ``code`` and a masked message.

    Codes: ``missing``, ``length``, ``format``, ``checksum``, ``country``, ``reserved_digit``,
    ``not_mobile``.
    """

    def __init__(self, kind: str, code: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.code = code
        self.message = message

    def __reduce__(self):  # keep kind and code across pickling (multiprocessing, Airflow callbacks)
        return (type(self), (self.kind, self.code, self.message))


def _text(kind: str, value: object) -> str:
    if value is None or isinstance(value, bool):
        raise InvalidIdentifier(kind, "missing", f"{kind}: no value")
    if isinstance(value, float):
        # A spreadsheet cell read as float has already lost leading zeros or digits.
        raise InvalidIdentifier(kind, "format", f"{kind}: a number read as float cannot be trusted; read the column as text")
    text = _SEPARATORS.sub("", str(value))
    if not text:
        raise InvalidIdentifier(kind, "missing", f"{kind}: empty value")
    return text


def normalize_tckn(value: object) -> str:
    """An 11-digit T.C. Kimlik No, first digit not 0, both check digits right (stdnum.tr.tckimlik).

    Spaces and dashes are dropped. The checksum does not prove the person exists: the insurer checks
    the population register (MERNİS).
    """
    text = _text("tckn", value)
    masked = mask_tckn(text)
    if not text.isdigit():
        raise InvalidIdentifier("tckn", "format", f"TCKN {masked}: digits only")
    if len(text) != 11:
        raise InvalidIdentifier("tckn", "length", f"TCKN {masked}: {len(text)} digits, 11 expected")
    try:
        return _tckimlik.validate(text)
    except InvalidFormat:
        raise InvalidIdentifier("tckn", "format", f"TCKN {masked}: cannot start with 0") from None
    except InvalidChecksum:
        raise InvalidIdentifier("tckn", "checksum", f"TCKN {masked}: check digits do not match") from None
    except ValidationError as exc:  # pragma: no cover - stdnum's other errors map to format
        raise InvalidIdentifier("tckn", "format", f"TCKN {masked}: {type(exc).__name__}") from None


_TR_IBAN_LENGTH = 26
_RESERVED_DIGIT_INDEX = 9  # TR + 2 check digits + 5-digit bank code, then the reserved digit


def normalize_iban(value: object) -> str:
    """A Turkish IBAN, upper-case without spaces: ``TR`` + 2 check digits + 5-digit bank code +
    reserved digit ``0`` + 16-character account, MOD 97-10 checked by stdnum."""
    text = _text("iban", value).upper()
    masked = mask_iban(text)
    if len(text) < 4 or not text[:2].isalpha() or not text[2:4].isdigit():
        raise InvalidIdentifier("iban", "format", f"IBAN {masked}: must start with a country code and two check digits")
    if text[:2] != "TR":
        raise InvalidIdentifier("iban", "country", f"IBAN {masked}: only Turkish (TR) IBANs are accepted")
    if len(text) != _TR_IBAN_LENGTH:
        raise InvalidIdentifier("iban", "length", f"IBAN {masked}: {len(text)} characters, {_TR_IBAN_LENGTH} expected")
    if not text[4:10].isdigit() or not text[10:].isalnum():
        raise InvalidIdentifier("iban", "format", f"IBAN {masked}: bank code must be digits")
    try:
        compact = _iban.validate(text, check_country=True)
    except InvalidChecksum:
        raise InvalidIdentifier("iban", "checksum", f"IBAN {masked}: MOD-97 check digits do not match") from None
    except (InvalidFormat, InvalidLength):
        raise InvalidIdentifier("iban", "format", f"IBAN {masked}: not a Turkish account number") from None
    if compact[_RESERVED_DIGIT_INDEX] != "0":
        raise InvalidIdentifier("iban", "reserved_digit", f"IBAN {masked}: the reserved digit after the bank code must be 0")
    return compact


_TR_NATIONAL_LENGTH = 10
_MOBILE_TYPES = {phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE}
# The spellings payroll and the store hold: +90…, 0…, or the 10 national digits, once the separators
# people write (spaces, dashes, brackets: 0532 123 45 67, (0532) 123-45-67) are taken out.
_PLAIN_SPELLING = re.compile(r"(?:\+90|0)?([1-9][0-9]{9})")
_MOBILE_SEPARATORS = re.compile(r"[ \-()]")


def _tr_pattern(desc: phonenumbers.PhoneNumberDesc | None) -> str | None:
    return None if desc is None else desc.national_number_pattern


def _tr_metadata() -> phonenumbers.PhoneMetadata:
    metadata = phonenumbers.PhoneMetadata.metadata_for_region("TR")
    if metadata is None or _tr_pattern(metadata.mobile) is None or _tr_pattern(metadata.general_desc) is None:
        raise ValueError("phonenumbers has no Turkish number plan")
    return metadata


@lru_cache(maxsize=1)
def tr_mobile_pattern() -> str:
    """phonenumbers' national-number pattern for Turkish mobiles, with ASCII digit classes: the
    ranges come with a phonenumbers upgrade, not with an edit here."""
    pattern = str(_tr_pattern(_tr_metadata().mobile)).replace(r"\d", "[0-9]")
    if "\\" in pattern:
        raise ValueError(f"unexpected escape in phonenumbers' TR mobile pattern: {pattern}")
    return pattern


@lru_cache(maxsize=1)
def _tr_plain_mobile() -> Callable[[str], bool]:
    """Whether 10 national digits are what phonenumbers calls a Turkish mobile: inside its number
    plan, in a mobile range, and in none of the ranges it classifies first (premium rate, pager, …)."""
    metadata = _tr_metadata()
    first = (metadata.premium_rate, metadata.toll_free, metadata.shared_cost, metadata.voip, metadata.personal_number,
             metadata.pager, metadata.uan, metadata.voicemail)  # fmt: skip
    plan = re.compile(str(_tr_pattern(metadata.general_desc)))
    mobile = re.compile(tr_mobile_pattern())
    others = [re.compile(pattern) for pattern in map(_tr_pattern, first) if pattern]
    return lambda national: bool(
        plan.fullmatch(national) and mobile.fullmatch(national) and not any(o.fullmatch(national) for o in others)
    )


def normalize_mobile(value: object) -> str:
    """A Turkish mobile number in E.164 (``+905XXXXXXXXX``).

    Accepts ``05…``, ``5…``, ``+90…``, ``0090…``, with spaces, dashes or brackets. A landline or a
    service number (0212…, 0850…) is refused with ``not_mobile``: the insurer texts the employee.
    """
    if value is None or isinstance(value, bool):
        raise InvalidIdentifier("mobile", "missing", "mobile: no value")
    raw = str(value).strip()
    if not raw:
        raise InvalidIdentifier("mobile", "missing", "mobile: empty value")
    # A plain spelling inside a mobile range is what phonenumbers would accept, without its parse
    # (≈50 µs a number, a minute at a million rows); anything else, refusals included, goes the
    # whole way so that its code and message are phonenumbers' reading.
    plain = _PLAIN_SPELLING.fullmatch(raw) or _PLAIN_SPELLING.fullmatch(_MOBILE_SEPARATORS.sub("", raw))
    if plain and _tr_plain_mobile()(plain.group(1)):
        return "+90" + plain.group(1)
    masked = mask_phone(raw)
    try:
        number = phonenumbers.parse(raw, "TR")
    except phonenumbers.NumberParseException:
        raise InvalidIdentifier("mobile", "format", f"mobile {masked}: not a phone number") from None
    if number.country_code != 90:
        raise InvalidIdentifier("mobile", "country", f"mobile {masked}: not a Turkish (+90) number")
    national = str(number.national_number)
    if len(national) != _TR_NATIONAL_LENGTH:
        raise InvalidIdentifier("mobile", "length", f"mobile {masked}: {len(national)} national digits, 10 expected")
    if not phonenumbers.is_valid_number(number):
        raise InvalidIdentifier("mobile", "format", f"mobile {masked}: no such Turkish number range")
    if phonenumbers.number_type(number) not in _MOBILE_TYPES:
        raise InvalidIdentifier("mobile", "not_mobile", f"mobile {masked}: a landline or service number, not a mobile")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
