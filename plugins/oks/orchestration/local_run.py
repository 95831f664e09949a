"""One monthly run on the embedded default — what ``make run`` does, and what the DAG tests drive.

Everything a production deployment has, on one machine and in one process tree:

- the store: the embedded SQLite file under ``$OKS_HOME``; Airflow's metadata in ``$AIRFLOW_HOME``;
- payroll: a synthetic Turkish payroll with known defects (``oks demo-data``), as CSV exports;
- DES: the simulator on loopback with short insurer delays, its identity register loaded;
- Airflow: ``oks_monthly`` run by ``dag.test()`` (tasks in-process, deferrable sensors' triggers
  inline), with an api-server on loopback so the human-in-the-loop approvals can be answered;
- operations: a bank-statement job that answers each ``confirm_bank_transfer`` exactly as
  ``oks confirm-payment`` does (``confirm_payment_and_approve``) — store first, then the REST API.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import socket
import textwrap
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from oks.orchestration.airflow_api import confirm_payment_and_approve
from oks.orchestration.monthly import MAX_MAP_LENGTH

log = logging.getLogger(__name__)

DEMO_WS = {"conn_type": "generic", "login": "oks-demo", "password": "oks-demo-ws",
           "extra": {"client_id": "oks-demo", "client_secret": "oks-demo-secret"}}  # fmt: skip


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def configure_local_airflow(airflow_home: Path, dags_folder: Path) -> None:
    """Environment for a one-machine Airflow: set before Airflow is first imported."""
    airflow_home.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("AIRFLOW_HOME", str(airflow_home))
    os.environ.setdefault("AIRFLOW__CORE__DAGS_FOLDER", str(dags_folder))
    os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
    # A bureau's month maps an approval per obligation: more than Airflow's default of 1,024 (monthly.MAX_MAP_LENGTH).
    os.environ.setdefault("AIRFLOW__CORE__MAX_MAP_LENGTH", str(MAX_MAP_LENGTH))
    # Logins and the token secret come from oks.orchestration.ui_login (per home, never from code).
    # One attempt, short delays: a local run shows a failure at once instead of retrying for minutes.
    os.environ.setdefault("OKS_TASK_RETRIES", "0")
    os.environ.setdefault("OKS_RETRY_DELAY_SECONDS", "5")
    os.environ.setdefault("OKS_DES_POLL_SECONDS", "1")


class ApiServer:
    """Airflow's api-server (the REST API and UI) in a thread of this process, on loopback."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._server = None
        self._thread: threading.Thread | None = None

    def __enter__(self) -> ApiServer:
        import requests
        import uvicorn
        from airflow.api_fastapi.app import create_app

        self._server = uvicorn.Server(uvicorn.Config(create_app("core"), host="127.0.0.1", port=self.port, log_level="warning"))
        self._thread = threading.Thread(target=self._server.run, name="airflow-api", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{self.url}/api/v2/version", timeout=2).ok:
                    return self
            except requests.RequestException:
                time.sleep(0.2)
        raise RuntimeError(f"Airflow api-server did not start on {self.url}")

    def __exit__(self, *exc) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(10)


class BankStatementJob:
    """Answers pending ``confirm_bank_transfer`` requests as the bank reports the transfers done.

    It runs in a thread beside ``dag.test()``, whose tasks run on the main thread with the Task SDK's
    process-wide supervisor channel: an Airflow connection lookup from this thread would use that
    channel under a running task (and fail when a task ends and removes it). So the job never looks
    anything up: its store engine is resolved once, where it is built, and handed in.
    """

    def __init__(self, api, *, engine=None, confirmed_by: str = "bank-statement-job", interval: float = 1.0,
                 decide: Callable[[int], bool] = lambda obligation_id: True) -> None:  # fmt: skip
        from oks.orchestration.resources import store_engine

        self.api, self.confirmed_by, self.interval, self.decide = api, confirmed_by, interval, decide
        self.engine = engine if engine is not None else store_engine()
        self.answered: list[int] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="bank-statement-job", daemon=True)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                for pending in self.api.pending_confirmations():
                    if pending.obligation_id not in self.answered and self.decide(pending.obligation_id):
                        # The statement shows the amount owed was transferred: confirm exactly that.
                        confirm_payment_and_approve(
                            api=self.api, engine=self.engine, obligation_id=pending.obligation_id,
                            confirmed_by=self.confirmed_by, amount=self._owed(pending.obligation_id),
                        )  # fmt: skip
                        self.answered.append(pending.obligation_id)
            except Exception:  # noqa: BLE001 - the job keeps polling, as a cron job would run again
                log.exception("bank-statement job: will try again")
            self._stop.wait(self.interval)

    def _owed(self, obligation_id: int):
        from oks.store.obligations import obligation_amount

        return obligation_amount(self.engine, obligation_id)

    def __enter__(self) -> BankStatementJob:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(10)


