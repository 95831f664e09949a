"""Pipeline step: extract the period's payroll into the run's snapshot.

Streams the source in chunks (memory bounded by ``chunk_size``, not by headcount), types every cell,
and writes each chunk in one set-based insert (COPY on PostgreSQL). A row that cannot be typed — an
unparseable date or amount, an empty key column — is not dropped: it is recorded in the quarantine
with its row number, field and reason (``stage = extract``), so every source row ends somewhere.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Sequence
from decimal import Decimal
from functools import lru_cache

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from oks.payroll.columns import CONTRACT_COLUMNS, PAYROLL_COLUMNS, Column
from oks.payroll.parsing import CellError, parse_cell
from oks.payroll.sources import PayrollSource, PayrollStructureError
from oks.rules.parameters import period_start
from oks.rules.statutory_rate import statutory_rate_for
from oks.store.bulk import refresh_statistics
from oks.store.masterdata import upsert_contracts, upsert_employees, upsert_employers
from oks.store.schema import contracts as contract_table
from oks.store.schema import payroll_lines
from oks.store.snapshot import (
    clear_run_data,
    finish_run,
    insert_lines,
    insert_quarantine,
    record_step,
    start_run,
)

__all__ = ["KEY_FIELDS", "RowTyper", "type_row", "extract_payroll", "register_personnel", "read_contracts"]

log = logging.getLogger(__name__)

KEY_FIELDS = ("employer_vkn", "payroll_id", "tckn", "contract_no", "period", "pek", "sgk_days", "wage_paid_on")
"""Without these a line cannot be staged or paid; every other gap is for validation to judge."""

_DEFAULTS = {"payment_kind": "regular", "has_oks_certificate": False, "voluntary": False}

TEXT_LIMITS = {c.name: c.type.length for c in payroll_lines.columns if isinstance(c.type, sa.String) and c.type.length}
"""The longest text the store keeps per column: a longer cell is refused with its row, never cut (and
never left to PostgreSQL to refuse the whole load with the value in its message)."""

# Invisible or steering characters no name, number or code carries: C0/C1 controls and NUL (tab and
# line breaks are whitespace), zero-width characters, bidi embeddings/overrides/isolates, BOM, and
# the interlinear annotation marks. A name holding one looks right on screen and differs in the register.
_INVISIBLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff\ufff9-\ufffb]")


_CONTRACT_TEXT_LIMITS = {
    **{c.name: c.type.length for c in contract_table.columns if isinstance(c.type, sa.String) and c.type.length},
    "employer_vkn": TEXT_LIMITS["employer_vkn"],
}


def text_problem(field: str, cell: object) -> tuple[str, str, str] | None:
    """(field, code, message) when a text cell carries a character that does not belong in it."""
    if isinstance(cell, str) and (found := _INVISIBLE.search(cell)):
        code = "nul_character" if found.group() == "\x00" else "invisible_character"
        return field, code, f"{field}: contains an invisible or control character (U+{ord(found.group()):04X})"
    return None


_UNSET = object()  # a cell that could not be typed: the line gets no value for it

# Columns a payroll repeats on row after row (the employer, the contract, the period, the wage day,
# yes/no cells): each distinct spelling is typed once per extraction. Personal columns are not kept.
_REPEATED = frozenset(c.name for c in PAYROLL_COLUMNS) - {"payroll_id", "tckn", "first_name", "last_name", "iban", "mobile",
                                                            "email", "pek", "amount_override", "payroll_deduction"}  # fmt: skip
_REPEATED_KEEP = 4096  # spellings kept per column; the memory of a few pages, whatever the headcount


def _type_cell(column: Column, cell: object) -> tuple[object, tuple[str, str, str] | None]:
    """The typed value of one cell (``_UNSET`` when it cannot be typed) and its problem, if any."""
    name = column.name
    if column.kind == "text" and (problem := text_problem(name, cell)):
        return _UNSET, problem
    try:
        value = parse_cell(column, cell)
    except CellError as exc:
        return _UNSET, (name, exc.code, f"{name}: {exc}")
    if isinstance(value, str) and len(value) > TEXT_LIMITS.get(name, len(value)):
        return _UNSET, (name, "too_long", f"{name}: {len(value)} characters, at most {TEXT_LIMITS[name]}")
    if value is None:
        problem = (name, "missing", f"{name}: empty (a key column)") if name in KEY_FIELDS else None
        return _DEFAULTS.get(name), problem
    return value, None


class RowTyper:
    """:func:`type_row` with memory: a spelling of a repeated column seen before is not typed again
    (the typing is a pure function of the cell). One per extraction."""

    def __init__(self) -> None:
        self._seen: dict[str, dict[str, tuple]] = {name: {} for name in _REPEATED}

    def __call__(self, raw: dict[str, object]) -> tuple[dict[str, object], list[tuple[str, str, str]]]:
        typed: dict[str, object] = {}
        problems: list[tuple[str, str, str]] = []
        seen = self._seen
        for column in PAYROLL_COLUMNS:
            cell = raw.get(column.name)
            known = seen.get(column.name)
            if known is not None and type(cell) is str:  # noqa: E721 - True == 1: only text spellings share an entry
                outcome = known.get(cell)
                if outcome is None:
                    if len(known) >= _REPEATED_KEEP:
                        known.clear()
                    outcome = known[cell] = _type_cell(column, cell)
            else:
                outcome = _type_cell(column, cell)
            value, problem = outcome
            if problem is not None:
                problems.append(problem)
            if value is not _UNSET:
                typed[column.name] = value
        kind = typed.get("payment_kind")
        if isinstance(kind, str):
            typed["payment_kind"] = kind.lower()
        vkn = typed.get("employer_vkn")
        if isinstance(vkn, str) and not _valid_vkn(vkn):
            # A VKN with a wrong check digit would become a new employer with the other one's staff.
            problems.append(("employer_vkn", "vkn_checksum", "employer_vkn: not a valid VKN (10 digits with a check digit)"))
        return typed, problems


def type_row(raw: dict[str, object]) -> tuple[dict[str, object], list[tuple[str, str, str]]]:
    """Typed values of one raw row and its problems as (field, code, message) — never echoing values."""
    return RowTyper()(raw)


@lru_cache(maxsize=65536)  # an employer's VKN is on every one of its rows: checked once
def _valid_vkn(vkn: str) -> bool:
    from stdnum.tr import vkn as tr_vkn

    return tr_vkn.is_valid(vkn)


def extract_payroll(
    engine: Engine,
    *,
    run_key: str,
    period: str,
    source: PayrollSource,
    contracts_source: PayrollSource | None = None,
    employers: Sequence[str] | None = None,
    dry_run: bool = False,
    chunk_size: int = 10_000,
    owner: str | None = None,
) -> dict[str, object]:
    """Replace the run's snapshot with the period's payroll; upsert employers and contracts.

    ``owner`` (the Airflow run id) claims the period: while another owner's run of it is running,
    :class:`oks.store.snapshot.RunBusy` is raised and nothing is touched.

    Returns a small summary (counts and ids, never rows): rows read, lines staged, malformed rows and
    their reasons, rows outside the period or employer filter.
    """
    wanted = set(employers) if employers else None
    with engine.begin() as conn:
        run_id = start_run(conn, run_key=run_key, period=period, employers=employers, dry_run=dry_run, source=source.name,
                           owner=owner)  # fmt: skip
        clear_run_data(conn, run_id)

    # Every count present even when zero: summaries are read by people and by the report.
    counts: Counter[str] = Counter(dict.fromkeys(("rows_read", "lines", "malformed_rows", "outside_period", "outside_employers"), 0))
    reasons: Counter[str] = Counter()
    other_periods: Counter[str] = Counter()
    lines: list[dict] = []
    bad: list[dict] = []

    def flush() -> None:
        if not lines and not bad:
            return
        with engine.begin() as conn:
            insert_lines(conn, lines)
            insert_quarantine(conn, bad)
        lines.clear()
        bad.clear()

    type_row = RowTyper()
    for row_no, raw in source.rows():
        counts["rows_read"] += 1
        typed, problems = type_row(raw)
        if not problems:
            if typed["period"] != period:
                counts["outside_period"] += 1
                other_periods[str(typed["period"])] += 1
                continue
            if wanted is not None and typed["employer_vkn"] not in wanted:
                counts["outside_employers"] += 1
                continue
            lines.append({**typed, "run_id": run_id, "row_no": row_no})
            counts["lines"] += 1
        else:
            counts["malformed_rows"] += 1
            payroll_id = typed.get("payroll_id")  # absent when the id itself is what is wrong
            for field, code, message in problems:
                reasons[f"{field}:{code}"] += 1
                bad.append(
                    {
                        "run_id": run_id,
                        "row_no": row_no,
                        "payroll_id": payroll_id,
                        "stage": "extract",
                        "field": field,
                        "rule": code,
                        "message": f"row {row_no}, {message}",
                    }
                )
        if len(lines) + len(bad) >= chunk_size:
            flush()
    flush()

    if counts["rows_read"] == 0:
        with engine.begin() as conn:
            finish_run(conn, run_id, state="failed", summary={"error": "empty extract"})
        raise PayrollStructureError(f"{source.name}: no payroll rows at all for period {period}")
    if counts["lines"] == 0:
        # Nothing of this period to run: say what the file holds instead (usually another month's export).
        problem = _nothing_for_period(source.name, period, counts, other_periods, wanted)
        with engine.begin() as conn:
            finish_run(conn, run_id, state="failed", summary={
                "error": "no rows in period", "message": problem,
                "extract": {**counts, "other_periods": dict(other_periods), "malformed_by_reason": dict(reasons)},
            })  # fmt: skip
        raise PayrollStructureError(problem)

    with engine.begin() as conn:
        refresh_statistics(conn, "payroll_lines", "quarantine")
        counts["employers"] = upsert_employers(conn, run_id)
        if contracts_source is not None:
            written, skipped = upsert_contracts(conn, read_contracts(contracts_source, period=period))
            counts["contracts"] = written
            counts["contracts_skipped"] = len(skipped)

    summary = {
        "run_id": run_id, "period": period, "source": source.name, **counts,
        "other_periods": dict(other_periods), "malformed_by_reason": dict(reasons),
    }  # fmt: skip
    with engine.begin() as conn:
        # Reconciliation later checks that every row read ended somewhere: it needs these counts.
        record_step(conn, run_id, "extract", summary)
    log.info(
        "extracted %s: %d rows read, %d lines staged, %d malformed",
        source.name, counts["rows_read"], counts["lines"], counts["malformed_rows"],
    )  # fmt: skip
    return summary


def _nothing_for_period(name: str, period: str, counts: Counter, other_periods: Counter, wanted: set | None) -> str:
    parts = []
    if other_periods:
        shown = ", ".join(f"{n} for {p}" for p, n in sorted(other_periods.items(), key=lambda kv: (-kv[1], kv[0]))[:5])
        more = f" and {len(other_periods) - 5} other periods" if len(other_periods) > 5 else ""
        parts.append(f"{counts['outside_period']} rows are of another period ({shown}{more})")
    if counts["outside_employers"]:
        parts.append(f"{counts['outside_employers']} rows are of employers outside {sorted(wanted or ())}")
    if counts["malformed_rows"]:
        parts.append(f"{counts['malformed_rows']} rows could not be read (quarantined with row and field)")
    hint = " Check that the export is of the month you are running (the period param)." if other_periods else ""
    return f"{name}: {counts['rows_read']} rows read, none for period {period}: " + "; ".join(parts) + "." + hint


def register_personnel(engine: Engine, run_id: int) -> dict[str, int]:
    """Upsert the run's employees from its valid (not quarantined) lines, keeping history.

    Run after validation, so that a row with a broken identifier never becomes an employee record.
    """
    with engine.begin() as conn:
        refresh_statistics(conn, "quarantine", "employees")  # validation has just filled the quarantine
        return upsert_employees(conn, run_id)


def _contract_terms(row_no: int, typed: dict, statutory: Decimal | None) -> list[str]:
    """A contract's own rate or fixed amount: a rate from the statutory one up to 100%, a positive
    amount, not both (the rule the contribution applies; a wrong term would short every employee)."""
    problems = []
    rate, fixed = typed.get("rate"), typed.get("fixed_amount")
    if rate is not None and statutory is not None and rate < statutory:
        problems.append(f"row {row_no}, rate: below the statutory {statutory:.0%}")
    if fixed is not None and fixed <= 0:
        problems.append(f"row {row_no}, fixed_amount: not a positive amount")
    if rate is not None and fixed is not None:
        problems.append(f"row {row_no}, rate and fixed_amount: give one, not both")
    return problems


def _contract_identifiers(row_no: int, typed: dict) -> list[str]:
    """The employer's VKN and the insurer's collection IBAN — where the money goes — are checked
    before anything can be paid to them."""
    from oks.privacy import mask_iban
    from oks.rules.identity import InvalidIdentifier, normalize_iban

    problems = []
    vkn, collection = typed.get("employer_vkn"), typed.get("collection_iban")
    if isinstance(vkn, str) and not _valid_vkn(vkn):
        problems.append(f"row {row_no}, employer_vkn: not a valid VKN")
    if isinstance(collection, str):
        try:
            typed["collection_iban"] = normalize_iban(collection)
        except InvalidIdentifier as exc:
            problems.append(f"row {row_no}, collection_iban {mask_iban(collection)}: {exc.code} — the insurer's account must be right")
    return problems


def _contract_channel(row_no: int, typed: dict) -> list[str]:
    """The contract's channel, when the master names one: des or file, and des only for an insurer DES reaches."""
    from oks.rules.channels import CHANNELS, DES_INSURERS

    channel = typed.get("channel")
    if channel is None:
        return []
    typed["channel"] = channel = str(channel).lower()
    if channel not in CHANNELS:
        return [f"row {row_no}, channel: {channel!r} is not des or file"]
    if channel == "des" and str(typed.get("insurer") or "").upper() not in DES_INSURERS:
        return [f"row {row_no}, channel: {typed.get('insurer')} does not take OKS data through DES"]
    return []


