"""Pipeline step: prove the run's invariants (docs/architecture.md §6), or fail loudly.

1. Every extracted row ends in exactly one outcome: contributed, quarantined, not eligible, inactive
   or rejected — none lost, none counted twice.
2. Per contract, period and kind: the sum of contributions = the payment total DES holds — or, for a
   month that went by the insurer's file, the total its contribution file says, read back by the
   insurer's profile — = the sum of the payment obligations.
3. At most one REGULAR payment per contract and period, whatever the channel, and at most one
   SUPPLEMENTARY payment per contract, period and wage day, whatever re-runs happened (DES is asked
   which it holds).

The DES side is read through the gateway, so the check compares with what DES really holds, not
with what the project believes it sent.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from oks.des.gateway import DesGateway
from oks.pipeline.corrections import OPEN as CORRECTIONS_OPEN
from oks.store.channels import FILE_PAYMENT
from oks.store.schema import Money, contracts, des_requests, payment_corrections, payment_obligations, runs
from oks.store.snapshot import finish_run

__all__ = ["InvariantBroken", "reconcile_run"]

log = logging.getLogger(__name__)


class InvariantBroken(RuntimeError):
    """The run's accounting does not add up; nothing may be paid until a human has looked."""


# Each line's outcomes, counted in the database: a run's lines are never all in memory at once (a
# million lines held here were the step's whole peak memory).
_LINE_OUTCOMES = """
    SELECT p.row_no,
           (SELECT COUNT(*) FROM contributions k WHERE k.payroll_line_id = p.id) AS decided,
           (SELECT COUNT(*) FROM quarantine q WHERE q.run_id = p.run_id AND q.row_no = p.row_no
                                               AND q.stage = 'validate') AS quarantined
    FROM payroll_lines p WHERE p.run_id = :run_id
"""
_NO_OUTCOME = "o.decided = 0 AND o.quarantined = 0"
_TWICE = "o.decided > 1 OR (o.decided > 0 AND o.quarantined > 0)"
_OUTCOME_COUNTS = sa.text(
    f"SELECT COUNT(*) AS lines, COALESCE(SUM(CASE WHEN {_NO_OUTCOME} THEN 1 ELSE 0 END), 0) AS no_outcome, "
    f"COALESCE(SUM(CASE WHEN {_TWICE} THEN 1 ELSE 0 END), 0) AS twice FROM ({_LINE_OUTCOMES}) o"
)


def _first_rows(conn, condition: str, run_id: int) -> list[int]:
    query = sa.text(f"SELECT o.row_no FROM ({_LINE_OUTCOMES}) o WHERE {condition} ORDER BY o.row_no LIMIT 10")
    return list(conn.execute(query, {"run_id": run_id}).scalars())


_CONTRIBUTED = sa.text(
    """
    SELECT c.contract_no, k.payment_kind, SUM(k.amount) AS amount
    FROM contributions k JOIN contracts c ON c.id = k.contract_id
    WHERE k.run_id = :run_id AND k.outcome = 'contributed' AND k.amount > 0
    GROUP BY c.contract_no, k.payment_kind
    """
).columns(sa.column("contract_no", sa.String), sa.column("payment_kind", sa.String), sa.column("amount", Money))

_OBLIGED = sa.text(
    """
    SELECT c.contract_no, o.payment_kind, SUM(o.amount) AS amount, MAX(o.des_payment_id) AS des_payment_id
    FROM payment_obligations o JOIN contracts c ON c.id = o.contract_id
    WHERE o.run_id = :run_id AND o.correction_id IS NULL
    GROUP BY c.contract_no, o.payment_kind
    """
).columns(sa.column("contract_no", sa.String), sa.column("payment_kind", sa.String), sa.column("amount", Money),
          sa.column("des_payment_id", sa.String))  # fmt: skip


