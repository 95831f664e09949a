"""Every period, every day: the monthly steps for each month from 2025-01 to 2027-12.

Each month gets a generated payroll whose contracts are paid on days that test the calendar — the
month's last day as it falls (often a weekend), a Saturday or Sunday, a bayram or other official
holiday, the eve of a half day, New Year's Eve and the first Monday of January — and runs the steps the
DAG runs, on its own store, against the DES simulator. What must hold in every month:

- every row read ends with one outcome, and the accounting reconciles with what DES holds;
- the PEK-limit check is performed exactly when the period's year is on file, and otherwise reported as
  *not performed* (with the missing file) in the validation result and the report — never borrowed;
- every contribution is the statutory rate of PEK (or its override), kuruş dropped;
- every obligation is due on the first business day after its wage day, with the 12:00 cut-off on a
  half day — across weekends, bayrams and the year end.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import ROUND_DOWN, Decimal

import pytest
import sqlalchemy as sa

from oks.des.client import DesClient
from oks.des.ledger import Ledger
from oks.des.models import WsCredentials
from oks.payroll.sources import open_contract_master, open_source
from oks.payroll.synthetic import generate
from oks.payroll.synthetic_plan import WAGE_DAY_GRACE, Period
from oks.pipeline.assess import assess_eligibility
from oks.pipeline.contribute import compute_contributions
from oks.pipeline.extract import extract_payroll, register_personnel
from oks.pipeline.obligations import record_payment_obligations
from oks.pipeline.reconcile import reconcile_run
from oks.pipeline.report import publish_report
from oks.pipeline.status_sync import sync_insurer_status
from oks.pipeline.submission import (
    contracts_with_work,
    record_payment_results,
    record_personnel_results,
    register_contracts,
    submit_payments,
    submit_personnel,
)
from oks.pipeline.validate import validate_personnel
from oks.rules.calendar import HALF_DAY_CUTOFF, holiday_name, is_business_day, is_half_day, payment_deadline
from oks.rules.parameters import available_years
from oks.rules.statutory_rate import statutory_rate_for
from oks.store import open_store
from oks.store.schema import contracts, contributions, payment_obligations, payroll_lines, runs
from tests.des.simulator import fast_settings
from tests.pipeline.des_steps import wait

PERIODS = [f"{year}-{month:02d}" for year in (2025, 2026, 2027) for month in range(1, 13)]
def credentials(contract_no: str, insurer: str) -> WsCredentials:
    extra = {"client_id": "c", "client_secret": "s"} if insurer == "ANADOLU" else {}
    return WsCredentials(user="oks", password="secret", **extra)


def wage_days_for(period: Period) -> list[date]:
    """Pay days that exercise the calendar, all inside the days validation accepts for the period."""
    latest = period.end + WAGE_DAY_GRACE
    window = [period.start + timedelta(days=n) for n in range((latest - period.start).days + 1)]
    days = [period.end]  # as it falls: a weekend, a holiday or 31 December
    days.append(next(d for d in window if d >= period.start.replace(day=25) and d.weekday() >= 5))  # a Saturday or Sunday
    holidays = [d for d in window if holiday_name(d) and not is_business_day(d)]
    # a bayram's second day (its first follows the arife) — else any other official holiday
    bayram = [d for d in holidays if is_half_day(d - timedelta(days=2)) and d - timedelta(days=1) in holidays]
    if bayram or holidays:
        days.append((bayram or holidays)[0])
    half = next((d for d in window if is_half_day(d) and d - timedelta(days=1) >= period.start), None)
    if half:
        days.append(half - timedelta(days=1))  # paid the day before an arife: due on a half day by 12:00
    if period.month == 12:
        days.append(next(d for d in window if d.year > period.year and d.weekday() == 0))  # first Monday of January
    return list(dict.fromkeys(days))


def test_the_wage_days_cover_the_awkward_calendar():
    days = {d for p in PERIODS for d in wage_days_for(Period.parse(p))}
    assert {date(2026, 12, 31), date(2027, 1, 4), date(2025, 12, 31), date(2028, 1, 3)} <= days  # year ends
    assert {date(2026, 3, 21), date(2026, 5, 28), date(2027, 3, 10), date(2027, 5, 17)} <= days  # Ramazan and Kurban bayrams
    assert any(d.weekday() >= 5 for d in days) and any(is_half_day(d + timedelta(days=1)) for d in days)


def run_the_month(engine, gateway, sim, manifest, period, tmp_path) -> int:
    """The steps in the order the DAG runs them, each as its task calls it."""
    run_id = extract_payroll(engine, run_key=f"{period}:all", period=period, source=open_source(manifest.payroll),
                             contracts_source=open_contract_master(manifest.contracts))["run_id"]  # fmt: skip
    validate_personnel(engine, run_id, data_docs_dir=tmp_path / "docs")
    register_personnel(engine, run_id)
    sync_insurer_status(engine, gateway)
    assess_eligibility(engine, run_id)
    compute_contributions(engine, run_id)
    numbers = contracts_with_work(engine, run_id)
    register_contracts(engine, gateway, run_id, numbers, credentials_for=credentials)
    for contract_no in numbers:
        list_id = submit_personnel(engine, gateway, run_id, contract_no)["list_id"]
        if list_id:
            wait(lambda list_id=list_id: gateway.read_personnel_results(list_id, limit=1).state, lambda s: s == "COMPLETED")
            record_personnel_results(engine, gateway, run_id, contract_no, list_id)
        ids = {}
        for kind, payment in submit_payments(engine, gateway, run_id, contract_no)["payments"].items():
            wait(lambda payment=payment: gateway.read_payment(payment["payment_id"], limit=1).state, lambda s: s in ("TRANSFERRED", "REJECTED"))
            record_payment_results(engine, gateway, run_id, contract_no, payment["payment_id"])
            ids[f"{contract_no}/{kind}"] = payment["payment_id"]
        record_payment_obligations(engine, run_id, contract_no=contract_no, des_payment_ids=ids)
    assert reconcile_run(engine, run_id, gateway=gateway)["problems"] == 0
    publish_report(engine, run_id, out_dir=tmp_path / "report")
    return run_id


def outcome_of(engine, run_id) -> dict:
    """What a run decided, in a form both databases must give alike."""
    with engine.connect() as conn:
        lines = conn.execute(
            sa.select(payroll_lines.c.row_no, payroll_lines.c.pek, payroll_lines.c.rate_override, payroll_lines.c.amount_override,
                      contracts.c.rate, contracts.c.fixed_amount, contributions.c.outcome, contributions.c.amount,
                      contributions.c.rate.label("applied_rate"))
            .join(contributions, contributions.c.payroll_line_id == payroll_lines.c.id)
            .join(contracts, contracts.c.id == contributions.c.contract_id)
            .where(payroll_lines.c.run_id == run_id)
        ).all()  # fmt: skip
        obligations = conn.execute(sa.select(payment_obligations).where(payment_obligations.c.run_id == run_id)).all()
        summary = conn.execute(sa.select(runs.c.summary).where(runs.c.id == run_id)).scalar_one()
    return {"lines": lines, "obligations": obligations, "summary": summary}


def check_the_month(period: str, manifest, decided: dict, report_html: str) -> None:
    year = int(period[:4])
    limits = decided["summary"]["validate"]["pek_limits"]
    if year in available_years():
        assert limits["checked"] and limits["file"] == f"{year}.toml"
        assert f"PEK limits checked against {year}.toml" in report_html
    else:
        assert limits["checked"] is False and limits["missing_file"].endswith(f"/{year}.toml")
        assert "PEK limits NOT CHECKED" in report_html and limits["missing_file"] in report_html
        assert "pek" not in decided["summary"]["validate"]["warnings"]  # nothing checked, nothing borrowed

    statutory = statutory_rate_for(date(year, int(period[5:]), 1)).rate
    contributed = [line for line in decided["lines"] if line.outcome == "contributed"]
    assert contributed, f"{period}: nobody contributed"
    for line in contributed:
        expected_rate = line.rate_override or (None if line.amount_override else line.rate) or statutory
        if line.amount_override is None and line.fixed_amount is None:
            assert line.amount == (line.pek * expected_rate).quantize(Decimal("1"), rounding=ROUND_DOWN), (period, line.row_no)
        assert line.amount >= (line.pek * statutory).quantize(Decimal("1"), rounding=ROUND_DOWN)  # never short

    wage_days = set(wage_days_for(Period.parse(period)))
    assert decided["obligations"]
    for obligation in decided["obligations"]:
        deadline = payment_deadline(obligation.wage_paid_on)
        assert (obligation.due_on, obligation.cutoff) == (deadline.due_on, deadline.cutoff), (period, obligation.wage_paid_on)
        assert obligation.due_on > obligation.wage_paid_on and is_business_day(obligation.due_on)
        assert all(not is_business_day(d) for d in (obligation.wage_paid_on + timedelta(days=n) for n in range(1, (obligation.due_on - obligation.wage_paid_on).days)))
        assert (obligation.cutoff == HALF_DAY_CUTOFF) == is_half_day(obligation.due_on)
    regular_days = {o.wage_paid_on for o in decided["obligations"] if o.payment_kind == "regular"}
    assert regular_days <= wage_days and regular_days, (period, regular_days)


def _month(period, engine, sim, tmp_path):
    days = wage_days_for(Period.parse(period))
    manifest = generate(tmp_path / "payroll", employers=len(days) + 1, employees=70, period=period, seed=int(period.replace("-", "")),
                        fmt="csv", wage_days=days, defect_share=0.04, identity_mismatch_share=0.02)  # fmt: skip
    sim.load_register(manifest.identity_register)
    with DesClient(fast_settings(sim.url), ledger=Ledger(engine)) as gateway:
        run_id = run_the_month(engine, gateway, sim, manifest, period, tmp_path)
    return manifest, run_id


@pytest.mark.parametrize("period", PERIODS)
def test_every_period_runs_and_keeps_the_rules(period, sim, tmp_path):
    sim.settings(insurer_delay=0, transfer_delay=0)
    engine = open_store(f"sqlite:///{tmp_path / 'store.sqlite'}")
    try:
        manifest, run_id = _month(period, engine, sim, tmp_path)
        check_the_month(period, manifest, outcome_of(engine, run_id), (tmp_path / "report" / "report.html").read_text(encoding="utf-8"))
    finally:
        engine.dispose()


# PostgreSQL, production's store, decides the same as SQLite: the turn of the year, a bayram month,
# and a year not yet on file.
@pytest.mark.postgres
@pytest.mark.parametrize("period", ["2026-12", "2027-01", "2027-03"])
def test_postgresql_decides_every_period_as_sqlite_does(period, sim, postgres_schema_url, tmp_path):
    sim.settings(insurer_delay=0, transfer_delay=0)
    decided = {}
    for name, url in (("sqlite", f"sqlite:///{tmp_path / 'store.sqlite'}"), ("postgresql", postgres_schema_url)):
        sim.reset()
        sim.settings(insurer_delay=0, transfer_delay=0)
        engine = open_store(url)
        try:
            _, run_id = _month(period, engine, sim, tmp_path / name)
            got = outcome_of(engine, run_id)
        finally:
            engine.dispose()
        decided[name] = (
            sorted((line.row_no, line.outcome, line.amount) for line in got["lines"]),
            sorted((o.payment_kind, o.wage_paid_on, o.amount, o.due_on, o.cutoff) for o in got["obligations"]),
            got["summary"]["validate"]["pek_limits"],
        )
    assert decided["sqlite"] == decided["postgresql"]