@dataclass
class MonthlyDagRun:
    """What ``dag.test()`` left: the run's state, its Airflow id, and each task's state by label."""

    state: str
    airflow_run_id: str | None = None
    tasks: dict[str, str] = field(default_factory=dict)

    def succeeded(self, *task_ids: str) -> bool:
        """Every instance of each of these tasks succeeded (a mapped task: all of its instances)."""
        for task_id in task_ids:
            states = [state for label, state in self.tasks.items() if label == task_id or label.startswith(task_id + "[")]
            if not states or any(state != "success" for state in states):
                return False
        return True

    def failed(self) -> list[str]:
        """The tasks that failed themselves (not the ones left undone behind them)."""
        return [label for label, state in self.tasks.items() if state == "failed"]


@dataclass
class LocalRun:
    dag_run_state: str
    run_id: int | None
    period: str
    summary: dict = field(default_factory=dict)


def load_dag(dags_folder: Path, dag_id: str = "oks_monthly"):
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(dags_folder))
    if bag.import_errors:
        raise RuntimeError(f"DAG import errors: {bag.import_errors}")
    return bag.dags[dag_id]


def _task_states(dag_run) -> dict[str, str]:
    from oks.orchestration.monthly import task_label

    return {task_label(ti): str(getattr(ti.state, "value", ti.state)) for ti in dag_run.get_task_instances()}


def run_monthly(dags_folder: Path, conf: dict) -> MonthlyDagRun:
    """``oks_monthly`` through ``dag.test()``: the DagRun's state and its tasks' states."""
    dag = load_dag(dags_folder)
    # Airflow 3.3.2's dag.test() keeps the serialized Deadline Alert (a dict) where the scheduler code
    # it reuses expects the alert's id, and fails the finished run on it. The alert is a scheduler
    # feature dag.test() never fires anyway, so local runs leave it out; the DAG tests check the alert
    # and its statutory reference on their own.
    dag.deadline = None
    dag_run = dag.test(run_conf=conf)
    state = str(getattr(dag_run.state, "value", dag_run.state))
    return MonthlyDagRun(state, dag_run.run_id, _task_states(dag_run))


# What the summary shows, and the tasks that must have succeeded for it to be true.
_NEEDS = {
    "rows_read": ("extract_payroll",),
    "validation": ("validate_personnel",),
    "outcomes": ("compute_contributions",),
    "rejected": ("des.record_personnel_results",),
    "per_insurer": ("compute_contributions",),
    "report": ("publish_report",),
}


