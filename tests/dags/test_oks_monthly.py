"""``oks_monthly`` end to end with ``dag.test()`` against the real simulator.

A clean month; a month with defects and insurer rejections and bonuses; the same month again (no
second payment, same totals); the next month after opt-outs at the insurer. Each run's accounting
invariant is checked again at the end, against what DES holds.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
from collections import Counter
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa

from oks.orchestration.airflow_api import AirflowApi
from oks.orchestration.des_hook import DesHook
from oks.orchestration.local_run import BankStatementJob, run_monthly, summarize
from oks.orchestration.resources import store_engine
from oks.payroll.synthetic import generate
from oks.pipeline.reconcile import reconcile_run
from oks.store.schema import (
    contracts,
    contributions,
    employees,
    enrolments,
    payment_obligations,
    payroll_lines,
    quarantine,
)

REPO = Path(__file__).resolve().parents[2]


def run(local_airflow, conf) -> str:
    with BankStatementJob(AirflowApi(local_airflow), interval=0.3):
        return run_monthly(REPO / "dags", conf).state


def reconciles(period: str) -> dict:
    result = summarize(period, "checked")
    with DesHook().get_client() as gateway:
        return reconcile_run(store_engine(), result.run_id, gateway=gateway)


def payroll(tmp_path, period, **options):
    manifest = generate(tmp_path / period, period=period, fmt="csv", **options)
    return manifest


def test_a_clean_month(des, local_airflow, tmp_path):
    manifest = payroll(tmp_path, "2026-09", employers=2, employees=40, seed=3, defect_share=0, identity_mismatch_share=0)
    des.load_register(manifest.identity_register)
    state = run(local_airflow, {"period": "2026-09", "payroll_source": str(manifest.payroll.parent)})
    assert state.endswith("success")

    result = summarize("2026-09", state)
    outcomes = result.summary["outcomes"]
    assert sum(outcomes.values()) == manifest.rows and outcomes.get("rejected", 0) == 0
    assert result.summary["quarantined_rows"] == {}
    # Every approval answered: paid — or late, when this machine's day is past the month's deadlines (on record, not lost).
    assert {o[-1] for o in result.summary["obligations"]} <= {"paid", "late"} and result.summary["obligations"]
    # every payment instruction reached operations (the outbox channel is always on), once
    outbox = [json.loads(line) for line in (Path(os.environ["OKS_HOME"]) / "alerts" / "outbox.jsonl").read_text().splitlines()]
    instructions = [a for a in outbox if a["subject"].startswith("[OKS PAY]")]
    assert len(instructions) == len(result.summary["obligations"])
    assert all("reference \"OKS " in a["text"] and "TL to" in a["text"] for a in instructions)
    assert reconciles("2026-09")["problems"] == 0
    regular = [p for p in des.state()["payments"] if p["period"] == "2026-09" and p["kind"] == "REGULAR"]
    assert len(regular) == len({p["contract_no"] for p in regular})  # one REGULAR payment per contract


def _next_month(manifest, folder: Path, period: str) -> Path:
    """The same people a month later: the payroll export with a new period and wage days."""
    folder.mkdir(parents=True)
    shutil.copy(manifest.contracts, folder / "contracts.csv")
    year, month = period.split("-")
    with open(manifest.payroll, encoding="utf-8-sig", newline="") as src, open(folder / "payroll.csv", "w", encoding="utf-8-sig", newline="") as dst:
        reader, writer = csv.reader(src, delimiter=";"), csv.writer(dst, delimiter=";")
        header = next(reader)
        writer.writerow(header)
        period_col, wage_col = header.index("Dönem"), header.index("Ücret Ödeme Tarihi")
        for row in reader:
            row[period_col] = f"{year}/{month}"
            day = row[wage_col].split(".")[0] if row[wage_col].count(".") == 2 else "28"
            row[wage_col] = f"{min(int(day), 28):02d}.{month}.{year}" if day.isdigit() else row[wage_col]
            writer.writerow(row)
    return folder


def test_defects_rejections_bonuses_rerun_and_opt_outs(des, local_airflow, tmp_path):
    manifest = payroll(tmp_path, "2026-10", employers=3, employees=120, seed=7, defect_share=0.05, identity_mismatch_share=0.04)
    des.load_register(manifest.identity_register)
    conf = {"period": "2026-10", "payroll_source": str(manifest.payroll.parent), "des_batch_size": 2}
    assert run(local_airflow, conf).endswith("success")

    engine = store_engine()
    with open(manifest.defects, encoding="utf-8") as fh:
        planted = list(csv.DictReader(fh))
    caught_by_us = {int(d["row_no"]) for d in planted if d["defect"] != "identity_mismatch"}
    mismatched = {d["payroll_id"] for d in planted if d["defect"] == "identity_mismatch"}
    with engine.connect() as conn:
        quarantined = set(conn.execute(sa.select(quarantine.c.row_no).where(quarantine.c.stage.in_(["extract", "validate"]))).scalars())
        rejected = set(conn.execute(
            sa.select(payroll_lines.c.payroll_id).join(contributions, contributions.c.payroll_line_id == payroll_lines.c.id)
            .where(contributions.c.outcome == "rejected")
        ).scalars())  # fmt: skip
        first_obligations = dict(conn.execute(sa.select(payment_obligations.c.id, payment_obligations.c.amount)).all())
    assert quarantined == caught_by_us  # every planted defect, and nothing clean
    assert rejected and rejected <= mismatched  # the insurer rejects exactly people whose identity differs
    kinds = Counter(p["kind"] for p in des.state()["payments"] if p["period"] == "2026-10")
    assert kinds["SUPPLEMENTARY"] >= 1 and kinds["REGULAR"] >= 1  # bonuses paid beside the regular payment
    assert reconciles("2026-10")["problems"] == 0

    # The same month again: no second list for answered people, no second payment, same totals.
    payments_before = des.state()["payments"]
    assert run(local_airflow, conf).endswith("success")
    assert des.state()["payments"] == payments_before
    with engine.connect() as conn:
        assert dict(conn.execute(sa.select(payment_obligations.c.id, payment_obligations.c.amount)).all()) == first_obligations
    assert reconciles("2026-10")["problems"] == 0

    # Two enrolled people opt out directly with the insurer; November deducts nothing for them.
    october_contracts = {p["contract_no"] for p in des.state()["payments"] if p["period"] == "2026-10"}
    with engine.connect() as conn:
        leavers = conn.execute(
            sa.select(employees.c.tckn, employees.c.payroll_id, enrolments.c.contract_id)
            .join(enrolments, enrolments.c.employee_id == employees.c.id)
            .join(contracts, contracts.c.id == enrolments.c.contract_id)
            .where(enrolments.c.state == "enrolled", contracts.c.contract_no.in_(october_contracts))
            .order_by(employees.c.id).limit(2)
        ).all()  # fmt: skip
        contract_nos = dict(conn.execute(sa.text("SELECT id, contract_no FROM contracts")).all())
    for tckn, _, contract_id in leavers:
        des.event(contract_nos[contract_id], "OPTED_OUT", tckn, effective_on="2026-11-05", notified_on="2026-11-05")
    november = _next_month(manifest, tmp_path / "2026-11", "2026-11")
    assert run(local_airflow, {"period": "2026-11", "payroll_source": str(november), "des_batch_size": 2}).endswith("success")
    with engine.connect() as conn:
        november_outcomes = dict(conn.execute(
            sa.select(payroll_lines.c.tckn, contributions.c.outcome)
            .join(contributions, contributions.c.payroll_line_id == payroll_lines.c.id)
            .where(payroll_lines.c.period == "2026-11", payroll_lines.c.payment_kind == "regular")
        ).all())  # fmt: skip
    assert {november_outcomes[tckn] for tckn, _, _ in leavers} == {"inactive"}
    assert reconciles("2026-11")["problems"] == 0
    assert sum(Decimal(p["total"]) for p in des.state()["payments"] if p["period"] == "2026-11") > 0


def test_a_failed_run_names_its_task_and_error_first_and_shows_only_what_it_reached(des, local_airflow, tmp_path, monkeypatch, capsys):
    from oks.orchestration.local_run import print_summary
    from oks.pipeline import contribute
    from oks.store.schema import runs

    manifest = payroll(tmp_path, "2026-08", employers=2, employees=30, seed=4, defect_share=0, identity_mismatch_share=0)
    des.load_register(manifest.identity_register)

    def broken(*args, **kwargs):
        raise RuntimeError("disk full while computing")

    monkeypatch.setattr(contribute, "compute_contributions", broken)
    with BankStatementJob(AirflowApi(local_airflow), interval=0.3):
        dag_run = run_monthly(REPO / "dags", {"period": "2026-08", "payroll_source": str(manifest.payroll.parent)})
    assert dag_run.state == "failed" and dag_run.failed() == ["compute_contributions"]
    assert dag_run.succeeded("extract_payroll", "validate_personnel", "assess_eligibility")

    result = summarize("2026-08", dag_run)
    capsys.readouterr()  # Airflow's own log lines
    print_summary(result)
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].startswith("OKS monthly run 2026-08: FAILED")
    assert lines[1].split() == ["failed", "task", "compute_contributions"]
    assert lines[2].split(None, 1) == ["error", "RuntimeError: disk full while computing"]
    text = "\n".join(lines)
    assert f"payroll rows read        {manifest.rows}" in text and "PEK limits checked against 2026.toml" in text
    for unreached in ("contributed ", "contributions per insurer", "0.00 TL", "  report "):
        assert unreached not in text
    assert "payments to the insurers: none recorded" in text and "not reached: outcomes, rejected, per insurer, report" in text
    with store_engine().connect() as conn:
        state, summary = conn.execute(sa.select(runs.c.state, runs.c.summary).where(runs.c.id == result.run_id)).one()
    assert state == "failed" and summary["failure"]["task"] == "compute_contributions"
    assert summary["failure"]["error"] == "RuntimeError: disk full while computing"


def test_payroll_of_another_month_fails_saying_which_month_it_holds(des, local_airflow, tmp_path, capsys):
    from oks.orchestration.local_run import print_summary

    manifest = payroll(tmp_path, "2026-07", employers=2, employees=20, seed=5, defect_share=0, identity_mismatch_share=0)
    dag_run = run_monthly(REPO / "dags", {"period": "2026-06", "payroll_source": str(manifest.payroll.parent)})
    assert dag_run.failed() == ["extract_payroll"]
    capsys.readouterr()
    print_summary(summarize("2026-06", dag_run))
    out = capsys.readouterr().out
    assert "failed task   extract_payroll" in out
    assert f"{manifest.rows} rows read, none for period 2026-06: {manifest.rows} rows are of another period ({manifest.rows} for 2026-07)" in out
    assert "empty extract" not in out and "contributed" not in out


def test_a_second_run_of_a_period_being_run_is_refused_and_leaves_the_first_alone(des, local_airflow, tmp_path, capsys):
    from oks.orchestration.local_run import print_summary
    from oks.store.schema import runs
    from oks.store.snapshot import start_run

    manifest = payroll(tmp_path, "2026-04", employers=1, employees=10, seed=6, defect_share=0, identity_mismatch_share=0)
    with store_engine().begin() as conn:  # another deployment's run of April holds the period
        first = start_run(conn, run_key="2026-04:all", period="2026-04", owner="manual__other-airflow-home")
    dag_run = run_monthly(REPO / "dags", {"period": "2026-04", "payroll_source": str(manifest.payroll.parent)})
    assert dag_run.failed() == ["extract_payroll"]
    capsys.readouterr()
    print_summary(summarize("2026-04", dag_run))
    out = capsys.readouterr().out
    assert "failed task   extract_payroll" in out
    assert "the period is held by manual__other-airflow-home (store run #" in out and "oks release-run" in out
    assert "payroll rows read" not in out
    with store_engine().connect() as conn:
        state, owner, summary = conn.execute(sa.select(runs.c.state, runs.c.owner, runs.c.summary).where(runs.c.id == first)).one()
    assert (state, owner, summary) == ("running", "manual__other-airflow-home", None)  # untouched


def test_a_rejected_transfer_leaves_the_obligation_due_and_paging_and_the_run_failed_in_both(des, local_airflow, tmp_path):
    from oks.store.schema import runs
    from tests.hitl_responder import Responder, request_of

    manifest = payroll(tmp_path, "2026-03", employers=1, employees=12, seed=8, defect_share=0, identity_mismatch_share=0)
    des.load_register(manifest.identity_register)
    api, rejected = AirflowApi(local_airflow), []

    def operations_say_not_made(detail: dict) -> None:
        api.answer(request_of(detail), "Reject", {"amount": "", "bank_reference": ""})
        rejected.append(detail["subject"])

    with Responder(api, "confirm_bank_transfer", operations_say_not_made):
        dag_run = run_monthly(REPO / "dags", {"period": "2026-03", "payroll_source": str(manifest.payroll.parent)})
    assert dag_run.state == "failed" and rejected
    assert {t.split("[")[0] for t in dag_run.failed()} == {"confirm_bank_transfer"}
    result = summarize("2026-03", "checked")
    with store_engine().connect() as conn:
        state, summary = conn.execute(sa.select(runs.c.state, runs.c.summary).where(runs.c.id == result.run_id)).one()
        obligations = conn.execute(sa.select(payment_obligations.c.id, payment_obligations.c.state)
                                   .where(payment_obligations.c.run_id == result.run_id)).all()  # fmt: skip
    assert state == "failed" and summary["failure"]["task"].startswith("confirm_bank_transfer")
    assert summary["reconcile"]["problems"] == []  # the accounts still add up: only the money did not go
    assert {o.state for o in obligations} == {"due"}  # still owed: the deadline watch keeps paging
    outbox = (Path(os.environ["OKS_HOME"]) / "alerts" / "outbox.jsonl").read_text(encoding="utf-8")
    assert "transfer reported NOT made" in outbox


def test_a_month_through_des_and_through_an_insurers_files_in_one_run(des, local_airflow, tmp_path):
    """One contract's insurer takes uploads, not DES: its files go to the outbox by its profile and wait
    for operations to confirm the upload (answered here through the REST API, as a person would in the
    UI); every other contract goes through DES; the run reconciles per contract across channels."""
    import threading

    from oks.channels.files import read_file
    from oks.channels.profiles import load_profile
    from oks.store.schema import des_requests

    manifest = payroll(tmp_path, "2026-08", employers=2, employees=40, seed=11, defect_share=0, identity_mismatch_share=0)
    des.load_register(manifest.identity_register)
    with open(manifest.contracts, encoding="utf-8-sig", newline="") as fh:
        table = list(csv.reader(fh, delimiter=";"))
    insurer, number = table[0].index("Şirket"), table[0].index("Sözleşme No")
    table[1][insurer] = "VAKIF"
    by_file = table[1][number]
    with open(manifest.contracts, "w", encoding="utf-8-sig", newline="") as fh:
        csv.writer(fh, delimiter=";").writerows(table)

    api, uploaded, stop = AirflowApi(local_airflow), [], threading.Event()

    def operations():  # uploads the files, then approves, as operations would
        while not stop.wait(0.3):
            try:
                for pending in api.pending_uploads():
                    api.answer(pending)
                    uploaded.append(pending.contract_no)
            except Exception:  # noqa: BLE001 - polls again, like a person looking again
                pass

    worker = threading.Thread(target=operations, daemon=True)
    worker.start()
    try:
        state = run(local_airflow, {"period": "2026-08", "payroll_source": str(manifest.payroll.parent)})
    finally:
        stop.set()
        worker.join(5)
    assert state.endswith("success")
    assert uploaded == [by_file]

    paid_by_des = {p["contract_no"] for p in des.state()["payments"] if p["period"] == "2026-08"}
    assert by_file not in paid_by_des and paid_by_des  # the other contracts went through DES
    folder = Path(os.environ["OKS_HOME"]) / "outbox" / by_file / "2026-08"
    paid = read_file(folder / f"VAKIF_{by_file}_2026-08_contribution.xlsx", load_profile("VAKIF"), "contribution")
    engine = store_engine()
    with engine.connect() as conn:
        owed = conn.execute(
            sa.select(sa.func.sum(payment_obligations.c.amount)).join(contracts, contracts.c.id == payment_obligations.c.contract_id)
            .where(contracts.c.contract_no == by_file, payment_obligations.c.period == "2026-08", payment_obligations.c.payment_kind == "regular")
        ).scalar_one()  # fmt: skip
        files = conn.execute(sa.select(des_requests.c.kind, des_requests.c.state).where(des_requests.c.contract_no == by_file)).all()
    assert sum(p["amount"] for p in paid) == Decimal(owed) > 0
    assert {state for _, state in files} == {"sent"} and {kind for kind, _ in files} >= {"file_payment", "file_personnel_list"}
    result = summarize("2026-08", "checked")
    with DesHook().get_client() as gateway:
        assert reconcile_run(engine, result.run_id, gateway=gateway, outbox=Path(os.environ["OKS_HOME"]) / "outbox")["problems"] == 0
