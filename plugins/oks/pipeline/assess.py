"""Pipeline step: decide, for every valid payroll line of a run, what happens to it.

Outcomes (docs/architecture.md §6): ``contributed`` (to be deducted and sent — the amount comes in the next
step), ``not_eligible`` (reason), ``inactive`` (opted out, paused, left), ``rejected`` (by the insurer).
Quarantined lines already have their outcome. New eligible people get a ``pending`` enrolment.

The per-line decision is a pure function (:func:`decide`) over the rules; the step around it streams
lines in chunks and stages the decisions in bulk (COPY on PostgreSQL). Once the stream has ended, the
new enrolments are created from the staged decisions and the decisions become contributions, each
in one statement. Nothing is written to ``enrolments`` while the cursor is open: rows added under it
are invisible to it yet scanned by every fetch, each slower than the last (an hour at a million);
and no fresh contribution is updated afterwards to learn its enrolment.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from oks.rules.eligibility import AgeReference, assess_employee, employer_in_scope_from, headcount_decides_scope
from oks.rules.lifecycle import REENROLMENT_YEARS, deduction_after_request, reenrolment_due_on, state_for_wage
from oks.rules.parameters import period_start
from oks.rules.vocabulary import Outcome
from oks.store.bulk import bulk_insert, refresh_statistics
from oks.store.enrolments import EventSpec, apply_events
from oks.store.schema import contributions, employers, quarantine, reenrolment_notices
from oks.store.snapshot import insert_quarantine

__all__ = ["Decision", "decide", "assess_eligibility", "HEADCOUNT_MISSING"]

HEADCOUNT_MISSING = "employer_headcount_missing"
"""A line refused because its employer's scope depends on a headcount payroll never gave: quarantined,
naming the employer."""

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Decision:
    outcome: str  # contributed | not_eligible | inactive | rejected
    reason: str
    enrol: bool = False  # create a pending enrolment for this person and contract
    resubmit: bool = False  # a rejected enrolment whose payroll data has changed since: send it again
    reenrol: str | None = None  # an ended enrolment enrolled again: interval, notice or rehired


def decide(
    *,
    wage_paid_on: date,
    hire_date: date | None,
    birth_date: date,
    citizenship: str,
    sgk_status: str,
    has_oks_certificate: bool,
    voluntary: bool,
    employer_headcount: int | None,
    employer_sector: str,
    employer_first_reached_five_on: date | None,
    enrolment_state: str | None,
    employer_in_scope_since: date | None = None,
    enrolment_reason: str | None = None,
    paused_until: date | None = None,
    changed_since_rejection: bool = False,
    age_reference: AgeReference | str = AgeReference.YEAR_START,
    request_kind: str | None = None,
    requested_on: date | None = None,
    request_months: int | None = None,
    ended_on: date | None = None,
    reenrolled_before: bool = False,
    reenrolment_notice: date | None = None,
    reenrolment_years: int = REENROLMENT_YEARS,
    state_since: date | None = None,
    state_before: str | None = None,
    period_starts_on: date | None = None,
) -> Decision:
    """The outcome of one payroll line.

    An existing enrolment decides by its state in force for this wage (``state_since``, the day its
    current state took effect, and ``state_before``, where it came from: :func:`state_for_wage`) — so a
    period decided again decides as it did, whatever its first attempt sent since. The age test is made
    once, at inclusion, so an enrolled employee who turns 45 stays enrolled. Without an enrolment, the
    employee is assessed with the inclusion date the law gives: the later of the hire date and the
    employer's in-scope date.
    """
    rehired = enrolment_reason == "left_employment" and hire_date is not None and ended_on is not None and hire_date > ended_on
    if enrolment_state is not None and period_starts_on is not None and not rehired:
        enrolment_state = state_for_wage(enrolment_state, reason=enrolment_reason, entered_on=state_since, state_before=state_before,
                                         wage_paid_on=wage_paid_on, period_starts_on=period_starts_on)  # fmt: skip
    if enrolment_state is not None:
        if request_kind is not None and requested_on is not None and enrolment_state in ("pending", "submitted", "enrolled", "paused"):
            # A request made at the employer the insurer has not decided yet: deductions follow it from the next wage.
            requested = deduction_after_request(request_kind, requested_on, request_months, wage_paid_on)
            if requested == "resume_requested" and enrolment_state == "paused":
                return Decision(Outcome.CONTRIBUTED, requested)
            if requested is not None and requested != "resume_requested":
                return Decision(Outcome.INACTIVE, requested)
        if enrolment_state in ("pending", "submitted", "enrolled"):
            return Decision(Outcome.CONTRIBUTED, f"enrolment_{enrolment_state}")
        if enrolment_state == "paused":
            if paused_until is not None and paused_until < wage_paid_on:
                return Decision(Outcome.CONTRIBUTED, "pause_ended")
            return Decision(Outcome.INACTIVE, "paused")
        if enrolment_state in ("opted_out", "left"):
            return _after_the_end(enrolment_state, enrolment_reason, ended_on, hire_date, wage_paid_on, reenrolled_before,
                                  reenrolment_notice, reenrolment_years)  # fmt: skip
        if enrolment_state == "rejected":
            if changed_since_rejection:
                # Payroll corrected the person (a name, a birth date): try the insurer again.
                return Decision(Outcome.CONTRIBUTED, "resubmitted", resubmit=True)
            return Decision(Outcome.REJECTED, enrolment_reason or "rejected_by_insurer")
        raise ValueError(f"unknown enrolment state {enrolment_state!r}")

    sector = employer_sector or "private"
    if employer_headcount is None and headcount_decides_scope(sector, employer_first_reached_five_on, employer_in_scope_since):
        # Never read as 0: that would silently put every employee of the employer out of scope.
        return Decision(Outcome.NOT_ELIGIBLE, HEADCOUNT_MISSING)
    in_scope_from = employer_in_scope_from(employer_headcount or 0, sector, employer_first_reached_five_on, employer_in_scope_since)
    if in_scope_from is None or in_scope_from > wage_paid_on:
        return Decision(Outcome.NOT_ELIGIBLE, "employer_not_in_scope")
    inclusion_date = max(d for d in (hire_date, in_scope_from) if d is not None)
    if inclusion_date > wage_paid_on:
        inclusion_date = wage_paid_on  # paid before the recorded hire date: include from this wage
    assessment = assess_employee(
        birth_date=birth_date,
        citizenship=citizenship,
        sgk_status=sgk_status,
        inclusion_date=inclusion_date,
        has_oks_certificate=has_oks_certificate,
        voluntary=voluntary,
        age_reference=age_reference,
    )
    if assessment.eligible:
        return Decision(Outcome.CONTRIBUTED, assessment.reason, enrol=True)
    return Decision(Outcome.NOT_ELIGIBLE, assessment.reason)


def _after_the_end(state: str, reason: str | None, ended_on: date | None, hire_date: date | None, wage_paid_on: date,
                   reenrolled_before: bool, notice: date | None, years: int) -> Decision:  # fmt: skip
    """An opted-out or left enrolment whose person is on payroll again (docs/rules.md §6): a leaver hired
    again is a joiner; someone who left the plan while employed is re-enrolled on EGM's or the insurer's
    notice, or by themselves once the interval has passed — once."""
    if reason == "left_employment":
        if hire_date is not None and ended_on is not None and hire_date > ended_on:
            return Decision(Outcome.CONTRIBUTED, "rehired", reenrol="rehired")
        return Decision(Outcome.INACTIVE, state)
    if notice is not None and notice <= wage_paid_on:
        return Decision(Outcome.CONTRIBUTED, "reenrolled_on_notice", reenrol="notice")
    if ended_on is not None and not reenrolled_before and reenrolment_due_on(ended_on, years) <= wage_paid_on:
        return Decision(Outcome.CONTRIBUTED, "reenrolled_after_interval", reenrol="interval")
    return Decision(Outcome.INACTIVE, state)


_LINES = sa.text(
    """
    SELECT p.id AS line_id, p.period, p.payment_kind, p.wage_paid_on, p.hire_date, p.birth_date,
           p.citizenship, p.sgk_status, p.has_oks_certificate, p.voluntary,
           er.headcount, er.sector, er.first_reached_five_on, er.id AS employer_id, er.in_scope_since, er.vkn AS employer_vkn,
           er.name AS employer_name, p.row_no, p.payroll_id,
           e.id AS employee_id, c.id AS contract_id,
           en.id AS enrolment_id, en.state AS enrolment_state, en.reason AS enrolment_reason, en.paused_until,
           EXISTS (SELECT 1 FROM employee_history h
                   WHERE h.employee_id = e.id AND en.state = 'rejected' AND h.changed_at >= en.updated_at)
             AS changed_since_rejection,
           r.kind AS request_kind, r.requested_on, r.months AS request_months,
           COALESCE(en.opted_out_on, en.left_on) AS ended_on,
           CASE WHEN en.state IN ('opted_out', 'left')
                THEN EXISTS (SELECT 1 FROM enrolment_events ev WHERE ev.enrolment_id = en.id AND ev.kind = 'RE_ENROL'
                             AND ev.event_key LIKE 'reenrol:interval:%')
                ELSE false END AS reenrolled_before,
           notice.notified_on AS reenrolment_notice,
           en.state_since,
           CASE WHEN en.state IN ('opted_out', 'left', 'paused')
                THEN (SELECT ev.from_state FROM enrolment_events ev
                      WHERE ev.enrolment_id = en.id AND ev.to_state = en.state AND ev.from_state <> ev.to_state
                      ORDER BY ev.id DESC LIMIT 1)
                END AS state_before
    FROM payroll_lines p
    JOIN employers er ON er.vkn = p.employer_vkn
    JOIN employees e ON e.employer_id = er.id AND e.tckn = p.tckn
    JOIN contracts c ON c.contract_no = p.contract_no
    LEFT JOIN enrolments en ON en.employee_id = e.id AND en.contract_id = c.id
    LEFT JOIN (SELECT enrolment_id, MAX(id) AS id FROM employer_requests WHERE state IN ('recorded', 'forwarded')
               GROUP BY enrolment_id) open_request ON open_request.enrolment_id = en.id
    LEFT JOIN employer_requests r ON r.id = open_request.id
    LEFT JOIN (SELECT enrolment_id, MIN(notified_on) AS notified_on FROM reenrolment_notices WHERE applied_run_id IS NULL
               GROUP BY enrolment_id) notice ON notice.enrolment_id = en.id
    WHERE p.run_id = :run_id
      AND NOT EXISTS (SELECT 1 FROM quarantine q WHERE q.run_id = p.run_id AND q.row_no = p.row_no)
    ORDER BY p.row_no
    """
).columns(  # typed, so SQLite hands back dates and booleans as PostgreSQL does
    sa.column("line_id", sa.Integer),
    sa.column("period", sa.String),
    sa.column("payment_kind", sa.String),
    sa.column("wage_paid_on", sa.Date),
    sa.column("hire_date", sa.Date),
    sa.column("birth_date", sa.Date),
    sa.column("citizenship", sa.String),
    sa.column("sgk_status", sa.String),
    sa.column("has_oks_certificate", sa.Boolean),
    sa.column("voluntary", sa.Boolean),
    sa.column("headcount", sa.Integer),
    sa.column("sector", sa.String),
    sa.column("first_reached_five_on", sa.Date),
    sa.column("employer_id", sa.Integer),
    sa.column("in_scope_since", sa.Date),
    sa.column("employer_vkn", sa.String),
    sa.column("employer_name", sa.String),
    sa.column("row_no", sa.Integer),
    sa.column("payroll_id", sa.String),
    sa.column("employee_id", sa.Integer),
    sa.column("contract_id", sa.Integer),
    sa.column("enrolment_state", sa.String),
    sa.column("enrolment_reason", sa.String),
    sa.column("enrolment_id", sa.Integer),
    sa.column("paused_until", sa.Date),
    sa.column("changed_since_rejection", sa.Boolean),
    sa.column("request_kind", sa.String),
    sa.column("requested_on", sa.Date),
    sa.column("request_months", sa.Integer),
    sa.column("ended_on", sa.Date),
    sa.column("reenrolled_before", sa.Boolean),
    sa.column("reenrolment_notice", sa.Date),
    sa.column("state_since", sa.Date),
    sa.column("state_before", sa.String),
)


def assess_eligibility(
    engine: Engine,
    run_id: int,
    *,
    age_reference: AgeReference | str = AgeReference.YEAR_START,
    chunk_size: int = 10_000,
    reenrolment_years: int = REENROLMENT_YEARS,
) -> dict[str, object]:
    """Decide every valid line of the run; returns counts by outcome and reason."""
    outcomes: Counter[str] = Counter()
    reasons: Counter[str] = Counter()
    with engine.begin() as conn:
        refresh_statistics(conn, "employees", "enrolments", "contributions")
        conn.execute(sa.delete(contributions).where(contributions.c.run_id == run_id))
        # This step's own refusals of an earlier attempt: decided again below.
        conn.execute(sa.delete(quarantine).where(quarantine.c.run_id == run_id, quarantine.c.stage == "assess"))
        _ASSESSED.create(conn)
        result = conn.execute(_LINES.execution_options(yield_per=chunk_size), {"run_id": run_id})
        resubmits: dict[int, date] = {}  # rejected enrolments payroll has corrected since: few
        reenrols: dict[int, tuple[str, date]] = {}  # ended enrolments enrolled again: few
        in_scope: dict[int, date | None] = {}  # per employer first found in scope this run: its earliest wage day in scope
        refused: list = []  # lines whose employer's scope needs a headcount payroll never gave: few
        for chunk in result.partitions(chunk_size):
            decided = []
            for line in chunk:
                decision = decide(
                    wage_paid_on=line.wage_paid_on,
                    hire_date=line.hire_date,
                    birth_date=line.birth_date,
                    citizenship=line.citizenship,
                    sgk_status=line.sgk_status,
                    has_oks_certificate=bool(line.has_oks_certificate),
                    voluntary=bool(line.voluntary),
                    employer_headcount=line.headcount,
                    employer_sector=line.sector,
                    employer_first_reached_five_on=line.first_reached_five_on,
                    employer_in_scope_since=line.in_scope_since,
                    enrolment_state=line.enrolment_state,
                    enrolment_reason=line.enrolment_reason,
                    paused_until=line.paused_until,
                    changed_since_rejection=bool(line.changed_since_rejection),
                    age_reference=age_reference,
                    request_kind=line.request_kind,
                    requested_on=line.requested_on,
                    request_months=line.request_months,
                    ended_on=line.ended_on,
                    reenrolled_before=bool(line.reenrolled_before),
                    reenrolment_notice=line.reenrolment_notice,
                    reenrolment_years=reenrolment_years,
                    state_since=line.state_since,
                    state_before=line.state_before,
                    period_starts_on=period_start(line.period),
                )
                outcomes[decision.outcome] += 1
                reasons[f"{decision.outcome}:{decision.reason}"] += 1
                decided.append(
                    {
                        "payroll_line_id": line.line_id,
                        "employee_id": line.employee_id,
                        "contract_id": line.contract_id,
                        "enrolment_id": line.enrolment_id,
                        "period": line.period,
                        "payment_kind": line.payment_kind,
                        "outcome": decision.outcome,
                        "reason": decision.reason,
                        "wage_paid_on": line.wage_paid_on,
                        "enrol": decision.enrol,
                    }
                )
                if decision.reason == HEADCOUNT_MISSING:
                    refused.append(line)
                if line.in_scope_since is None and line.headcount is not None and not _known_in_scope(in_scope, line):
                    _note_in_scope(in_scope, line)
                if decision.resubmit:
                    resubmits[line.enrolment_id] = line.wage_paid_on
                if decision.reenrol:
                    reenrols[line.enrolment_id] = (decision.reenrol, line.wage_paid_on)
            bulk_insert(conn, _ASSESSED, _ASSESSED_COLUMNS, decided)
        result.close()
        refresh_statistics(conn, "assessed_lines")
        conn.execute(_NEW_ENROLMENTS)
        refresh_statistics(conn, "enrolments")
        conn.execute(_CONTRIBUTIONS, {"run_id": run_id})
        _ASSESSED.drop(conn)
        refresh_statistics(conn, "contributions")
        apply_events(conn, [EventSpec(e, "RESUBMIT", "payroll", f"run:{run_id}:resubmit", on) for e, on in resubmits.items()])
        # Enrolled again: pending, sent as a joiner (a new policy) by this run's personnel list.
        apply_events(conn, [EventSpec(e, "RE_ENROL", "payroll", f"reenrol:{why}:run:{run_id}", on, reason=f"reenrolled_{why}")
                            for e, (why, on) in reenrols.items()])  # fmt: skip
        notices = [e for e, (why, _) in reenrols.items() if why == "notice"]
        if notices:
            conn.execute(sa.update(reenrolment_notices).where(reenrolment_notices.c.enrolment_id.in_(notices),
                                                              reenrolment_notices.c.applied_run_id.is_(None))
                         .values(applied_run_id=run_id, updated_at=sa.func.current_timestamp()))  # fmt: skip
        for employer_id, since in in_scope.items():
            if since is not None:  # once in scope, always in scope (docs/rules.md §2)
                conn.execute(sa.update(employers).where(employers.c.id == employer_id, employers.c.in_scope_since.is_(None))
                             .values(in_scope_since=since))  # fmt: skip
        _check_every_valid_line_decided(conn, run_id, sum(outcomes.values()))
        _quarantine_without_headcount(conn, run_id, refused)  # after the count: its lines are decided (not eligible) too
    summary = {"run_id": run_id, "lines": sum(outcomes.values()), **dict(outcomes), "by_reason": dict(reasons)}
    log.info("assessed run %s: %s", run_id, dict(outcomes))
    return summary


def _known_in_scope(in_scope: dict[int, date | None], line) -> bool:
    since = in_scope.get(line.employer_id)
    return since is not None and since <= line.wage_paid_on


def _note_in_scope(in_scope: dict[int, date | None], line) -> None:
    """The employer's earliest wage day of the run on which it is in scope by its headcount."""
    starts = employer_in_scope_from(line.headcount, line.sector or "private", line.first_reached_five_on)
    if starts is not None and starts <= line.wage_paid_on:
        known = in_scope.get(line.employer_id)
        in_scope[line.employer_id] = line.wage_paid_on if known is None else min(known, line.wage_paid_on)
    else:
        in_scope.setdefault(line.employer_id, None)