def read_contracts(source: PayrollSource, *, period: str | None = None) -> list[dict]:
    """The contract master, typed. Unlike payroll rows, a bad contract row stops the run: it is
    configuration, and guessing would send money to the wrong place. With ``period``, the terms are
    checked against the statutory rate of that pay period."""
    statutory = statutory_rate_for(period_start(period)).rate if period else None
    contracts, problems = [], []
    for row_no, raw in source.rows():
        typed = {}
        for column in CONTRACT_COLUMNS:
            try:
                value = parse_cell(column, raw.get(column.name))
            except CellError as exc:
                problems.append(f"row {row_no}, {column.name}: {exc}")
                continue
            if value is None and column.required:
                problems.append(f"row {row_no}, {column.name}: empty")
            if column.kind == "text" and (problem := text_problem(column.name, raw.get(column.name))):
                problems.append(f"row {row_no}, {problem[2]}")
            elif isinstance(value, str) and len(value) > _CONTRACT_TEXT_LIMITS.get(column.name, len(value)):
                problems.append(f"row {row_no}, {column.name}: {len(value)} characters, at most {_CONTRACT_TEXT_LIMITS[column.name]}")
            typed[column.name] = value
        problems += _contract_terms(row_no, typed, statutory)
        problems += _contract_identifiers(row_no, typed)
        problems += _contract_channel(row_no, typed)
        contracts.append(typed)
    if problems:
        shown = "; ".join(problems[:10]) + (f"; and {len(problems) - 10} more" if len(problems) > 10 else "")
        raise PayrollStructureError(f"{source.name}: contract master has errors: {shown}")
    return contracts


