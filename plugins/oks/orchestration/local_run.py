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

import json
import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from oks.orchestration.airflow_api import confirm_payment_and_approve

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
    # Local only: every API caller is an admin, so the bank-statement job needs no password here.
    os.environ.setdefault("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS", "True")
    os.environ.setdefault("AIRFLOW__API_AUTH__JWT_SECRET", "oks-local-" + "0" * 56)
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
    """Answers pending ``confirm_bank_transfer`` requests as the bank reports the transfers done."""

    def __init__(self, api, *, confirmed_by: str = "bank-statement-job", interval: float = 1.0,
                 decide: Callable[[int], bool] = lambda obligation_id: True) -> None:  # fmt: skip
        self.api, self.confirmed_by, self.interval, self.decide = api, confirmed_by, interval, decide
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
                            api=self.api, obligation_id=pending.obligation_id, confirmed_by=self.confirmed_by,
                            amount=self._owed(pending.obligation_id),
                        )  # fmt: skip
                        self.answered.append(pending.obligation_id)
            except Exception:  # noqa: BLE001 - the job keeps polling, as a cron job would run again
                log.exception("bank-statement job: will try again")
            self._stop.wait(self.interval)

    @staticmethod
    def _owed(obligation_id: int):
        import sqlalchemy as sa

        from oks.orchestration.resources import store_engine
        from oks.store.schema import payment_obligations

        with store_engine().connect() as conn:
            return conn.execute(sa.select(payment_obligations.c.amount).where(payment_obligations.c.id == obligation_id)).scalar_one()

    def __enter__(self) -> BankStatementJob:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(10)


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


def run_monthly(dags_folder: Path, conf: dict, *, api_url: str | None = None) -> str:
    """``oks_monthly`` through ``dag.test()``; returns the DagRun's state."""
    dag = load_dag(dags_folder)
    # Airflow 3.3.2's dag.test() keeps the serialized Deadline Alert (a dict) where the scheduler code
    # it reuses expects the alert's id, and fails the finished run on it. The alert is a scheduler
    # feature dag.test() never fires anyway, so local runs leave it out; the DAG tests check the alert
    # and its statutory reference on their own.
    dag.deadline = None
    dag_run = dag.test(run_conf=conf)
    return str(dag_run.state)


def summarize(period: str, dag_run_state: str) -> LocalRun:
    """What the run produced, read from the store: counts, totals per insurer, payments, reports."""
    import sqlalchemy as sa

    from oks.orchestration.monthly import run_key
    from oks.orchestration.resources import store_engine
    from oks.store import oks_home
    from oks.store.schema import runs

    engine = store_engine()
    with engine.connect() as conn:
        run_id = conn.execute(sa.select(runs.c.id).where(runs.c.run_key == run_key(period, None))).scalar_one_or_none()
        if run_id is None:
            return LocalRun(dag_run_state, None, period)
        outcomes = dict(conn.execute(sa.text(
            "SELECT outcome, COUNT(*) FROM contributions WHERE run_id = :r GROUP BY outcome"), {"r": run_id}).all())
        stages = dict(conn.execute(sa.text(
            "SELECT stage, COUNT(DISTINCT row_no) FROM quarantine WHERE run_id = :r GROUP BY stage"), {"r": run_id}).all())
        per_insurer = [tuple(r) for r in conn.execute(sa.text(
            "SELECT c.insurer, COUNT(DISTINCT c.contract_no), SUM(k.amount) FROM contributions k "
            "JOIN contracts c ON c.id = k.contract_id WHERE k.run_id = :r AND k.outcome = 'contributed' "
            "GROUP BY c.insurer ORDER BY c.insurer"), {"r": run_id}).all()]
        obligations = [tuple(r) for r in conn.execute(sa.text(
            "SELECT o.id, c.contract_no, c.insurer, o.payment_kind, o.amount, o.due_on, o.cutoff, o.state "
            "FROM payment_obligations o JOIN contracts c ON c.id = o.contract_id WHERE o.run_id = :r "
            "ORDER BY o.due_on, c.contract_no"), {"r": run_id}).all()]  # fmt: skip
        extract = (conn.execute(sa.select(runs.c.summary).where(runs.c.id == run_id)).scalar_one() or {}).get("extract", {})
    home = oks_home()
    return LocalRun(
        dag_run_state, run_id, period,
        {
            "rows_read": extract.get("rows_read"), "outcomes": outcomes, "quarantined_rows": stages,
            "per_insurer": per_insurer, "obligations": obligations,
            "report": str(home / "reports" / f"run-{run_id}" / "report.html"),
            "data_docs": str(home / "data_docs" / f"run-{run_id}" / "index.html"),
            "alerts_outbox": str(home / "alerts" / "outbox.jsonl"),
        },
    )  # fmt: skip


