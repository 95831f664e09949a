"""Masking of personal data (KVKK, Law 6698).

Every value that identifies a person — TCKN, IBAN, phone, name, e-mail — is shown masked wherever
people other than the data subject can read it: logs, XCom, alerts, reports, Data Docs, the UI.
A masked value keeps just enough to tell two rows apart while talking to a colleague
(``172******60``), never enough to rebuild the value.

This module is a leaf: it imports nothing from the project, so every layer may use it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_NON_ALNUM = re.compile(r"[^0-9A-Za-z]")
_NON_DIGIT = re.compile(r"\D")


def _keep_ends(value: str, head: int, tail: int) -> str:
    # Short values would be readable in full from their ends, so they are masked whole.
    if len(value) <= head + tail + 2:
        return "*" * len(value)
    return value[:head] + "*" * (len(value) - head - tail) + value[len(value) - tail :]


def mask_tckn(value: object) -> str:
    """``17291716060`` → ``172******60``."""
    if value is None:
        return ""
    return _keep_ends(_NON_DIGIT.sub("", str(value)) or str(value).strip(), 3, 2)


def mask_iban(value: object) -> str:
    """``TR33 0006 1005 1978 6457 8413 26`` → ``TR33********************26``: country and check digits, last two."""
    if value is None:
        return ""
    compact = _NON_ALNUM.sub("", str(value)).upper()
    return _keep_ends(compact, 4, 2)


def mask_phone(value: object) -> str:
    """``+905321234567`` → ``+90********67``."""
    if value is None:
        return ""
    text = str(value).strip()
    digits = _NON_DIGIT.sub("", text)
    prefix = "+" if text.startswith("+") else ""
    return prefix + _keep_ends(digits, 2, 2)


def mask_name(value: object) -> str:
    """``Ayşe Nur Yılmaz`` → ``A*** N** Y*****``: initials and lengths only."""
    if value is None:
        return ""
    return " ".join(word[0] + "*" * (len(word) - 1) for word in str(value).split())


def mask_email(value: object) -> str:
    """``ayse.yilmaz@example.com`` → ``a**********@e******.com``."""
    if value is None:
        return ""
    text = str(value).strip()
    local, at, domain = text.partition("@")
    if not at:
        return mask_name(text)
    host, dot, tld = domain.rpartition(".")
    if not dot:
        host, tld = domain, ""
    masked_local = local[:1] + "*" * max(len(local) - 1, 0)
    masked_host = host[:1] + "*" * max(len(host) - 1, 0)
    return f"{masked_local}@{masked_host}{dot}{tld}"


_TCKN_LIKE = re.compile(r"(?<!\d)[1-9]\d{10}(?!\d)")
_IBAN_LIKE = re.compile(r"\bTR\d{2}(?:\s?\d{4}){5}\s?\d{2}\b", re.IGNORECASE)
_MOBILE_LIKE = re.compile(r"(?<![\d+])(?:\+90|0090|0)?\s?5\d{2}[\s-]?\d{3}[\s-]?\d{2}[\s-]?\d{2}(?!\d)")


_EMAIL_LIKE = re.compile(r"[^\s@<>()\[\],;:\"']+@[^\s@<>()\[\],;:\"']+\.[^\s@<>()\[\],;:\"']{2,}")


def _mask_known(text: str, known: Iterable[object]) -> str:
    # Names have no shape to find them by: the caller says which ones the text may quote. Longest
    # first (a full name before its parts), matched without regard to case (İ/i, I/ı included).
    values = sorted({str(v).strip() for v in known if v and str(v).strip()}, key=len, reverse=True)
    for value in values:
        for word in [value, *value.split()]:
            if len(word) < 2:
                continue
            pattern = re.compile(re.escape(word), re.IGNORECASE)
            text = pattern.sub(lambda m: mask_email(m.group()) if "@" in m.group() else mask_name(m.group()), text)
            for variant in {word.upper(), word.lower(), word.replace("i", "İ").upper(), word.replace("ı", "I").upper()}:
                text = text.replace(variant, mask_email(variant) if "@" in variant else mask_name(variant))
    return text


def redact(text: object, limit: int = 300, *, known: Iterable[object] = ()) -> str:
    """Free text (an error message, an insurer's reason) with anything shaped like an IBAN, a TCKN,
    a Turkish mobile or an e-mail masked — and every ``known`` value (the names and e-mail of the
    people the text may be about) — cut to ``limit`` characters. For text the project did not write
    itself: a database error echoing a row, a message from DES."""
    cleaned = _mask_known(str(text), known)
    cleaned = _EMAIL_LIKE.sub(lambda m: mask_email(m.group()), cleaned)
    cleaned = _IBAN_LIKE.sub(lambda m: mask_iban(m.group()), cleaned)
    cleaned = _TCKN_LIKE.sub(lambda m: mask_tckn(m.group()), cleaned)
    cleaned = _MOBILE_LIKE.sub(lambda m: mask_phone(m.group()), cleaned)
    return cleaned if len(cleaned) <= limit else cleaned[: limit - 1] + "…"


MASKS = {
    "tckn": mask_tckn,
    "iban": mask_iban,
    "mobile": mask_phone,
    "phone": mask_phone,
    "first_name": mask_name,
    "last_name": mask_name,
    "name": mask_name,
    "email": mask_email,
}
"""Field name → mask: the fields that carry personal data in the payroll and store schemas."""


def mask_field(field: str, value: object) -> str:
    """Mask ``value`` as the personal-data field ``field``; values of other fields pass through as text."""
    mask = MASKS.get(field)
    if mask is not None:
        return mask(value)
    return "" if value is None else str(value)
