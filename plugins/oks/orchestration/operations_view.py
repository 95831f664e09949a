"""The operations view's pages, read live from the store at each request: what is owed (open
obligations, overdue, paid by whom), the alerts sent, and every attempt of every run.

Obligations are per contract and insurer (the insurer's collection account is a company's), alerts
are stored masked, failures are stored redacted; the people on the refunds and requests page appear
masked (KVKK), as in the reports.
"""

from __future__ import annotations

import html
from datetime import UTC, datetime

from oks.rules.vocabulary import SETTLED, ObligationState

__all__ = ["runs_page", "obligations_page", "people_page", "alerts_page"]

_STYLE = (
    "body{font-family:sans-serif;margin:2em}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}"
    "table{border-collapse:collapse}.overdue{color:#b00;font-weight:bold}.paid{color:#070}nav a{margin-right:1em}"
    "td.amount{text-align:right;font-variant-numeric:tabular-nums}"
)
_NAV = ('<nav><a href="./">Runs</a><a href="obligations">Obligations</a><a href="people">Refunds &amp; requests</a>'
        '<a href="alerts">Alerts</a></nav>')


def _e(value: object) -> str:
    return html.escape("" if value is None else str(value))


def _when(moment) -> str:
    from oks.rules.calendar import istanbul_text

    return istanbul_text(moment) if moment else "—"


def _page(title: str, body: str) -> str:
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{_e(title)}</title><style>{_STYLE}</style></head>"
            f"<body>{_NAV}<h1>{_e(title)}</h1>{body}</body></html>")  # fmt: skip


def _table(headers: list[str], rows: list[str]) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    return f"<table><tr>{head}</tr>{''.join(rows) or f'<tr><td colspan={len(headers)}>none</td></tr>'}</table>"


def runs_page(engine, home) -> str:
    """Every run, newest first, with every attempt of it — failed ones too — and its report."""
    from oks.store.runs import recent_runs

    found, attempts = recent_runs(engine)
    rows = []
    for run in found:
        report = home / "reports" / f"run-{run.id}" / "report.html"
        docs = home / "data_docs" / f"run-{run.id}" / "index.html"
        links = " · ".join(link for link in (
            f'<a href="reports/run-{run.id}/report.html">report</a>' if report.exists() else "",
            f'<a href="data_docs/run-{run.id}/index.html">Data Docs</a>' if docs.exists() else "",
        ) if link) or "—"  # fmt: skip
        tried = "<br>".join(
            f"{n}. {_e(a.state)} · {_e(a.owner or 'local')} · {_when(a.started_at)} → {_when(a.finished_at)}"
            + (f" · {_e((a.failure or {}).get('task') or '')} {_e((a.failure or {}).get('error') or '')}" if a.failure else "")
            for n, a in enumerate(attempts.get(run.id, []), start=1)
        ) or "—"
        rows.append(f"<tr><td>#{run.id}</td><td>{_e(run.period)}</td><td>{_e(run.run_key)}</td><td>{_e(run.state)}</td>"
                    f"<td>{_when(run.started_at)}</td><td>{tried}</td><td>{links}</td></tr>")  # fmt: skip
    return _page("OKS runs", _table(["run", "period", "key", "state", "started", "attempts", ""], rows))