def summarize(period: str, dag_run: MonthlyDagRun | str, *, engine=None) -> LocalRun:
    """What the run produced, read from the store: counts, totals per insurer, payments, reports —
    only what the run reached (a task that did not succeed shows nothing of its own)."""

    from oks.orchestration.monthly import run_key
    from oks.orchestration.resources import store_engine
    from oks.store import oks_home
    from oks.store.runs import run_by_key, run_totals

    if isinstance(dag_run, str):  # a state alone: every part is shown (tests reading the store)
        dag_run = MonthlyDagRun(dag_run)
    engine = engine if engine is not None else store_engine()
    with engine.connect() as conn:
        run = run_by_key(conn, run_key(period, None))
        if run is None:
            return LocalRun(dag_run.state, None, period, {"dag_run": dag_run})
        if run.owner and dag_run.airflow_run_id and run.owner != dag_run.airflow_run_id:
            # The store's run of the period belongs to another run: this one was refused before it began.
            return LocalRun(dag_run.state, None, period, {"dag_run": dag_run, "held_by": (run.id, run.owner, run.state)})
        run_id = run.id
        totals = run_totals(conn, run_id)
    steps = run.summary or {}
    home = oks_home()
    return LocalRun(
        dag_run.state, run_id, period,
        {
            "dag_run": dag_run, "store_state": run.state, "failure": steps.get("failure"), "reconcile": steps.get("reconcile"),
            "stopped": steps.get("message") or (steps.get("validate") or {}).get("error"),
            "rows_read": (steps.get("extract") or {}).get("rows_read"), "pek_limits": (steps.get("validate") or {}).get("pek_limits"),
            "outcomes": totals.outcomes, "quarantined_rows": totals.quarantined_rows,
            "per_insurer": totals.per_insurer, "obligations": totals.obligations,
            "report": str(home / "reports" / f"run-{run_id}" / "report.html"),
            "data_docs": str(home / "data_docs" / f"run-{run_id}" / "index.html"),
            "alerts_outbox": str(home / "alerts" / "outbox.jsonl"),
        },
    )  # fmt: skip


def _reached(dag_run: MonthlyDagRun, part: str) -> bool:
    return not dag_run.tasks or dag_run.succeeded(*_NEEDS[part])


def print_summary(result: LocalRun) -> None:
    from oks.pipeline.report import pek_limits_text

    s = result.summary
    dag_run: MonthlyDagRun = s.get("dag_run") or MonthlyDagRun(result.dag_run_state)
    print()
    ok = result.dag_run_state.endswith("success")
    if ok:
        print(f"OKS monthly run {result.period}: succeeded (Airflow run {dag_run.airflow_run_id}, store run #{result.run_id})")
    else:
        # The failure first: which task, and why; then only what the run reached.
        failure = s.get("failure") or {}
        failed = dag_run.failed()
        print(f"OKS monthly run {result.period}: FAILED (Airflow run {dag_run.airflow_run_id}, store run #{result.run_id})")
        print(f"  failed task   {failure.get('task') or ', '.join(failed) or 'unknown (see the task logs)'}")
        if failure.get("error"):
            print(f"  error         {failure['error']}")
        elif s.get("stopped"):
            print(f"  error         {s['stopped']}")
        others = [label for label in failed if label != failure.get("task")]
        if others:
            print(f"  also failed   {', '.join(others)}")
    if s.get("held_by"):
        store_run, owner, state = s["held_by"]
        print(f"  error         the period is held by {owner} (store run #{store_run}, {state}): this run did not start a second one")
        print("  wait for that run to finish, or release it if it is dead: oks release-run <run key> --by <who>")
        return
    if result.run_id is None:
        print("  the run stopped before the payroll was extracted: nothing in the store for this period")
        return
    not_reached = [part for part in _NEEDS if not _reached(dag_run, part)]
    o = s["outcomes"]
    if _reached(dag_run, "rows_read"):
        print(f"  payroll rows read        {s['rows_read']}")
    if _reached(dag_run, "outcomes"):
        print(f"  contributed              {o.get('contributed', 0)}")
        print(f"  not eligible             {o.get('not_eligible', 0)}")
        print(f"  inactive                 {o.get('inactive', 0)}")
    if _reached(dag_run, "rejected"):
        print(f"  rejected by the insurer  {o.get('rejected', 0)}")
    if _reached(dag_run, "rows_read"):
        extract, validation = s["quarantined_rows"].get("extract", 0), s["quarantined_rows"].get("validate", 0)
        shown = f"(extract {extract}, validation {validation})" if _reached(dag_run, "validation") else "(extract; validation not reached)"
        print(f"  quarantined rows         {extract + (validation if _reached(dag_run, 'validation') else 0)} {shown}")
    if _reached(dag_run, "validation"):
        print(textwrap.fill(pek_limits_text(s.get("pek_limits")), 110, initial_indent="  ", subsequent_indent="    ", break_on_hyphens=False))
    if _reached(dag_run, "per_insurer"):
        print("  contributions per insurer")
        for insurer, contracts, amount in s["per_insurer"]:
            print(f"    {insurer:<8} {contracts:>3} contract(s) {amount:>14,.2f} TL")
    if s["obligations"]:  # recorded obligations are real whatever failed after them: they must be paid
        print("  payments to the insurers")
        for oid, contract_no, insurer, kind, amount, due_on, cutoff, state in s["obligations"]:
            cut = f" {str(cutoff)[:5]}" if cutoff else ""
            print(f"    #{oid:<4} {insurer:<8} {contract_no:<14} {kind:<13} {amount:>12,.2f} TL due {due_on}{cut}  {state}")
    elif not ok:
        print("  payments to the insurers: none recorded")
    if not ok and not_reached:
        print(f"  not reached: {', '.join(part.replace('_', ' ') for part in not_reached)}")
    pending = ((s.get("reconcile") or {}).get("corrections_pending")) or []
    if pending:
        print(f"  corrections waiting for approval: {', '.join(f'#{i}' for i in pending)} — nothing is sent until approved "
              "(oks corrections --people; oks correction approve ID --by WHO)")  # fmt: skip
    if _reached(dag_run, "report"):
        print(f"  report     {s['report']}")
    if _reached(dag_run, "validation"):
        print(f"  Data Docs  {s['data_docs']}")
    print(f"  alerts     {s['alerts_outbox']}")


