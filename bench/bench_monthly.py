"""Benchmark a whole monthly run, stage by stage, against the DES simulator (docs/architecture.md §9).

Runs the pipeline steps exactly as the DAG tasks call them — extract, validate, register, status
sync, assess, contribute, then per contract: register, personnel, insurer answers, payment, transfer,
obligations — and finally reconcile and report, on a fresh PostgreSQL database (or SQLite), with
the simulator in this process on loopback (insurer delays 0). Prints seconds and rows/s per stage
and the process's peak RSS. No Airflow scheduling overhead is included: that is measured by the
DAG tests' wall time, not here.

    .venv/bin/python bench/bench_monthly.py --employees 100000 --employers 100
    .venv/bin/python bench/bench_monthly.py --employees 20000 --store sqlite
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
import uuid
from pathlib import Path

PG_ADMIN = "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"


class Stages:
    def __init__(self) -> None:
        self.rows: list[tuple[str, float, int | None]] = []

    def timed(self, name: str, count: int | None = None):
        stages = self

        class _Timer:
            def __enter__(self):
                self.start = time.perf_counter()
                return self

            def __exit__(self, *exc):
                stages.rows.append((name, time.perf_counter() - self.start, count))

        return _Timer()

    def print(self) -> None:
        total = sum(seconds for _, seconds, _ in self.rows)
        print(f"{'stage':<34} {'seconds':>8} {'rows/s':>10}")
        for name, seconds, count in self.rows:
            rate = f"{count / seconds:,.0f}" if count and seconds else ""
            print(f"{name:<34} {seconds:>8.1f} {rate:>10}")
        print(f"{'total':<34} {total:>8.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--employees", type=int, default=100_000)
    parser.add_argument("--employers", type=int, default=100)
    parser.add_argument("--store", choices=("postgresql", "sqlite"), default="postgresql")
    args = parser.parse_args()

    import sqlalchemy as sa

    from oks.des.client import DesClient
    from oks.des.ledger import Ledger
    from oks.des.models import WsCredentials
    from oks.des.settings import DesSettings
    from oks.des.simulator.server import DEMO_CUSTOMER, BackgroundSimulator, SimulatorOptions
    from oks.payroll.sources import open_contract_master, open_source
    from oks.payroll.synthetic import generate
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
    from oks.store import open_store

    stages = Stages()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        with stages.timed("generate payroll (not a run stage)"):
            manifest = generate(tmp / "payroll", employers=args.employers, employees=args.employees, period="2026-11",
                                seed=5, fmt="csv", identity_mismatch_share=0.002)  # fmt: skip
        db_name = None
        if args.store == "postgresql":
            db_name = f"oks_bench_{uuid.uuid4().hex[:8]}"
            admin = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.exec_driver_sql(f'CREATE DATABASE "{db_name}"')
            url = f"postgresql+psycopg2://postgres@127.0.0.1:5432/{db_name}"
        else:
            url = f"sqlite:///{tmp / 'store.sqlite'}"
        engine = open_store(url)
        options = SimulatorOptions(db=tmp / "sim.sqlite", port=0, insurer_delay=0, transfer_delay=0,
                                   identity_register=manifest.identity_register)  # fmt: skip
        try:
            with BackgroundSimulator(options) as simulator:
                settings = DesSettings(base_url=simulator.url, customer_no=DEMO_CUSTOMER.customer_no, tckn=DEMO_CUSTOMER.tckn,
                                       password=DEMO_CUSTOMER.password, batch_size=1000, page_size=1000)  # fmt: skip
                with DesClient(settings, ledger=Ledger(engine)) as gateway:
                    rows = manifest.rows
                    with stages.timed("extract", rows):
                        run_id = extract_payroll(engine, run_key="bench", period="2026-11", source=open_source(manifest.payroll),
                                                 contracts_source=open_contract_master(manifest.contracts))["run_id"]  # fmt: skip
                    with stages.timed("validate (GX)", rows):
                        validate_personnel(engine, run_id, data_docs_dir=tmp / "docs")
                    with stages.timed("register personnel", rows):
                        register_personnel(engine, run_id)
                    with stages.timed("sync insurer status"):
                        sync_insurer_status(engine, gateway)
                    with stages.timed("assess eligibility", rows):
                        assess_eligibility(engine, run_id)
                    with stages.timed("compute contributions", rows):
                        compute_contributions(engine, run_id)
                    numbers = contracts_with_work(engine, run_id)
                    credentials = WsCredentials(user="bench", password="bench", client_id="c", client_secret="s")

                    def creds(contract_no, insurer):
                        return credentials if insurer == "ANADOLU" else WsCredentials(user="bench", password="bench")

                    with stages.timed("DES: register contracts"):
                        register_contracts(engine, gateway, run_id, numbers, credentials_for=creds)
                    lists = {}
                    with stages.timed("DES: submit personnel", rows):
                        for contract_no in numbers:
                            lists[contract_no] = submit_personnel(engine, gateway, run_id, contract_no)["list_id"]
                    with stages.timed("DES: record policy numbers", rows):
                        for contract_no, list_id in lists.items():
                            if list_id:
                                record_personnel_results(engine, gateway, run_id, contract_no, list_id)
                    payments = {}
                    with stages.timed("DES: submit payments", rows):
                        for contract_no in numbers:
                            payments[contract_no] = submit_payments(engine, gateway, run_id, contract_no)["payments"]
                    with stages.timed("DES: transfers + obligations", rows):
                        for contract_no, by_kind in payments.items():
                            ids = {}
                            for kind, payment in by_kind.items():
                                record_payment_results(engine, gateway, run_id, contract_no, payment["payment_id"])
                                ids[f"{contract_no}/{kind}"] = payment["payment_id"]
                            record_payment_obligations(engine, run_id, contract_no=contract_no, des_payment_ids=ids)
                    with stages.timed("reconcile (against DES)", rows):
                        reconcile_run(engine, run_id, gateway=gateway)
                    with stages.timed("report", rows):
                        publish_report(engine, run_id, out_dir=tmp / "report")
        finally:
            engine.dispose()
            if db_name:
                with admin.connect() as conn:
                    conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')
    print(f"{args.employees:,} employees, {manifest.rows:,} payroll rows, {len(numbers)} contracts, store {args.store}")
    stages.print()
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
