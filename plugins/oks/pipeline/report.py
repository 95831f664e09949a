"""Pipeline step: the run report — one HTML page and CSV files operations can open and forward.

Per contract and insurer: how many people contributed, were rejected, quarantined, not eligible or
inactive; amounts; payment obligations with due dates; the deduction list back to payroll
(``deductions.csv``) and every person whose payroll-computed deduction differs from the contribution. Then the quarantine and the insurer's
rejections, person by person — masked (KVKK), because the report is mailed around. Charts are
inline SVG: the page is one self-contained file, no plotting library, no network.
"""

from __future__ import annotations

import csv
import html
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from oks.pipeline.deductions import deduction_differences, write_deduction_list
from oks.privacy import mask_name, mask_tckn
from oks.rules.vocabulary import Outcome
from oks.store.enrolments import not_in_payroll
from oks.store.refunds import open_refunds
from oks.store.schema import Money, runs

__all__ = ["publish_report", "pek_limits_text", "csv_safe"]

OUTCOME_ORDER = (Outcome.CONTRIBUTED, Outcome.REJECTED, Outcome.QUARANTINED, Outcome.NOT_ELIGIBLE, Outcome.INACTIVE)

_BY_CONTRACT = sa.text(
    """
    SELECT p.contract_no AS contract_no, COALESCE(c.insurer, named.insurer, 'unknown contract') AS insurer,
           COALESCE(k.outcome, CASE WHEN q.row_no IS NOT NULL THEN 'quarantined' END) AS outcome,
           COUNT(*) AS people, COALESCE(SUM(k.amount), 0) AS amount
    FROM payroll_lines p
    LEFT JOIN contributions k ON k.payroll_line_id = p.id
    LEFT JOIN contracts c ON c.id = k.contract_id
    LEFT JOIN contracts named ON named.contract_no = p.contract_no
    LEFT JOIN (SELECT DISTINCT run_id, row_no FROM quarantine WHERE stage = 'validate') q
           ON q.run_id = p.run_id AND q.row_no = p.row_no
    WHERE p.run_id = :run_id
    GROUP BY 1, 2, 3
    ORDER BY 1, 3
    """
).columns(sa.column("contract_no", sa.String), sa.column("insurer", sa.String), sa.column("outcome", sa.String),
          sa.column("people", sa.Integer), sa.column("amount", Money))  # fmt: skip

_QUARANTINE = sa.text(
    """
    SELECT q.row_no, q.payroll_id, q.stage, q.field, q.rule, q.message, p.contract_no, p.tckn, p.first_name, p.last_name
    FROM quarantine q
    LEFT JOIN payroll_lines p ON p.run_id = q.run_id AND p.row_no = q.row_no
    WHERE q.run_id = :run_id
    ORDER BY q.row_no, q.field
    """
)

