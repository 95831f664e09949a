"""What a monthly run leaves in the OKS store, by natural keys (VKN, TCKN, contract number, row number)
instead of the ids and clocks of one database: two runs of the same payroll — on different engines,
over different databases — leave equal contents.

Left out on purpose: surrogate ids, timestamps, and what the DES side numbers itself (its ids and the
policy numbers it hands out in the order the insurers answer): of those, only whether one was given —
so a payment request's content hash, which covers its items' policy numbers, is left out too; the
payments themselves are compared as DES holds them (:func:`des_payments`: totals, and every item's
TCKN and amount).
An enrolment's days follow the day it happened (its state's start: the insurer's notification and the
opt-out window count from there), so they are kept as days after that one, and that day as "the run's
day" when it is one of ``run_days`` (the days the runs took place: a run may cross midnight).
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import Iterable
from datetime import date
from pathlib import Path

import sqlalchemy as sa

from oks.privacy import redact
from oks.store.schema import (
    contracts,
    contributions,
    des_requests,
    employees,
    employers,
    enrolments,
    payment_obligations,
    payroll_lines,
    quarantine,
    runs,
)

PARTS = ("people", "enrolments", "outcomes", "quarantine", "obligations", "des_requests", "des_payments")


def _enrolment(row: sa.Row, run_days: frozenset[date]) -> tuple:
    since = row.state_since
    relative = {"first_contribution_on", "notified_on", "opt_out_window_ends_on", "paused_until", "left_on"}
    days = {k: (row._mapping[k] - since).days if since and row._mapping[k] else row._mapping[k] for k in relative}
    return tuple("the run's day" if k == "state_since" and v in run_days else days.get(k, v) for k, v in row._mapping.items())


def des_payments(simulator_db: Path, period: str) -> list[tuple]:
    """The period's payments as the DES simulator holds them: per payment its totals and state, and
    per item the person, the amount (kuruş) and its status."""
    with contextlib.closing(sqlite3.connect(f"file:{simulator_db}?mode=ro", uri=True)) as db:
        payments = db.execute(
            "SELECT contract_no, period, kind, wage_paid_on, state, item_count, total, accepted_total FROM payments WHERE period = ?",
            (period,),
        ).fetchall()
        items = db.execute(
            "SELECT p.contract_no, p.kind, i.tckn, i.amount, i.status FROM payment_items i JOIN payments p USING (payment_id) "
            "WHERE p.period = ?",
            (period,),
        ).fetchall()
    return [("payment", *row) for row in payments] + [("item", *row) for row in items]


def store_contents(engine: sa.Engine, period: str, *, simulator_db: Path, run_days: Iterable[date] = ()) -> dict[str, list[tuple]]:
    days = frozenset(run_days)
    with engine.connect() as conn:
        (run_id,) = conn.execute(sa.select(runs.c.id).where(runs.c.period == period, runs.c.dry_run.is_(False))).one()
        people = conn.execute(
            sa.select(employers.c.vkn, employees.c.tckn, employees.c.payroll_id, employees.c.first_name, employees.c.last_name,
                      employees.c.birth_date, employees.c.citizenship, employees.c.sgk_status, employees.c.hire_date,
                      employees.c.exit_date, employees.c.iban, employees.c.mobile, employees.c.email,
                      employees.c.has_oks_certificate, employees.c.voluntary)
            .join(employers, employers.c.id == employees.c.employer_id)
        ).all()  # fmt: skip
        enrolled = conn.execute(
            sa.select(employers.c.vkn, employees.c.tckn, contracts.c.contract_no, enrolments.c.state, enrolments.c.state_since,
                      enrolments.c.reason, enrolments.c.policy_no.is_not(None).label("has_policy_no"), enrolments.c.rate_override,
                      enrolments.c.amount_override, enrolments.c.borne_by_override, enrolments.c.first_contribution_on,
                      enrolments.c.notified_on, enrolments.c.opt_out_window_ends_on, enrolments.c.paused_until,
                      enrolments.c.left_on)
            .join(employees, employees.c.id == enrolments.c.employee_id)
            .join(employers, employers.c.id == employees.c.employer_id)
            .join(contracts, contracts.c.id == enrolments.c.contract_id)
        ).all()  # fmt: skip
        outcomes = conn.execute(
            sa.select(payroll_lines.c.row_no, payroll_lines.c.tckn, payroll_lines.c.contract_no, contributions.c.period,
                      contributions.c.payment_kind, contributions.c.outcome, contributions.c.reason, contributions.c.basis,
                      contributions.c.rate, contributions.c.amount)
            .join(payroll_lines, payroll_lines.c.id == contributions.c.payroll_line_id)
            .where(contributions.c.run_id == run_id)
        ).all()  # fmt: skip
        quarantined = conn.execute(
            sa.select(quarantine.c.row_no, quarantine.c.payroll_id, quarantine.c.stage, quarantine.c.field, quarantine.c.rule,
                      quarantine.c.message).where(quarantine.c.run_id == run_id)
        ).all()  # fmt: skip
        obligations = conn.execute(
            sa.select(contracts.c.contract_no, payment_obligations.c.period, payment_obligations.c.payment_kind,
                      payment_obligations.c.wage_paid_on, payment_obligations.c.amount, payment_obligations.c.due_on,
                      payment_obligations.c.cutoff, payment_obligations.c.state, payment_obligations.c.reference,
                      payment_obligations.c.collection_iban, payment_obligations.c.des_payment_id.is_not(None),
                      payment_obligations.c.confirmed_by)
            .join(contracts, contracts.c.id == payment_obligations.c.contract_id)
            .where(payment_obligations.c.period == period)
        ).all()  # fmt: skip
        requests = conn.execute(
            sa.select(des_requests.c.kind, des_requests.c.contract_no, des_requests.c.period, des_requests.c.payment_kind,
                      sa.case((des_requests.c.kind.like("payment%"), None), else_=des_requests.c.content_hash), des_requests.c.state, des_requests.c.des_id.is_not(None),
                      des_requests.c.last_error)
            .where(des_requests.c.period == period)
        ).all()  # fmt: skip
    enrolled = [_enrolment(row, days) for row in enrolled]
    parts = (people, enrolled, outcomes, quarantined, obligations, requests, des_payments(simulator_db, period))
    return {name: sorted((tuple(row) for row in rows), key=repr) for name, rows in zip(PARTS, parts, strict=True)}


def differences(left: dict[str, list[tuple]], right: dict[str, list[tuple]], limit: int = 5) -> dict[str, dict]:
    """Per part, the rows only one side has (a few of each): empty when the contents are equal."""
    out = {}
    for part in PARTS:
        a, b = set(left[part]), set(right[part])
        if a != b:
            out[part] = {"only_left": sorted(a - b, key=repr)[:limit], "only_right": sorted(b - a, key=repr)[:limit]}
    return out


def describe(diff: dict[str, dict], *contents: dict[str, list[tuple]]) -> str:
    """The differences as text for a failure message, personal data masked (KVKK holds for test
    output too): identifiers by shape, and the names of the people in ``contents``."""
    names = {row[i] for content in contents for row in content["people"] for i in (3, 4) if row[i]}
    return redact(json.dumps(diff, default=str, indent=1, ensure_ascii=False), limit=20_000, known=names)