def obligations_page(engine, *, show: str = "open", employer: str | None = None, contract: str | None = None,
                     now: datetime | None = None) -> str:  # fmt: skip
    """What must be paid to which insurer account by when, live: overdue first; paid ones with who
    confirmed them, when, and the bank's reference."""
    from oks.rules.calendar import Deadline
    from oks.store.obligations import owed
    from oks.store.schema import contracts, employers

    now = now or datetime.now(UTC)
    narrowed = [*([employers.c.vkn == employer] if employer else []), *([contracts.c.contract_no == contract] if contract else [])]
    found = owed(engine, *narrowed, include_paid=show == "all")
    rows, open_total, overdue = [], 0, 0
    for o in found:
        due_at = Deadline(o.wage_paid_on, o.due_on, o.cutoff).due_at()
        settled = o.state in SETTLED
        late = not settled and due_at.astimezone(UTC) < now
        overdue += late
        open_total += o.amount if not settled else 0
        # Paid after its deadline stays on record as late, with its days: the employee's loss is owed.
        state = "OVERDUE" if late else (f"LATE {o.days_late} day(s)" if o.state == ObligationState.LATE else o.state)
        cls = "overdue" if late or o.state == ObligationState.LATE else ("paid" if settled else "")
        paid = f"{_when(o.paid_at)} by {_e(o.confirmed_by)}" + (f" · ref {_e(o.bank_reference)}" if o.bank_reference else "") if settled else "—"
        rows.append(
            f"<tr><td>#{o.id}</td><td>{_e(o.period)} {_e(o.payment_kind)}</td>"
            f"<td><a href='obligations?employer={_e(o.employer_vkn)}'>{_e(o.employer_name)}</a></td>"
            f"<td><a href='obligations?contract={_e(o.contract_no)}'>{_e(o.contract_no)}</a></td><td>{_e(o.insurer)}</td>"
            f"<td><code>{_e(o.collection_iban)}</code></td><td>{_e(o.reference)}</td><td class='amount'>{o.amount:,.2f}</td>"
            f"<td>{o.due_on:%d.%m.%Y}{' ' + o.cutoff.strftime('%H:%M') if o.cutoff else ''}</td>"
            f"<td class='{cls}'>{_e(state)}</td><td>{paid}</td></tr>"
        )
    scope = " · ".join(filter(None, [f"employer {employer}" if employer else "", f"contract {contract}" if contract else ""]))
    heading = (f"<p>{len(found)} obligation(s){' of ' + _e(scope) if scope else ''}; open {open_total:,.2f} TL; "
               f"<span class='overdue'>{overdue} overdue</span>. "
               f"<a href='obligations?show={'open' if show == 'all' else 'all'}'>{'only open' if show == 'all' else 'paid ones too'}</a></p>")  # fmt: skip
    headers = ["#", "month", "employer", "contract", "insurer", "insurer account", "reference", "amount (TL)", "due (cut-off)", "state", "paid"]
    return _page("What is owed", heading + _table(headers, rows))


_REQUEST_FORM = (
    "<form method='post' action='people/requests'><fieldset><legend>Record a request made at the employer</legend>"
    "<label>Contract <input name='contract_no' required></label> <label>TCKN <input name='tckn' required "
    "autocomplete='off' inputmode='numeric'></label> <label>Request <select name='kind'><option value='OPT_OUT'>opt out (cayma)"
    "</option><option value='PAUSE'>pause</option><option value='RESUME'>resume</option><option value='LEAVE'>leave the plan"
    "</option></select></label> <label>Asked on <input type='date' name='requested_on' required></label> "
    "<label>Months (a pause) <select name='months'><option value=''>—</option><option>1</option><option>2</option>"
    "<option>3</option></select></label> <button>Record</button></fieldset></form>"
)