_OBLIGATIONS = sa.text(
    """
    SELECT c.contract_no, c.insurer, o.period, o.payment_kind, o.wage_paid_on, o.amount, o.due_on, o.cutoff,
           o.state, o.days_late, o.collection_iban, o.reference
    FROM payment_obligations o JOIN contracts c ON c.id = o.contract_id
    WHERE o.run_id = :run_id
    ORDER BY o.due_on, c.contract_no
    """
).columns(amount=Money, wage_paid_on=sa.Date, due_on=sa.Date, cutoff=sa.Time)


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value: object) -> object:
    """A cell a spreadsheet shows as text, never runs: text starting like a formula (``=``, ``+``,
    ``-``, ``@``, tab, CR — CSV injection) gets a leading apostrophe. Our own numbers pass as they are."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _csv_rows(rows):
    return ([csv_safe(cell) for cell in row] for row in rows)


_CORRECTIONS = sa.text(
    """
    SELECT k.id, c.contract_no, c.insurer, k.payment_kind, k.original_des_payment_id, k.original_total, k.to_pay,
           k.over_paid, k.people, k.state, k.decided_by
    FROM payment_corrections k JOIN contracts c ON c.id = k.contract_id
    WHERE k.period = :period AND k.state <> 'refused'
    ORDER BY k.id
    """
).columns(original_total=Money, to_pay=Money, over_paid=Money)


@dataclass(frozen=True)
class ReportPaths:
    html: Path
    summary_csv: Path
    quarantine_csv: Path
    deductions_csv: Path


def publish_report(
    engine: Engine, run_id: int, *, out_dir: Path, data_docs: str | None = None
) -> dict[str, object]:
    """Write ``report.html``, ``summary.csv``, ``quarantine.csv`` and ``deductions.csv`` (the deduction
    list payroll imports) for the run into ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    with engine.connect() as conn:
        run = conn.execute(sa.select(runs.c.run_key, runs.c.period, runs.c.state, runs.c.summary).where(runs.c.id == run_id)).one()
        by_contract = conn.execute(_BY_CONTRACT, {"run_id": run_id}).all()
        quarantined = conn.execute(_QUARANTINE, {"run_id": run_id}).all()
        obligations = conn.execute(_OBLIGATIONS, {"run_id": run_id}).all()
        refunds = open_refunds(conn)  # owed now, whichever month they were deducted in
        absent = not_in_payroll(conn, run_id)
        corrections = conn.execute(_CORRECTIONS, {"period": run.period}).all()
        differences = deduction_differences(conn, run_id)

    table: dict[tuple[str, str], dict[str, Any]] = defaultdict(lambda: {o: 0 for o in OUTCOME_ORDER} | {"amount": Decimal("0")})
    for row in by_contract:
        entry = table[(row.contract_no, row.insurer)]
        entry[row.outcome] = entry.get(row.outcome, 0) + row.people
        entry["amount"] += row.amount
    paths = ReportPaths(out_dir / "report.html", out_dir / "summary.csv", out_dir / "quarantine.csv", out_dir / "deductions.csv")
    deductions = write_deduction_list(engine, run_id, paths.deductions_csv)

    with paths.summary_csv.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["contract_no", "insurer", *OUTCOME_ORDER, "amount"])
        writer.writerows(_csv_rows(
            [contract_no, insurer, *(entry[o] for o in OUTCOME_ORDER), f"{entry['amount']:.2f}"]
            for (contract_no, insurer), entry in sorted(table.items())
        ))  # fmt: skip

    masked_rows = [_masked_quarantine(q) for q in quarantined]
    with paths.quarantine_csv.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["row_no", "payroll_id", "person", "tckn", "contract_no", "stage", "field", "rule", "message"])
        writer.writerows(_csv_rows(masked_rows))

    insurer_totals: dict[str, Decimal] = defaultdict(Decimal)
    for (_, insurer), entry in table.items():
        insurer_totals[insurer] += entry["amount"]
    reasons: dict[str, int] = defaultdict(int)
    for q in quarantined:
        reasons[f"{q.field}: {q.rule}"] += 1

    limits = ((run.summary or {}).get("validate") or {}).get("pek_limits")
    paths.html.write_text(
        _page(run, table, masked_rows, obligations, refunds, insurer_totals, reasons, data_docs, limits, corrections, absent, differences),
        encoding="utf-8",
    )
    totals: dict[str, int] = {o: sum(int(e[o]) for e in table.values()) for o in OUTCOME_ORDER}
    # Rows that could not even be staged belong to no contract; they are counted here and listed below.
    totals["malformed"] = len({q.row_no for q in quarantined if q.stage == "extract"})
    return {
        "run_id": run_id,
        "report": str(paths.html),
        "summary_csv": str(paths.summary_csv),
        "quarantine_csv": str(paths.quarantine_csv),
        "deductions_csv": str(paths.deductions_csv),
        "deductions": deductions,
        "deduction_differences": len(differences),
        **totals,
        "amount": str(sum((e["amount"] for e in table.values()), Decimal("0"))),
        "refunds_owed": len(refunds),
        "not_in_payroll": len(absent),
        "pek_limits_checked": None if limits is None else bool(limits.get("checked")),
    }


def _masked_quarantine(q) -> list[object]:
    person = " ".join(filter(None, (q.first_name, q.last_name)))
    return [q.row_no, q.payroll_id or "", mask_name(person), mask_tckn(q.tckn) if q.tckn else "", q.contract_no or "",
            q.stage, q.field, q.rule, q.message]  # fmt: skip


def _short(label: str, limit: int = 56) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "…"


def _bar_chart(title: str, values: dict[str, Decimal | int], unit: str = "") -> str:
    """A horizontal bar chart as inline SVG."""
    if not values:
        return f"<p><em>{html.escape(title)}: nothing to show.</em></p>"
    items = sorted(values.items(), key=lambda kv: kv[1], reverse=True)[:15]
    top = max(float(v) for _, v in items) or 1.0
    bar_h, label_w, width = 22, 380, 900
    rows = []
    for i, (label, value) in enumerate(items):
        y = i * (bar_h + 6)
        w = max(1.0, (width - label_w - 120) * float(value) / top)
        shown = f"{value:,.2f}{unit}" if isinstance(value, Decimal) else f"{value:,}{unit}"
        rows.append(
            f'<text x="{label_w - 8}" y="{y + 15}" text-anchor="end">{html.escape(_short(label))}</text>'
            f'<rect x="{label_w}" y="{y}" width="{w:.1f}" height="{bar_h}" fill="#2b6cb0"/>'
            f'<text x="{label_w + w + 6:.1f}" y="{y + 15}">{html.escape(shown)}</text>'
        )
    height = len(items) * (bar_h + 6)
    return (
        f"<figure><figcaption>{html.escape(title)}</figcaption>"
        f'<svg role="img" aria-label="{html.escape(title)}" width="{width}" height="{height}" '
        f'font-family="sans-serif" font-size="12">{"".join(rows)}</svg></figure>'
    )