def _quarantine_without_headcount(conn, run_id: int, lines: list) -> None:
    """Lines refused for want of their employer's headcount: quarantined, naming the employer (no person)."""
    insert_quarantine(conn, [
        {"run_id": run_id, "row_no": line.row_no, "payroll_id": line.payroll_id, "stage": "assess", "field": "employer_headcount",
         "rule": HEADCOUNT_MISSING,
         "message": f"employer {line.employer_vkn} ({line.employer_name})"[:300] + ": no headcount (Çalışan Sayısı) this month or "
                    "before, and whether it is in scope of automatic enrolment depends on it — add it to payroll and run the month again"}
        for line in lines
    ])  # fmt: skip
    if lines:
        log.warning("run %s: %d line(s) of %d employer(s) refused: no headcount to decide the employer's scope by", run_id, len(lines),
                    len({line.employer_id for line in lines}))  # fmt: skip


def _check_every_valid_line_decided(conn, run_id: int, decided: int) -> None:
    valid = conn.execute(
        sa.text(
            """
            SELECT COUNT(*) FROM payroll_lines p
            WHERE p.run_id = :run_id
              AND NOT EXISTS (SELECT 1 FROM quarantine q WHERE q.run_id = p.run_id AND q.row_no = p.row_no)
            """
        ),
        {"run_id": run_id},
    ).scalar_one()
    if valid != decided:
        # A valid line without an employee or contract record would end with no outcome at all.
        raise RuntimeError(
            f"run {run_id}: {valid - decided} of {valid} valid lines have no employee or contract record; "
            "run register_personnel (after validation) and load the contract master first"
        )