def people_page(engine, *, now: datetime | None = None, said: str | None = None) -> str:
    """What is owed to employees and what they asked for, live: refunds owed (overdue judged now),
    requests made at the employer and where they stand with the insurer, re-enrolment notices waiting."""
    import sqlalchemy as sa

    from oks.privacy import mask_iban, mask_name, mask_tckn
    from oks.rules.calendar import Deadline
    from oks.store.refunds import open_refunds
    from oks.store.schema import contracts, employees, employer_requests, enrolments, reenrolment_notices

    now = now or datetime.now(UTC)
    with engine.connect() as conn:
        refunds = open_refunds(conn, include_paid=True)
        person = (employees.c.first_name, employees.c.last_name, employees.c.tckn, contracts.c.contract_no)
        requests = conn.execute(
            sa.select(employer_requests, *person).join(enrolments, enrolments.c.id == employer_requests.c.enrolment_id)
            .join(employees, employees.c.id == enrolments.c.employee_id).join(contracts, contracts.c.id == enrolments.c.contract_id)
            .order_by(employer_requests.c.id.desc()).limit(500)
        ).all()  # fmt: skip
        notices = conn.execute(
            sa.select(reenrolment_notices, enrolments.c.state, *person).join(enrolments, enrolments.c.id == reenrolment_notices.c.enrolment_id)
            .join(employees, employees.c.id == enrolments.c.employee_id).join(contracts, contracts.c.id == enrolments.c.contract_id)
            .order_by(reenrolment_notices.c.id.desc()).limit(500)
        ).all()  # fmt: skip

    def who(row) -> str:
        return f"{_e(mask_name(f'{row.first_name} {row.last_name}'))} <code>{_e(mask_tckn(row.tckn))}</code>"

    refund_rows, owed, overdue = [], 0, 0
    for r in refunds:
        late = r.state == "due" and Deadline(r.known_on, r.due_on, r.cutoff).due_at().astimezone(UTC) < now
        overdue += late
        owed += r.amount if r.state == "due" else 0
        state = "OVERDUE" if late else r.state
        paid = f"{_when(r.paid_at)} by {_e(r.confirmed_by)}" + (f" · ref {_e(r.bank_reference)}" if r.bank_reference else "") if r.state == "paid" else "—"
        refund_rows.append(
            f"<tr><td>#{r.id}</td><td>{who(r)}</td><td><code>{_e(mask_iban(r.iban) if r.iban else '—')}</code></td>"
            f"<td>{_e(r.contract_no)}</td><td>{_e(r.period)} {_e(r.payment_kind)}</td><td>{r.wage_paid_on:%d.%m.%Y}</td>"
            f"<td>{r.opted_out_on:%d.%m.%Y}</td><td class='amount'>{r.amount:,.2f}</td><td>{r.due_on:%d.%m.%Y}</td>"
            f"<td class='{'overdue' if late else 'paid' if r.state == 'paid' else ''}'>{_e(state)}</td><td>{paid}</td></tr>"
        )  # fmt: skip
    request_rows = [
        f"<tr><td>#{q.id}</td><td>{who(q)}</td><td>{_e(q.contract_no)}</td><td>{_e(q.kind)}{f' ({q.months} mo.)' if q.months else ''}</td>"
        f"<td>{q.requested_on:%d.%m.%Y}</td><td>{_e(q.recorded_by)}</td><td>{_e(q.state)}</td><td>{_e(q.des_request_id or '—')}</td>"
        f"<td>{_e(q.event_id or q.error or '—')}</td></tr>"
        for q in requests
    ]  # fmt: skip
    notice_rows = [
        f"<tr><td>#{n.id}</td><td>{who(n)}</td><td>{_e(n.contract_no)}</td><td>{n.notified_on:%d.%m.%Y}</td><td>{_e(n.source)}</td>"
        f"<td>{_e(n.imported_by)}</td><td>{'re-enrolled by run #' + str(n.applied_run_id) if n.applied_run_id else 'waiting for the next run'}</td></tr>"
        for n in notices
    ]  # fmt: skip
    body = (
        f"<h2>Refunds owed to employees</h2><p>Open {owed:,.2f} TL; <span class='overdue'>{overdue} overdue</span>. Deducted from "
        "wages paid on or after the day an opt-out, a pause or a leave took effect; due ten business days after it. Confirm with "
        "<code>oks confirm-refund --refund ID --by WHO</code>.</p>"
        + _table(["#", "person", "IBAN", "contract", "deducted for", "wage paid", "stopped on", "amount (TL)", "due", "state", "paid"], refund_rows)
        + "<h2>Requests made at the employer</h2><p>Recorded here or with <code>oks request</code>; deductions follow them from "
        "the next wage; the next run forwards each to the insurer once, and its decision comes back as a status event.</p>"
        + (f"<p><b>{_e(said)}</b></p>" if said else "") + _REQUEST_FORM
        + _table(["#", "person", "contract", "request", "asked on", "recorded by", "state", "DES request", "event / refusal"], request_rows)
        + "<h2>Re-enrolment notices</h2>"
        + _table(["#", "person", "contract", "notice of", "from", "imported by", ""], notice_rows)
    )  # fmt: skip
    return _page("Refunds and requests", body)


def alerts_page(engine, *, limit: int = 500) -> str:
    """The alerts sent, newest first: level, to which channel, for which obligation, what they said."""
    from oks.store.obligations import recent_alerts

    found = recent_alerts(engine, limit=limit)
    rows = [
        f"<tr><td>{_when(a.sent_at)}</td><td>{_e(a.level)}</td><td>{_e(a.channel)}</td>"
        f"<td>{'#' + str(a.obligation_id) if a.obligation_id else 'refund #' + str(a.refund_id) if a.refund_id else '—'}</td>"
        f"<td>{_e(a.message)}</td></tr>"
        for a in found
    ]
    return _page("Alerts sent", _table(["sent", "level", "channel", "obligation", "message"], rows))