def _release_an_earlier_local_run(engine, period: str) -> None:
    """Holding the home's lock, this is the only local run of the embedded store: a run of the period
    still marked running is what a killed earlier ``oks run-month`` left behind — release it (recorded)."""
    from oks.orchestration.monthly import run_key
    from oks.store.snapshot import release_run

    with engine.begin() as conn:
        if release_run(conn, run_key(period, None), by="oks run-month (an earlier local run ended unfinished)"):
            print(f"released run {run_key(period, None)}: an earlier local run of {period} ended without finishing")


def default_period(today: date | None = None) -> str:
    """The demo's period: this month in Istanbul (at 00:30 on 1 January it is January there, still
    December in UTC). Every month runs — a year whose SGK parameters are not out yet runs with its
    PEK-limit check reported as not performed — so the demo works on any date."""
    from oks.rules.calendar import ISTANBUL

    return f"{(today or datetime.now(ISTANBUL).date()):%Y-%m}"


def demo_payroll(out: Path, period: str, *, employees: int, employers: int, seed: int):
    from oks.payroll.synthetic import generate

    return generate(out, employers=employers, employees=employees, period=period, seed=seed, fmt="csv", defect_share=0.03)


class HomeBusy(RuntimeError):
    """Another ``oks run-month`` is running with the same OKS home."""


@contextlib.contextmanager
def home_lock(home: Path):
    """One ``oks run-month`` per OKS home at a time: a second one is refused at once, naming the first.
    The kernel drops the lock when its process ends, however it ends, so a killed run never blocks."""
    home.mkdir(parents=True, exist_ok=True)
    path = home / "run-month.lock"
    with path.open("a+") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            holder = fh.read().strip() or "another process"
            raise HomeBusy(f"another `oks run-month` ({holder}) is running with the OKS home {home}: wait for it to finish") from None
        fh.seek(0)
        fh.truncate()
        fh.write(f"pid {os.getpid()}")
        fh.flush()
        try:
            yield
        finally:
            fh.seek(0)
            fh.truncate()