def print_summary(result: LocalRun) -> None:
    s = result.summary
    print()
    print(f"OKS monthly run {result.period}: Airflow run {result.dag_run_state}, store run #{result.run_id}")
    if not s:
        return
    o = s["outcomes"]
    print(f"  payroll rows read        {s['rows_read']}")
    print(f"  contributed              {o.get('contributed', 0)}")
    print(f"  not eligible             {o.get('not_eligible', 0)}")
    print(f"  inactive                 {o.get('inactive', 0)}")
    print(f"  rejected by the insurer  {o.get('rejected', 0)}")
    print(f"  quarantined rows         {sum(v for k, v in s['quarantined_rows'].items() if k != 'insurer')} "
          f"(extract {s['quarantined_rows'].get('extract', 0)}, validation {s['quarantined_rows'].get('validate', 0)})")  # fmt: skip
    print("  contributions per insurer")
    for insurer, contracts, amount in s["per_insurer"]:
        print(f"    {insurer:<8} {contracts:>3} contract(s) {amount:>14,.2f} TL")
    print("  payments to the insurers")
    for oid, contract_no, insurer, kind, amount, due_on, cutoff, state in s["obligations"]:
        cut = f" {str(cutoff)[:5]}" if cutoff else ""
        print(f"    #{oid:<4} {insurer:<8} {contract_no:<14} {kind:<13} {amount:>12,.2f} TL due {due_on}{cut}  {state}")
    print(f"  report     {s['report']}")
    print(f"  Data Docs  {s['data_docs']}")
    print(f"  alerts     {s['alerts_outbox']}")


def demo_payroll(out: Path, period: str, *, employees: int, employers: int, seed: int):
    from oks.payroll.synthetic import generate

    return generate(out, employers=employers, employees=employees, period=period, seed=seed, fmt="csv", defect_share=0.03)


def run_demo(*, period: str | None, employees: int, employers: int, seed: int, repo: Path, quiet: bool = True) -> LocalRun:
    """The main job: set-up, synthetic payroll, simulator, one monthly run end to end, a summary."""
    from oks.store import oks_home

    if quiet:  # the summary is what a person reads; Airflow's own chatter goes to the task logs
        os.environ.setdefault("AIRFLOW__LOGGING__LOGGING_LEVEL", "WARNING")

    configure_local_airflow(Path(os.environ.get("AIRFLOW_HOME") or repo / ".airflow"), repo / "dags")
    period = period or f"{date.today():%Y-%m}"
    home = oks_home()
    manifest = demo_payroll(home / "demo" / period, period, employees=employees, employers=employers, seed=seed)
    print(f"synthetic payroll: {manifest.rows} rows, {manifest.employers} employers, {manifest.contract_count} contracts "
          f"→ {manifest.payroll.parent}")  # fmt: skip

    from airflow.utils import db

    from oks.des.simulator.server import DEMO_CUSTOMER, BackgroundSimulator, SimulatorOptions
    from oks.orchestration.airflow_api import AirflowApi

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
        print("running oks_monthly with dag.test() — task logs under $AIRFLOW_HOME/logs …", flush=True)
        with BankStatementJob(AirflowApi(api_server.url)):
            state = run_monthly(repo / "dags", {"period": period, "payroll_source": str(manifest.payroll.parent),
                                                "des_batch_size": 2})  # fmt: skip
    result = summarize(period, state)
    print_summary(result)
    return result
