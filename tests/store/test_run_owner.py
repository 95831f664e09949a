"""One run of a period (and employer set) at a time, whatever starts it — on SQLite and PostgreSQL."""

from __future__ import annotations

import multiprocessing
import subprocess
import sys
import time

import pytest
import sqlalchemy as sa

from oks.store.schema import runs
from oks.store.snapshot import RunBusy, ensure_owner, fail_run, finish_run, release_run, start_run


def claim(store, owner, run_key="2026-12:all"):
    with store.begin() as conn:
        return start_run(conn, run_key=run_key, period="2026-12", owner=owner)


def state_of(store, run_id):
    with store.connect() as conn:
        return conn.execute(sa.select(runs.c.state, runs.c.owner, runs.c.summary).where(runs.c.id == run_id)).one()


def test_a_running_period_is_refused_to_another_owner_and_kept_for_its_own(store):
    run_id = claim(store, "manual__A")
    with pytest.raises(RunBusy, match=r"period 2026-12 \(run 2026-12:all\) is already being run by manual__A since .*\(Istanbul\)"):
        claim(store, "manual__B")
    with pytest.raises(RunBusy, match="oks release-run 2026-12:all"):
        claim(store, None)  # nor by someone who does not say who they are
    assert claim(store, "manual__A") == run_id  # a retry or a cleared task of the same run goes on
    with store.begin() as conn:
        finish_run(conn, run_id, state="reconciled")
    assert claim(store, "manual__B") == run_id  # once it finished, the next run of the period may start
    assert state_of(store, run_id).owner == "manual__B"


def test_the_refused_run_cannot_fail_the_one_that_runs(store):
    run_id = claim(store, "manual__A")
    with store.begin() as conn:
        assert fail_run(conn, "2026-12:all", {"task": "extract_payroll", "error": "RunBusy"}, owner="manual__B") is False
    assert state_of(store, run_id).state == "running"
    with store.begin() as conn:
        assert fail_run(conn, "2026-12:all", {"task": "validate_personnel", "error": "x"}, owner="manual__A") is True
    assert state_of(store, run_id).state == "failed"


def test_a_dead_owner_is_released_by_a_person_and_its_steps_stop(store):
    run_id = claim(store, "manual__A")
    with store.begin() as conn:
        assert release_run(conn, "2026-12:all", by="ops: A was killed") is True
        assert release_run(conn, "2026-12:all", by="again") is False
    state, owner, summary = state_of(store, run_id)
    assert (state, summary["failure"]["error"], summary["failure"]["owner"]) == ("failed", "released by ops: A was killed", "manual__A")
    claim(store, "manual__B")
    with store.begin() as conn, pytest.raises(RunBusy, match="now belongs to manual__B: manual__A was released and stops here"):
        ensure_owner(conn, run_id, "manual__A")
    with store.begin() as conn:
        ensure_owner(conn, run_id, "manual__B")
        ensure_owner(conn, run_id, None)


def test_other_periods_and_employer_sets_run_side_by_side(store):
    a = claim(store, "manual__A")
    b = claim(store, "manual__B", run_key="2026-12:1234567890")
    assert a != b


def _extract(url, owner, barrier, rows_csv, contracts_csv, results):
    from oks.payroll.sources import CsvSource, open_contract_master
    from oks.pipeline.extract import extract_payroll
    from oks.store import open_store

    engine = open_store(url, upgrade=False)
    barrier.wait()
    try:
        summary = extract_payroll(engine, run_key="2026-10:all", period="2026-10", source=CsvSource(rows_csv),
                                  contracts_source=open_contract_master(contracts_csv), owner=owner)  # fmt: skip
        results.put((owner, "ok", summary["lines"]))
    except RunBusy as exc:
        results.put((owner, "busy", str(exc)))
    except Exception as exc:  # noqa: BLE001 - reported to the test
        results.put((owner, "error", f"{type(exc).__name__}: {exc}"))
    finally:
        engine.dispose()


@pytest.mark.parametrize("before", ["new period", "re-run of a finished period"])
def test_two_runs_started_at_the_same_moment_one_runs_the_other_is_refused(store, database_url, tmp_path, before):
    from tests.payroll_files import contract, person, write_contracts_csv, write_csv

    if before != "new period":
        with store.begin() as conn:
            finish_run(conn, start_run(conn, run_key="2026-10:all", period="2026-10", owner="run-0"), state="reconciled")
    rows = write_csv(tmp_path / "bordro.csv", [person(n) for n in range(1, 301)])
    master = write_contracts_csv(tmp_path / "contracts.csv", [contract()])
    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(2), context.Queue()
    workers = [context.Process(target=_extract, args=(database_url, owner, barrier, rows, master, results)) for owner in ("run-A", "run-B")]
    for worker in workers:
        worker.start()
    outcomes = sorted(results.get(timeout=120) for _ in workers)
    for worker in workers:
        worker.join(30)
    kinds = sorted(kind for _, kind, _ in outcomes)
    assert kinds == ["busy", "ok"], outcomes
    (winner, _, lines), = [o for o in outcomes if o[1] == "ok"]
    (_, _, refused), = [o for o in outcomes if o[1] == "busy"]
    assert lines == 300 and f"already being run by {winner}" in refused
    with store.connect() as conn:
        assert conn.execute(sa.text("SELECT COUNT(*) FROM payroll_lines")).scalar_one() == 300  # the winner's snapshot, whole


def test_one_oks_run_month_per_home(tmp_path):
    from oks.orchestration.local_run import HomeBusy, home_lock

    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time, pathlib; from oks.orchestration.local_run import home_lock\n"
         "with home_lock(pathlib.Path(sys.argv[1])):\n    print('held', flush=True); time.sleep(60)", str(tmp_path)],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(HomeBusy, match=rf"another `oks run-month` \(pid {holder.pid}\) is running with the OKS home"):
            with home_lock(tmp_path):
                pass
    finally:
        holder.kill()
        holder.wait(10)
    deadline = time.monotonic() + 10
    while True:  # the kernel drops a killed holder's lock
        try:
            with home_lock(tmp_path):
                break
        except HomeBusy:
            assert time.monotonic() < deadline
            time.sleep(0.1)
