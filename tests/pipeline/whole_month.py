"""A whole month as ``oks_monthly`` runs it — every step in the DAG's order, through the same pipeline
functions the tasks call — against the DES simulator, for the re-run tests: in this process, or in a
child process (``python -m tests.pipeline.whole_month``) that kills itself with SIGKILL at a named
DES effect, as a power cut or an OOM kill would stop a worker:

- ``personnel_created``: DES has created the personnel list; its answer never reaches the ledger.
- ``payment_created``: DES has created the payment; its answer never reaches the ledger.
- ``obligations_partial``: the first contract's obligations are recorded and announced, the second's not.
- ``instruction_claimed``: a payment instruction is claimed for sending and never sent.

What a month leaves behind is read back as its *money* (:func:`money`): per person, contract and kind,
the DES payments, the obligations, the refunds and the corrections — the things a re-run must not change.

A plain module, not a test module: test modules are never imported by other modules.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa

from oks.des.client import DesClient
from oks.des.ledger import Ledger
from oks.des.models import WsCredentials
from oks.payroll.sources import CsvSource, open_contract_master
from oks.pipeline import des_work
from oks.pipeline.assess import assess_eligibility
from oks.pipeline.contribute import compute_contributions
from oks.pipeline.extract import extract_payroll, register_personnel
from oks.pipeline.reconcile import reconcile_run
from oks.pipeline.status_sync import sync_insurer_status
from oks.pipeline.validate import validate_personnel
from oks.store.schema import (
    alerts,
    contracts,
    contributions,
    employees,
    payment_corrections,
    payment_obligations,
    refund_obligations,
    runs,
)

ROOT = Path(__file__).resolve().parents[2]
KILL_POINTS = ("personnel_created", "payment_created", "obligations_partial", "instruction_claimed")


def credentials_for(contract_no: str, insurer: str) -> WsCredentials:
    if insurer == "ANADOLU":
        return WsCredentials(user="oks", password="secret", client_id="oks", client_secret="secret")
    return WsCredentials(user="oks", password="secret")


def outbox_sender(path: Path) -> Callable:
    """An alert channel that appends each alert to a JSON-lines file, as the outbox channel does."""

    def send(alert) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps({"level": alert.level, "subject": alert.subject, "dedupe_key": alert.dedupe_key,
                                 "obligation_id": alert.obligation_id}) + "\n")  # fmt: skip

    return send


def _wait(read, done, *, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if done(read()):
            return
        time.sleep(0.05)
    raise AssertionError("DES did not finish in time")


@dataclass(frozen=True)
class MonthFiles:
    payroll: Path
    contracts: Path
    period: str


def run_period(store, gateway, month: MonthFiles, *, senders: Mapping[str, Callable], work_dir: Path, batch_size: int = 50,
               validate: bool = True) -> int:  # fmt: skip
    """Every step of the month, in the DAG's order; the store's run id. Raises what a step raises.
    ``validate=False`` leaves out Great Expectations (clean payroll only: a law's many examples)."""
    run_key = f"{month.period}:all"
    run_id = extract_payroll(store, run_key=run_key, period=month.period, source=CsvSource(month.payroll),
                             contracts_source=open_contract_master(month.contracts))["run_id"]  # fmt: skip
    if validate:
        validate_personnel(store, run_id, data_docs_dir=work_dir / "data_docs" / f"run-{run_id}")
    register_personnel(store, run_id)
    sync_insurer_status(store, gateway)
    assess_eligibility(store, run_id)
    compute_contributions(store, run_id)
    for batch in des_work.plan_des_batches(store, run_id, batch_size):
        lists = des_work.submit_personnel(store, gateway, run_id, batch["contracts"], credentials_for=credentials_for)
        for list_id in lists:  # the deferrable sensor's wait
            _wait(lambda list_id=list_id: gateway.read_personnel_results(list_id, limit=1).state, lambda s: s == "COMPLETED")
        des_work.record_personnel_results(store, gateway, run_id, batch["contracts"])
        for payment_id in des_work.submit_payment(store, gateway, run_id, batch["contracts"]):
            _wait(lambda payment_id=payment_id: gateway.read_payment(payment_id, limit=1).state, lambda s: s in ("TRANSFERRED", "REJECTED"))
        des_work.record_payment_obligation(store, gateway, run_id, batch["contracts"], senders=senders)
    reconcile_run(store, run_id, gateway=gateway)
    return run_id


def gateway_for(store, sim_url: str) -> DesClient:
    from tests.des.simulator import fast_settings

    return DesClient(fast_settings(sim_url), ledger=Ledger(store))


# --- a month in a child process, killed at a named DES effect ------------------------------------------------


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def _install_kill(point: str, gateway: DesClient) -> None:
    if point in ("personnel_created", "payment_created"):
        created = "/personnel-lists" if point == "personnel_created" else "/payments"

        def on_answer(response, *args, **kwargs):
            if response.request.method == "POST" and response.request.path_url.endswith(created) and response.status_code == 201:
                _die()  # DES holds it; the ledger never hears the answer
            return response

        gateway.session.hooks["response"].append(on_answer)
    elif point == "obligations_partial":
        real, calls = des_work.record_payment_obligations, []

        def record(*args, **kwargs):
            calls.append(1)
            if len(calls) == 2:
                _die()  # the first contract's obligations are in, and announced; the second's never
            return real(*args, **kwargs)

        des_work.record_payment_obligations = record
    elif point == "instruction_claimed":
        from oks.pipeline import deadline_watch

        claim = deadline_watch._claim

        def claimed(engine, key, *args, **kwargs):
            won = claim(engine, key, *args, **kwargs)
            if won and key.startswith("instruction:"):
                _die()  # claimed for sending, never sent
            return won

        deadline_watch._claim = claimed
    else:
        raise ValueError(f"no kill point {point!r} (known: {', '.join(KILL_POINTS)})")


def run_in_child(*, store_url: str, sim_url: str, month: MonthFiles, work_dir: Path, outbox: Path, at: datetime,
                 kill_at: str | None = None, timeout: float = 180) -> int:  # fmt: skip
    """Run the month in a child process on the clock ``at`` (ticking); its exit code (-9 when killed)."""
    job = {"store_url": store_url, "sim_url": sim_url, "payroll": str(month.payroll), "contracts": str(month.contracts),
           "period": month.period, "work_dir": str(work_dir), "outbox": str(outbox), "at": at.isoformat(), "kill_at": kill_at}  # fmt: skip
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    child = subprocess.run([sys.executable, "-m", "tests.pipeline.whole_month", json.dumps(job)], cwd=ROOT, env=env,
                           capture_output=True, text=True, timeout=timeout)  # fmt: skip
    if child.returncode not in (0, -signal.SIGKILL):
        raise AssertionError(f"the month's child process failed ({child.returncode}):\n{child.stderr[-4000:]}")
    return child.returncode


def _child(job: dict) -> None:
    import time_machine

    from oks.store import open_store

    with time_machine.travel(datetime.fromisoformat(job["at"]), tick=True):
        store = open_store(job["store_url"])
        with gateway_for(store, job["sim_url"]) as gateway:
            if job["kill_at"]:
                _install_kill(job["kill_at"], gateway)
            month = MonthFiles(Path(job["payroll"]), Path(job["contracts"]), job["period"])
            run_period(store, gateway, month, senders={"outbox": outbox_sender(Path(job["outbox"]))}, work_dir=Path(job["work_dir"]))
    if job["kill_at"]:
        raise SystemExit(f"the month ended without reaching its kill point {job['kill_at']}")


# --- what a month leaves behind -----------------------------------------------------------------------------


def money(store, sim) -> dict[str, object]:
    """Everything a month's money is, in the store and on DES, without the ids that differ between two
    scenarios (run ids, DES ids, policy numbers): what re-runs must leave byte-for-byte equal."""
    with store.connect() as conn:
        per_person = conn.execute(
            sa.select(employees.c.tckn, contracts.c.contract_no, contributions.c.period, contributions.c.payment_kind,
                      contributions.c.outcome, contributions.c.amount)
            .join(employees, employees.c.id == contributions.c.employee_id).join(contracts, contracts.c.id == contributions.c.contract_id)
            .order_by(contributions.c.period, employees.c.tckn, contracts.c.contract_no, contributions.c.payment_kind, contributions.c.amount)
        ).all()  # fmt: skip
        obligations = conn.execute(
            sa.select(contracts.c.contract_no, payment_obligations.c.period, payment_obligations.c.payment_kind,
                      payment_obligations.c.wage_paid_on, payment_obligations.c.amount, payment_obligations.c.due_on,
                      payment_obligations.c.state, payment_obligations.c.reference)
            .join(contracts, contracts.c.id == payment_obligations.c.contract_id)
            .order_by(contracts.c.contract_no, payment_obligations.c.period, payment_obligations.c.payment_kind, payment_obligations.c.wage_paid_on)
        ).all()  # fmt: skip
        refunds = conn.execute(
            sa.select(refund_obligations.c.period, refund_obligations.c.payment_kind, refund_obligations.c.amount,
                      refund_obligations.c.reason, refund_obligations.c.due_on, refund_obligations.c.state)
            .order_by(refund_obligations.c.period, refund_obligations.c.amount)
        ).all()  # fmt: skip
        corrections = conn.execute(sa.select(sa.func.count()).select_from(payment_corrections)).scalar_one()
        run_states = conn.execute(sa.select(runs.c.period, runs.c.state).order_by(runs.c.period)).all()
    totals: dict[tuple, Decimal] = {}
    for row in per_person:
        if row.outcome == "contributed":
            key = (row.contract_no, row.period, row.payment_kind)
            totals[key] = totals.get(key, Decimal("0")) + row.amount
    payments = sorted(
        (p["contract_no"], p["period"], p["kind"], p["state"], Decimal(p["total"]), Decimal(p["accepted_total"]), p["items"])
        for p in sim.state()["payments"]
    )  # fmt: skip
    return {
        "per_person": [tuple(r) for r in per_person],
        "per_contract_and_kind": sorted(totals.items()),
        "des_payments": payments,
        "obligations": [tuple(r) for r in obligations],
        "refunds": [tuple(r) for r in refunds],
        "corrections": corrections,
        "runs": [tuple(r) for r in run_states],
    }


def unsent_instructions(store) -> list[str]:
    """Payment instructions of the obligations that no channel has delivered."""
    with store.connect() as conn:
        owed = conn.execute(sa.select(payment_obligations.c.id, payment_obligations.c.amount)).all()
        delivered = set(conn.execute(sa.select(alerts.c.dedupe_key).where(alerts.c.sent_at.is_not(None))).scalars())
    return [f"instruction:{o.id}:{o.amount}:outbox" for o in owed if f"instruction:{o.id}:{o.amount}:outbox" not in delivered]


if __name__ == "__main__":
    _child(json.loads(sys.argv[1]))