# The decisions of this transaction, before they are contributions (typed, so dates bind on SQLite).
_ASSESSED = sa.Table(
    "assessed_lines",
    sa.MetaData(),
    sa.Column("payroll_line_id", sa.Integer),
    sa.Column("employee_id", sa.Integer),
    sa.Column("contract_id", sa.Integer),
    sa.Column("enrolment_id", sa.Integer),
    sa.Column("period", sa.String(7)),
    sa.Column("payment_kind", sa.String(16)),
    sa.Column("outcome", sa.String(16)),
    sa.Column("reason", sa.String(120)),
    sa.Column("wage_paid_on", sa.Date),
    sa.Column("enrol", sa.Boolean),  # decide() asked for a new enrolment of this person and contract
    prefixes=["TEMPORARY"],
)
_ASSESSED_COLUMNS = tuple(c.name for c in _ASSESSED.columns)

# A pending enrolment for every person and contract decide() asked one for, starting on the earliest
# wage of the period.
_NEW_ENROLMENTS = sa.text(
    """
    INSERT INTO enrolments (employee_id, contract_id, state, state_since)
    SELECT a.employee_id, a.contract_id, 'pending', MIN(a.wage_paid_on)
    FROM assessed_lines a
    WHERE a.enrol
      AND NOT EXISTS (SELECT 1 FROM enrolments en WHERE en.employee_id = a.employee_id AND en.contract_id = a.contract_id)
    GROUP BY a.employee_id, a.contract_id
    """
)

_CONTRIBUTIONS = sa.text(
    """
    INSERT INTO contributions (run_id, payroll_line_id, employee_id, contract_id, enrolment_id, period, payment_kind, outcome, reason)
    SELECT :run_id, a.payroll_line_id, a.employee_id, a.contract_id, COALESCE(a.enrolment_id, en.id), a.period,
           a.payment_kind, a.outcome, a.reason
    FROM assessed_lines a
    LEFT JOIN enrolments en ON a.enrolment_id IS NULL AND en.employee_id = a.employee_id AND en.contract_id = a.contract_id
    """
)