def pek_limits_text(limits: dict | None) -> str:
    """One sentence on the PEK-limit check of a run's validation, for the report and the run summary."""
    if not limits:
        return "PEK limits: validation has not run"
    if not limits.get("checked"):
        return f"PEK limits NOT CHECKED for {limits.get('period')}: {limits.get('reason')}"
    outside = limits.get("outside")
    counted = f"; {outside} line(s) outside them (warnings, see Data Docs)" if outside else "; every line within them"
    return f"PEK limits checked against {limits.get('file')} (in force from {limits.get('valid_from')}, {limits.get('source')}){counted}"


def _corrections_section(corrections) -> str:
    if not corrections:
        return ""
    e = html.escape
    rows = "".join(
        f"<tr><td>#{k.id}</td><td>{e(k.contract_no)}</td><td>{e(k.insurer)}</td><td>{e(k.payment_kind)}</td>"
        f"<td>{e(k.original_des_payment_id)}</td><td class=n>{k.original_total:,.2f}</td><td class=n>{k.to_pay:,.2f}</td>"
        f"<td class=n>{k.over_paid:,.2f}</td><td class=n>{k.people}</td><td><b>{e(k.state)}</b>{' by ' + e(k.decided_by) if k.decided_by else ''}</td></tr>"
        for k in corrections
    )
    waiting = sum(1 for k in corrections if k.state == "proposed")
    note = (f"<p class=warn>{waiting} correction(s) wait for approval: nothing is sent until operations approve "
            f"(<code>oks corrections --people</code>, <code>oks correction approve ID --by WHO</code>).</p>") if waiting else ""  # fmt: skip
    return (
        "<h2>Corrections of payments DES already holds</h2>" + note +
        "<table><tr><th>correction</th><th>contract</th><th>insurer</th><th>corrects</th><th>DES payment</th><th>DES holds (TL)</th>"
        f"<th>to pay (TL)</th><th>over-paid, to reclaim (TL)</th><th>people</th><th>state</th></tr>{rows}</table>"
    )


def _refunds_section(refunds) -> str:
    if not refunds:
        return ""
    e = html.escape
    rows = "".join(
        f"<tr><td>#{r.id}</td><td>{e(mask_name(f'{r.first_name} {r.last_name}'))}</td><td>{e(mask_tckn(r.tckn))}</td>"
        f"<td>{e(r.contract_no)}</td><td>{e(r.period)} {e(r.payment_kind)}</td><td>{r.wage_paid_on}</td><td>{r.opted_out_on}</td>"
        f"<td class=n>{r.amount:,.2f}</td><td><b>{r.due_on}</b></td></tr>"
        for r in refunds
    )
    total = sum((r.amount for r in refunds), Decimal("0"))
    return (
        f"<h2 id=refunds>Refunds owed to employees ({len(refunds)}, {total:,.2f} TL)</h2>"
        "<p class=warn>Deducted from wages paid on or after the day the person's opt-out (cayma), pause or leave took effect: pay each back within ten "
        "business days, then <code>oks confirm-refund --refund ID --by WHO</code>. The deadline watch escalates them like payments.</p>"
        "<table><tr><th>refund</th><th>person</th><th>TCKN</th><th>contract</th><th>deducted for</th><th>wage paid</th>"
        f"<th>stopped on</th><th>amount (TL)</th><th>due</th></tr>{rows}</table>"
    )


def _absent_section(absent) -> str:
    if not absent:
        return ""
    e = html.escape
    rows = "".join(
        f"<tr><td>{e(a.contract_no)}</td><td>{e(a.payroll_id or '')}</td><td>{e(mask_name(f'{a.first_name} {a.last_name}'))}</td>"
        f"<td>{e(mask_tckn(a.tckn))}</td><td>{e(a.state)}</td><td>{e(a.policy_no or '')}</td></tr>"
        for a in absent[:2000]
    )
    return (
        f"<h2 id=not-in-payroll>Not in this month's payroll: left or missing? ({len(absent)})</h2>"
        "<p class=warn>These people are enrolled but have no line in this month's payroll of their employer. Nothing was "
        "deducted or sent for them, and they were not exited: if they left, give their exit date in payroll (the EXIT goes "
        "to the insurer then); if the export missed them, fix it and re-run the month.</p>"
        "<table><tr><th>contract</th><th>payroll id</th><th>person</th><th>TCKN</th><th>enrolment</th><th>policy</th></tr>"
        f"{rows}</table>"
    )


