"""Idempotency keys: derived from what is sent, so a re-run computes the key the crashed run stored.

A key names (contract, period, kind, payment kind, content). The same work gives the same key on any
machine and after any crash, and DES answers it with the resource it already holds; changed work gives
a new key. Keys carry no personal data: the content enters only through its SHA-256.
"""

from __future__ import annotations

import hashlib
import json

# Bump when the derivation changes, so old and new keys can never collide by accident.
KEY_VERSION = 1

_PREFIX = {
    "contract": "ct",
    "personnel_list": "pl",
    "personnel_batch": "pb",
    "payment": "pa",
    "payment_batch": "qb",
    "employer_request": "rq",
}


def content_hash(*parts: bytes | str) -> str:
    """SHA-256 (hex) over ``parts``, each length-prefixed so that no two splittings hash alike."""
    digest = hashlib.sha256()
    for part in parts:
        data = part.encode() if isinstance(part, str) else part
        digest.update(len(data).to_bytes(8, "big"))
        digest.update(data)
    return digest.hexdigest()


def idempotency_key(kind: str, contract_no: str, period: str | None, payment_kind: str | None, content: str) -> str:
    """``oks-<kind>-<period>-<40 hex>``: at most 60 characters (the ledger and DES allow 120)."""
    ident = json.dumps([KEY_VERSION, kind, contract_no, period, payment_kind, content], separators=(",", ":"))
    digest = hashlib.sha256(ident.encode()).hexdigest()[:40]
    return f"oks-{_PREFIX[kind]}-{period or 'none'}-{digest}"


def batch_key(kind: str, parent_key: str, contract_no: str, period: str | None, payment_kind: str | None, batch_no: int, batch_hash: str) -> str:
    """The key of batch ``batch_no`` (2…n) of the list or payment whose key is ``parent_key``."""
    return idempotency_key(kind, contract_no, period, payment_kind, f"{parent_key}#{batch_no}#{batch_hash}")