def run_demo(*, period: str | None, employees: int, employers: int, seed: int, repo: Path, quiet: bool = True,
             des_batch_size: int = 2) -> LocalRun:
    """The main job: set-up, synthetic payroll, simulator, one monthly run end to end, a summary."""
    from oks.store import oks_home

    with home_lock(oks_home()):
        return _run_demo(period=period, employees=employees, employers=employers, seed=seed, repo=repo, quiet=quiet,
                         des_batch_size=des_batch_size)


def _run_demo(*, period: str | None, employees: int, employers: int, seed: int, repo: Path, quiet: bool,
              des_batch_size: int) -> LocalRun:
    from oks.store import oks_home

    if quiet:  # the summary is what a person reads; Airflow's own chatter goes to the task logs
        os.environ.setdefault("AIRFLOW__LOGGING__LOGGING_LEVEL", "WARNING")

    configure_local_airflow(Path(os.environ.get("AIRFLOW_HOME") or repo / ".airflow"), repo / "dags")
    from oks.orchestration.ui_login import APPROVERS, local_logins

    # The run's own api-server (on loopback, for the bank-statement job) has logins like `make ui`:
    # nothing it serves answers an anonymous caller, even for the minute it runs.
    logins = local_logins(Path(os.environ["AIRFLOW_HOME"]))
    os.environ.update(logins.environment())
    chosen = "as asked" if period else "this month; --period YYYY-MM for another"
    period = period or default_period()
    print(f"period {period} ({chosen})")
    home = oks_home()
    manifest = demo_payroll(home / "demo" / period, period, employees=employees, employers=employers, seed=seed)
    print(f"synthetic payroll: {manifest.rows} rows, {manifest.employers} employers, {manifest.contract_count} contracts "
          f"→ {manifest.payroll.parent}")  # fmt: skip

    from airflow.utils import db

    from oks.des.simulator.server import DEMO_CUSTOMER, BackgroundSimulator, SimulatorOptions
    from oks.orchestration.airflow_api import AirflowApi
    from oks.orchestration.resources import store_engine

    db.initdb()
    options = SimulatorOptions(db=home / "simulator" / "des.sqlite", port=0, insurer_delay=1.0, transfer_delay=1.0,
                               identity_register=manifest.identity_register)  # fmt: skip
    options.db.parent.mkdir(parents=True, exist_ok=True)
    with BackgroundSimulator(options) as simulator, ApiServer() as api_server:
        os.environ["AIRFLOW_CONN_DES_DEFAULT"] = json.dumps(
            {"conn_type": "http", "host": simulator.url, "login": DEMO_CUSTOMER.customer_no,
             "password": DEMO_CUSTOMER.password, "extra": {"tckn": DEMO_CUSTOMER.tckn}}
        )  # fmt: skip
        os.environ.setdefault("AIRFLOW_CONN_OKS_WS_DEFAULT", json.dumps(DEMO_WS))
        os.environ["OKS_AIRFLOW_API_URL"] = api_server.url
        print(f"DES simulator {simulator.url}; Airflow API {api_server.url}")
        print("running oks_monthly with dag.test() …", flush=True)
        engine = store_engine()  # here, before any task runs: the bank-statement thread looks nothing up
        _release_an_earlier_local_run(engine, period)
        bank_job = AirflowApi(api_server.url, username=APPROVERS, password=logins.passwords[APPROVERS])
        with BankStatementJob(bank_job, engine=engine):
            dag_run = run_monthly(repo / "dags", {"period": period, "payroll_source": str(manifest.payroll.parent),
                                                  "des_batch_size": des_batch_size})  # fmt: skip
    result = summarize(period, dag_run, engine=engine)
    print_summary(result)
    return result