def reconcile_run(engine: Engine, run_id: int, *, gateway: DesGateway | None = None, outbox: Path | None = None) -> dict[str, object]:
    """Check the invariants; returns the checked totals, raises :class:`InvariantBroken` with every
    problem found. Without a gateway (a dry run) the DES side is not checked; without the outbox, the
    files' totals are not read back."""
    problems: list[str] = []
    with engine.connect() as conn:
        # Typed columns: through plain SQL text, SQLite hands the JSON summary back as a string.
        run = conn.execute(sa.select(runs.c.period, runs.c.summary, runs.c.dry_run).where(runs.c.id == run_id)).one()
        extract = (run.summary or {}).get("extract") or {}
        malformed = conn.execute(
            sa.text("SELECT COUNT(DISTINCT row_no) FROM quarantine WHERE run_id = :r AND stage = 'extract'"), {"r": run_id}
        ).scalar_one()
        outcomes = conn.execute(_OUTCOME_COUNTS, {"run_id": run_id}).one()
        lines = outcomes.lines
        no_outcome = _first_rows(conn, _NO_OUTCOME, run_id) if outcomes.no_outcome else []
        twice = _first_rows(conn, _TWICE, run_id) if outcomes.twice else []
        contributed = {(r.contract_no, r.payment_kind): r.amount for r in conn.execute(_CONTRIBUTED, {"run_id": run_id})}
        obliged = {(r.contract_no, r.payment_kind): r for r in conn.execute(_OBLIGED, {"run_id": run_id})}
        corrections = conn.execute(
            sa.select(payment_corrections, contracts.c.contract_no)
            .join(contracts, contracts.c.id == payment_corrections.c.contract_id)
            .where(payment_corrections.c.period == run.period, payment_corrections.c.state.in_(CORRECTIONS_OPEN))
        ).all()  # fmt: skip
        correction_owed = dict(conn.execute(
            sa.select(payment_obligations.c.correction_id, payment_obligations.c.amount).where(payment_obligations.c.correction_id.is_not(None))
        ).all())  # fmt: skip
        des_payments = conn.execute(
            sa.select(des_requests.c.contract_no, des_requests.c.payment_kind, des_requests.c.des_id)
            .where(des_requests.c.kind == "payment", des_requests.c.period == run.period, des_requests.c.des_id.is_not(None))
            .distinct()
        ).all()  # fmt: skip
        file_payments = conn.execute(
            sa.select(des_requests.c.contract_no, des_requests.c.payment_kind, des_requests.c.des_id, contracts.c.insurer)
            .join(contracts, contracts.c.contract_no == des_requests.c.contract_no)
            .where(des_requests.c.kind == FILE_PAYMENT, des_requests.c.period == run.period, des_requests.c.state != "failed")
        ).all()  # fmt: skip

    # 1. one outcome per row
    if outcomes.no_outcome:
        problems.append(f"{outcomes.no_outcome} payroll line(s) have no outcome (rows {no_outcome})")
    if outcomes.twice:
        problems.append(f"{outcomes.twice} payroll line(s) have more than one outcome (rows {twice})")
    rows_read = extract.get("rows_read")
    if rows_read is None:
        # Without the extraction's counts nobody can prove every row read ended somewhere: say so.
        problems.append("the run has no extraction counts (rows read): cannot prove every row has an outcome")
    elif rows_read - extract.get("outside_period", 0) - extract.get("outside_employers", 0) != lines + malformed:
        problems.append(f"{rows_read} rows read but {lines} staged + {malformed} malformed")

    # 2. contributions = obligations = DES payment; where DES's payment is being corrected, the
    # contributions = what DES holds + the corrections' differences (each sent one with its own
    # DES payment and obligation).
    checked: dict[str, str] = {}
    net: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for c in corrections:
        net[(c.contract_no, c.payment_kind)] += c.to_pay - c.over_paid
        if c.state == "sent" and c.to_pay:
            if correction_owed.get(c.id) != c.to_pay:
                problems.append(f"correction #{c.id}: sent for {c.to_pay} but its obligation is {correction_owed.get(c.id)}")
            if gateway is not None and c.des_payment_id:
                page = gateway.read_payment(c.des_payment_id, limit=1)
                if page.total != c.to_pay:
                    problems.append(f"correction #{c.id}: {c.to_pay} ≠ DES payment {page.payment_id} total {page.total}")
    if not run.dry_run:
        for key in sorted(set(contributed) | set(obliged)):
            ours = contributed.get(key, Decimal("0"))
            owed = obliged[key].amount if key in obliged else Decimal("0")
            label = f"{key[0]}/{key[1]}"
            if ours != owed + net.get(key, Decimal("0")):
                corrected = f" + corrections {net[key]}" if key in net else ""
                problems.append(f"{label}: contributions {ours} ≠ payment obligations {owed}{corrected}")
            if gateway is not None and key in obliged and obliged[key].des_payment_id:
                page = gateway.read_payment(obliged[key].des_payment_id, limit=1)
                sent = page.accepted_total if page.state == "TRANSFERRED" else page.total
                if sent != owed:
                    problems.append(f"{label}: payment obligations {owed} ≠ DES payment {page.payment_id} total {sent}")
            checked[label] = str(ours)
        if outbox is not None:
            problems += _files_disagree(file_payments, obliged, outbox, run.period)

    # 3. at most one payment per contract, period and kind — and, for SUPPLEMENTARY, per wage day —
    # whatever run or channel made it; a payment DES holds as REJECTED as a whole was never paid.
    correction_payments = {c.des_payment_id for c in corrections if c.des_payment_id}
    problems += _paid_twice([p for p in des_payments if p.des_id not in correction_payments], run.period, gateway)
    by_des = {p.contract_no for p in des_payments if (p.payment_kind or "").upper() == "REGULAR"}
    problems += [f"{f.contract_no} {run.period}: a REGULAR payment by DES and one by file — paid twice across channels"
                 for f in file_payments if f.payment_kind.upper() == "REGULAR" and f.contract_no in by_des]  # fmt: skip
    pending = [c.id for c in corrections if c.state in ("proposed", "approved")]

    summary = {
        "run_id": run_id,
        "lines": lines,
        "malformed": malformed,
        "contracts_checked": len(checked),
        "total": str(sum((Decimal(v) for v in checked.values()), Decimal("0"))),
        "problems": len(problems),
        "corrections_pending": pending,
    }
    state = "failed" if problems else "pending_approval" if pending else "reconciled"
    with engine.begin() as conn:
        _mark_run(conn, run_id, state, summary, problems)
    if pending and not problems:
        log.warning("run %s reconciles, with correction(s) %s waiting for approval (oks corrections)", run_id, pending)
    if problems:
        log.error("run %s does not reconcile: %s", run_id, "; ".join(problems))
        raise InvariantBroken(f"run {run_id} does not reconcile: " + "; ".join(problems[:20]))
    log.info("run %s reconciles: %s", run_id, summary)
    return summary


