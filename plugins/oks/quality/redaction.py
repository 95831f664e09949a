"""Masking of Great Expectations validation results before anyone can read them (KVKK).

GX puts sample failing values into its results — ``partial_unexpected_list``, ``…_counts``,
``…_index_list`` — and Data Docs print them. Operations and on-call read Data Docs, so every value
of a personal column (TCKN, names, IBAN, mobile, e-mail: ``PAYROLL_COLUMNS`` marked personal) is
replaced by its mask from :mod:`oks.privacy` before the site is rendered, and a birth date shows its
year only; other values (a pay date, an unknown status code, a contract number) stay readable
because they are what operations must fix — HTML-escaped, since GX prints them into the pages as
they are.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

from oks.payroll.columns import PAYROLL_COLUMNS
from oks.privacy import mask_field

__all__ = ["PERSONAL_COLUMNS", "redact_result", "SAMPLE_SIZE"]

PERSONAL_COLUMNS = frozenset(c.name for c in PAYROLL_COLUMNS if c.personal)
SAMPLE_SIZE = 20
"""Failing values shown per expectation in Data Docs (masked); the quarantine holds them all."""

_VALUE_LISTS = ("partial_unexpected_list", "unexpected_list")
_INDEX_LISTS = ("partial_unexpected_index_list", "unexpected_index_list")
_DROPPED = ("unexpected_rows",)


def _mask(column: str | None, value: Any) -> Any:
    if value is None:
        return value
    if column in PERSONAL_COLUMNS:
        value = mask_field(column, value)
    elif column == "birth_date":
        # Not on the personal list, but with a row number it pins a person down; the year is enough
        # to see a future or implausible date.
        value = str(value)[:4] + "-**-**"
    # GX writes these values into the Data Docs HTML as they are: a payroll cell must not become markup.
    return html.escape(value) if isinstance(value, str) else value


def _mask_value(columns: tuple[str, ...], value: Any) -> Any:
    """One failing value: a scalar of one column, a [a, b] pair, or a {column: value} record."""
    if isinstance(value, Mapping):
        return {key: _mask(key, item) for key, item in value.items()}
    if isinstance(value, (list, tuple)) and len(columns) > 1:
        return [_mask(columns[i] if i < len(columns) else None, item) for i, item in enumerate(value)]
    return _mask(columns[0] if columns else None, value)


def _columns(kwargs: Mapping) -> tuple[str, ...]:
    if "column" in kwargs:
        return (kwargs["column"],)
    if "column_A" in kwargs:
        return (kwargs["column_A"], kwargs["column_B"])
    return tuple(kwargs.get("column_list") or ())


def redact_result(result: dict, expectation_kwargs: Mapping, *, replace: Mapping[str, str] | None = None) -> dict:
    """A copy of one expectation's ``result`` dict that is safe to show: personal values masked, lists
    cut to :data:`SAMPLE_SIZE`, and each ``replace`` key in the failing-row query replaced (the
    temporary view the batch was read from becomes the query that rebuilds it)."""
    columns = _columns(expectation_kwargs)
    safe: dict = {}
    for key, value in result.items():
        if key in _DROPPED:
            continue
        if key in _VALUE_LISTS and isinstance(value, list):
            safe[key] = [_mask_value(columns, item) for item in value[:SAMPLE_SIZE]]
        elif key in _INDEX_LISTS and isinstance(value, list):
            safe[key] = [_mask_value(columns, item) for item in value[:SAMPLE_SIZE]]
        elif key == "partial_unexpected_counts" and isinstance(value, list):
            safe[key] = [{**entry, "value": _mask_value(columns, entry.get("value"))} for entry in value[:SAMPLE_SIZE]]
        elif key == "unexpected_index_query" and isinstance(value, str):
            for old, new in (replace or {}).items():
                value = value.replace(old, new)
            safe[key] = value
        else:
            safe[key] = value
    return safe
