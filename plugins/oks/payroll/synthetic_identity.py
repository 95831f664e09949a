"""Fictitious people for the synthetic payroll: names and identifiers that pass the real checks.

Every identifier is built to satisfy the same arithmetic :mod:`oks.rules.identity` checks (TCKN check
digits from python-stdnum, IBAN MOD 97-10, mobile ranges phonenumbers accepts), and every broken one
is broken in exactly one known way. The values are random, so a checksum-valid TCKN, IBAN or mobile
may happen to belong to a real person or account: the data is for tests and demos, never for sending.
"""

from __future__ import annotations

import math
import random
import tomllib
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from stdnum.tr import tckimlik, vkn

__all__ = [
    "BANKS",
    "NameLists",
    "TcknSequence",
    "name_lists",
    "iban",
    "iban_check_digits",
    "random_account",
    "random_mobile",
    "random_landline",
    "random_vkn",
    "email_for",
    "ascii_fold",
]

# --- names ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NameLists:
    female: tuple[str, ...]
    male: tuple[str, ...]
    last: tuple[str, ...]
    foreign_first: tuple[str, ...]
    foreign_last: tuple[str, ...]
    employer_words: tuple[str, ...]
    activities: tuple[str, ...]
    legal_forms: tuple[str, ...]
    directorates: tuple[str, ...]
    cities: tuple[str, ...]
    districts: tuple[str, ...]


@lru_cache(maxsize=1)
def name_lists() -> NameLists:
    """The shipped word lists (``data/names.toml``)."""
    data = tomllib.loads((resources.files("oks.payroll") / "data" / "names.toml").read_text(encoding="utf-8"))
    turkish, foreign, employers = data["turkish"], data["foreign"], data["employers"]
    return NameLists(
        female=tuple(turkish["female"]),
        male=tuple(turkish["male"]),
        last=tuple(turkish["last"]),
        foreign_first=tuple(foreign["first"]),
        foreign_last=tuple(foreign["last"]),
        employer_words=tuple(employers["words"]),
        activities=tuple(employers["activities"]),
        legal_forms=tuple(employers["forms"]),
        directorates=tuple(employers["directorates"]),
        cities=tuple(employers["cities"]),
        districts=tuple(employers["districts"]),
    )


_TURKISH_TO_ASCII = str.maketrans("çÇğĞıİöÖşŞüÜâÂîÎûÛ", "cCgGiIoOsSuUaAiIuU")


def ascii_fold(text: str) -> str:
    """``Şükrü Çağlar`` → ``Sukru Caglar``: for e-mail local parts, which stay ASCII."""
    # Python's lower() of İ leaves a combining dot, so Turkish letters are mapped before anything else.
    decomposed = unicodedata.normalize("NFKD", text.translate(_TURKISH_TO_ASCII))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


# RFC 2606 reserved domains: a demo can never mail a real inbox.
_EMAIL_DOMAINS = ("example.com", "example.net", "example.org")


def email_for(first_name: str, last_name: str, rng: random.Random) -> str:
    local = f"{ascii_fold(first_name)}.{ascii_fold(last_name)}".lower().replace(" ", "")
    if rng.random() < 0.5:
        local += str(rng.randrange(1, 100))
    return f"{local}@{rng.choice(_EMAIL_DOMAINS)}"


# --- TCKN ----------------------------------------------------------------------------------------