def _files_disagree(file_payments, obliged, outbox: Path, period: str) -> list[str]:
    """Each file payment's total, read back from its contribution file by the insurer's profile, against
    the obligations of that contract and kind."""
    from oks.channels.files import FileReadError, read_file
    from oks.channels.profiles import load_profile
    from oks.pipeline.file_channel import outbox_folder

    problems = []
    for f in sorted(file_payments, key=lambda f: (f.contract_no, f.payment_kind)):
        kind = f.payment_kind.lower()
        path = outbox_folder(outbox, f.contract_no, period) / f.des_id
        try:
            rows = read_file(path, load_profile(f.insurer), "contribution")
        except (OSError, FileReadError) as exc:
            problems.append(f"{f.contract_no} {period}: its {kind} contribution file cannot be read back ({exc})")
            continue
        in_file = sum((Decimal(str(row["amount"])) for row in rows), Decimal("0"))
        owed = obliged[(f.contract_no, kind)].amount if (f.contract_no, kind) in obliged else Decimal("0")
        if in_file != owed:
            problems.append(f"{f.contract_no}/{kind}: payment obligations {owed} ≠ file {f.des_id} total {in_file}")
    return problems


def _paid_twice(des_payments, period: str, gateway: DesGateway | None) -> list[str]:
    held: dict[tuple, set[str]] = defaultdict(set)
    for contract_no, kind, des_id in des_payments:
        wage_day = None
        if gateway is not None:
            page = gateway.read_payment(des_id, limit=1)
            if page.state == "REJECTED":
                continue
            kind, wage_day = page.kind, page.wage_paid_on
        # Without DES to ask (a dry run), the ledger knows kinds but not wage days: REGULAR only.
        if kind == "REGULAR":
            held[(contract_no, "REGULAR", None)].add(des_id)
        elif wage_day is not None:
            held[(contract_no, "SUPPLEMENTARY", wage_day)].add(des_id)
    problems = []
    for (contract_no, kind, wage_day), ids in sorted(held.items(), key=lambda kv: (kv[0][0], kv[0][1], str(kv[0][2]))):
        if len(ids) > 1:
            which = f"{kind} payments" + (f" for wages of {wage_day}" if wage_day else "")
            problems.append(f"{contract_no} {period}: {len(ids)} {which} on DES ({', '.join(sorted(ids))}) — paid twice")
    return problems


def _mark_run(conn, run_id: int, state: str, summary: dict, problems: list[str]) -> None:
    """The run's state for the report and the UI; the other steps' summaries stay in the run."""
    finish_run(conn, run_id, state=state, summary={"reconcile": {**summary, "problems": problems[:20]}})