def _differences_section(differences) -> str:
    if not differences:
        return ""
    e = html.escape
    rows = "".join(
        f"<tr><td>{d.row_no}</td><td>{e(d.payroll_id)}</td><td>{e(mask_name(f'{d.first_name} {d.last_name}'))}</td>"
        f"<td>{e(mask_tckn(d.tckn))}</td><td>{e(d.contract_no)}</td><td>{e(d.payment_kind)}</td>"
        f"<td class=n>{d.payroll_deduction:,.2f}</td><td class=n>{d.amount:,.2f}</td><td>{e(d.outcome)}: {e(d.reason)}</td></tr>"
        for d in differences[:2000]
    )
    return (
        f"<h2 id=deduction-differences>Payroll's deduction differs from the contribution ({len(differences)})</h2>"
        "<p class=warn>Payroll computed another OKS deduction for these payments than the contribution this run sends. "
        "Deduct what the deduction list (deductions.csv) says before the wages are paid: a short deduction leaves the "
        "employer liable for the difference, one for a person who owes nothing must be paid back.</p>"
        "<table><tr><th>row</th><th>payroll id</th><th>person</th><th>TCKN</th><th>contract</th><th>payment</th>"
        f"<th>payroll's deduction (TL)</th><th>contribution (TL)</th><th>outcome</th></tr>{rows}</table>"
    )


def _page(run, table, masked_rows, obligations, refunds, insurer_totals, reasons, data_docs, limits, corrections=(), absent=(),
          differences=()) -> str:
    e = html.escape
    head = "".join(f"<th>{e(h)}</th>" for h in ("contract", "insurer", *OUTCOME_ORDER, "amount (TL)"))
    body = "".join(
        f"<tr><td>{e(c)}</td><td>{e(i)}</td>" + "".join(f"<td class=n>{entry[o]}</td>" for o in OUTCOME_ORDER)
        + f"<td class=n>{entry['amount']:,.2f}</td></tr>"
        for (c, i), entry in sorted(table.items())
    )  # fmt: skip
    obligation_rows = "".join(
        f"<tr><td>{e(o.contract_no)}</td><td>{e(o.insurer)}</td><td>{e(o.period)} {e(o.payment_kind)}</td>"
        f"<td>{o.wage_paid_on}</td><td class=n>{o.amount:,.2f}</td><td><b>{o.due_on}</b>"
        f"{' before ' + o.cutoff.strftime('%H:%M') if o.cutoff else ''}</td><td>{e(o.state if o.state != 'late' else f'late, {o.days_late} day(s): loss claim')}</td>"
        f"<td>{e(o.collection_iban)}</td><td>{e(o.reference)}</td></tr>"
        for o in obligations
    )
    quarantine_rows = "".join(
        "<tr>" + "".join(f"<td>{e(str(v))}</td>" for v in row) + "</tr>" for row in masked_rows[:2000]
    )
    more = f"<p>… and {len(masked_rows) - 2000} more in quarantine.csv</p>" if len(masked_rows) > 2000 else ""
    refund_note = _refunds_section(refunds)
    docs = f'<p>Data Docs of the validation: <a href="{e(data_docs)}">{e(data_docs)}</a></p>' if data_docs else ""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>OKS run {e(run.run_key)} — {e(run.period)}</title>
<style>body{{font-family:sans-serif;margin:2em;max-width:1200px}}table{{border-collapse:collapse;margin:1em 0}}
td,th{{border:1px solid #ccc;padding:4px 8px;font-size:13px}}th{{background:#edf2f7}}.n{{text-align:right}}
.warn{{color:#9b2c2c;font-weight:bold}}figcaption{{font-weight:bold;margin:1em 0 .5em}}</style></head>
<body><h1>OKS monthly run — {e(run.period)}</h1>
<p>Run <code>{e(run.run_key)}</code>, state <b>{e(run.state)}</b>. Personal data is masked.</p>{docs}
<p{"" if (limits or {}).get("checked") else " class=warn"} id=pek-limits>{e(pek_limits_text(limits))}</p>
<h2>Per contract and insurer</h2><table><tr>{head}</tr>{body}</table>
{_bar_chart("Contributions per insurer (TL)", {k: v for k, v in insurer_totals.items() if v})}
<h2>Payments to make</h2>
<table><tr><th>contract</th><th>insurer</th><th>period</th><th>wages paid</th><th>amount (TL)</th><th>due</th>
<th>state</th><th>insurer IBAN</th><th>reference</th></tr>{obligation_rows}</table>{refund_note}
{_corrections_section(corrections)}
{_absent_section(absent)}
{_differences_section(differences)}
<h2>Quarantine and rejections ({len(masked_rows)})</h2>
{_bar_chart("Quarantine reasons", dict(reasons))}
<table><tr><th>row</th><th>payroll id</th><th>person</th><th>TCKN</th><th>contract</th><th>stage</th><th>field</th>
<th>rule</th><th>message</th></tr>{quarantine_rows}</table>{more}
</body></html>
"""