class TcknSequence:
    """Distinct, scattered TCKNs without remembering the ones handed out.

    The first nine digits are an affine permutation of a counter over a range (``a·i + b mod size``
    with ``a`` coprime to ``size``), so the i-th number never repeats an earlier one however many
    are drawn; python-stdnum adds the two check digits. Turkish citizens get numbers from
    10000000… to 98999999…; foreigners' numbers (yabancı kimlik no) start with 99, as issued.
    """

    def __init__(self, rng: random.Random, *, foreign: bool) -> None:
        self._low, self._size = (990_000_000, 10_000_000) if foreign else (100_000_000, 890_000_000)
        multiplier = rng.randrange(self._size // 3, self._size)
        while math.gcd(multiplier, self._size) != 1:
            multiplier += 1
        self._multiplier = multiplier
        self._offset = rng.randrange(self._size)
        self._next = 0

    def __next__(self) -> str:
        if self._next >= self._size:
            raise OverflowError("no distinct TCKNs left in this range")
        first9 = str(self._low + (self._multiplier * self._next + self._offset) % self._size)
        self._next += 1
        return first9 + tckimlik.calc_check_digits(first9)

    def __iter__(self) -> TcknSequence:
        return self


# --- IBAN ----------------------------------------------------------------------------------------

# EFT bank codes (5 digits, as in the IBAN) of banks Turkish payrolls pay into, with a rough weight
# for how often staff bank there.
BANKS: tuple[tuple[str, str, int], ...] = (
    ("00010", "Ziraat Bankası", 16),
    ("00012", "Halkbank", 8),
    ("00015", "Vakıfbank", 9),
    ("00046", "Akbank", 10),
    ("00062", "Garanti BBVA", 12),
    ("00064", "Türkiye İş Bankası", 13),
    ("00067", "Yapı Kredi", 10),
    ("00111", "QNB", 6),
    ("00134", "Denizbank", 5),
    ("00032", "TEB", 4),
    ("00059", "Şekerbank", 2),
    ("00099", "ING", 2),
    ("00205", "Kuveyt Türk", 3),
)
BANK_NAMES = {code: name for code, name, _ in BANKS}


@lru_cache(maxsize=64)
def _iso7064_digits(text: str) -> str:
    return "".join(str(int(ch, 36)) for ch in text)


def iban_check_digits(country: str, bban: str) -> str:
    """ISO 7064 MOD 97-10 check digits of ``country`` + ``bban`` (the two digits after the country)."""
    # The BBAN moves in front of the country code; letters count as 10…35.
    numeric = (bban if bban.isdigit() else _iso7064_digits(bban)) + _iso7064_digits(country + "00")
    return f"{98 - int(numeric) % 97:02d}"


def iban(bank_code: str, account: str, *, reserved_digit: str = "0", country: str = "TR") -> str:
    """A Turkish IBAN: ``TR`` + check digits + bank code + reserved digit + 16-digit account."""
    bban = bank_code + reserved_digit + account
    return country + iban_check_digits(country, bban) + bban


def random_account(rng: random.Random) -> str:
    return f"{rng.randrange(10**16):016d}"


# --- phones --------------------------------------------------------------------------------------

# Operator prefixes phonenumbers' TR metadata accepts as mobile (Turkcell 53x, Vodafone 54x,
# Türk Telekom 50x/55x), weighted roughly by market share.
_MOBILE_PREFIXES = (
    tuple(f"53{d}" for d in range(10)) * 4
    + tuple(f"54{d}" for d in range(10)) * 3
    + ("501", "505", "506", "507", "551", "552", "553", "554", "555", "559") * 3
)
_LANDLINE_AREAS = ("212", "216", "312", "232", "224", "242")


def random_mobile(rng: random.Random) -> str:
    """A mobile written the ways payroll screens hold it: ``0532 123 45 67``, ``05321234567``, …"""
    prefix = rng.choice(_MOBILE_PREFIXES)
    subscriber = f"{rng.randrange(10**7):07d}"
    style = rng.randrange(10)
    if style < 4:
        return f"0{prefix} {subscriber[:3]} {subscriber[3:5]} {subscriber[5:]}"
    if style < 7:
        return f"0{prefix}{subscriber}"
    if style < 9:
        return f"+90{prefix}{subscriber}"
    return f"{prefix}{subscriber}"


def random_landline(rng: random.Random) -> str:
    """An office number typed into the mobile field (0212 Istanbul, 0312 Ankara, …)."""
    area = rng.choice(_LANDLINE_AREAS)
    subscriber = f"{rng.randrange(2, 7)}{rng.randrange(10**6):06d}"
    return f"0{area} {subscriber[:3]} {subscriber[3:5]} {subscriber[5:]}"


# --- employers -----------------------------------------------------------------------------------


def random_vkn(rng: random.Random) -> str:
    """A 10-digit tax number (VKN) with its check digit (python-stdnum ``tr.vkn``)."""
    first9 = f"{rng.randrange(1, 10)}{rng.randrange(10**8):08d}"
    return first9 + vkn.calc_check_digit(first9)
