"""Benchmark a whole monthly run, stage by stage, against the DES simulator (docs/architecture.md §9).

Runs the pipeline steps exactly as the DAG tasks call them — extract, validate, register, status
sync, assess, contribute, then per contract: register, personnel, insurer answers, payment, transfer,
obligations — and finally reconcile and report, on a fresh PostgreSQL database (or SQLite), with
the simulator as its own process on loopback (insurer delays 0), as DES is to the product. No Airflow scheduling overhead is
included: that is measured on the DAG (bench/bench_dag_import.py, the deployment tests).

Per stage: wall seconds, CPU seconds of this process (neither PostgreSQL's nor the simulator's; a DES
stage also has the simulator's own CPU seconds), rows/s, the peak RSS so far, and — in the same run, on the same data — the stage's
raw counterpart (bench/raw_counterparts.py) and the ratio. Writes ``bench/out/monthly-<employees>.json``
and a Markdown table beside it.

    make bench EMPLOYEES=100000                       # or: .venv/bin/python bench/bench_monthly.py --employees 100000
    .venv/bin/python bench/bench_monthly.py --employees 20000 --store sqlite
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import re
import resource
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import raw_counterparts as raw  # noqa: E402 - a sibling script module, not a package
from des_workers import DesWorkers  # noqa: E402
from simulator_process import simulator_process  # noqa: E402

PG_ADMIN = "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"
OUT = Path(__file__).resolve().parent / "out"


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class Stages:
    def __init__(self, profile_dir: Path | None = None) -> None:
        self.rows: list[dict] = []
        self.profile_dir = profile_dir

    @contextlib.contextmanager
    def timed(self, name: str, count: int | None = None):
        profiler = None
        if self.profile_dir is not None:  # --profile: a cProfile of each stage (slower, for finding where time goes)
            import cProfile

            profiler = cProfile.Profile()
            profiler.enable()
        start, cpu = time.perf_counter(), time.process_time()
        yield
        seconds = time.perf_counter() - start
        if profiler is not None:
            profiler.disable()
            self.profile_dir.mkdir(parents=True, exist_ok=True)
            profiler.dump_stats(self.profile_dir / (re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") + ".prof"))
        self.rows.append({"name": name, "seconds": round(seconds, 2), "cpu_seconds": round(time.process_time() - cpu, 2),
                          "rows": count, "rows_per_s": round(count / seconds) if count and seconds else None,
                          "peak_rss_mib": round(_peak_rss_mib()), "raw_seconds": None, "ratio": None})  # fmt: skip

    def raw(self, name: str, seconds: float | None) -> None:
        """The raw counterpart of the stage ``name`` (already timed)."""
        row = next(r for r in self.rows if r["name"] == name)
        if seconds is not None:
            row["raw_seconds"] = round(seconds, 2)
            row["ratio"] = round(row["seconds"] / seconds, 1) if seconds >= 0.01 else None  # below that, noise

    def table(self) -> str:
        lines = ["| stage | seconds | CPU s | simulator CPU s | rows/s | peak RSS MiB | raw s | ratio |",
                 "|---|---:|---:|---:|---:|---:|---:|---:|"]
        for r in self.rows:
            simulator = r.get("simulator_cpu_seconds")
            cells = [r["name"], f"{r['seconds']:.1f}", f"{r['cpu_seconds']:.1f}", "" if simulator is None else f"{simulator:.1f}",
                     f"{r['rows_per_s']:,}" if r["rows_per_s"] else "",
                     str(r["peak_rss_mib"]), "" if r["raw_seconds"] is None else f"{r['raw_seconds']:.2f}",
                     "" if r["ratio"] is None else f"{r['ratio']}×"]  # fmt: skip
            lines.append("| " + " | ".join(cells) + " |")
        lines.append(f"| **total** | **{sum(r['seconds'] for r in self.rows):.1f}** | | | | {round(_peak_rss_mib())} | | |")
        return "\n".join(lines)


def _kept_payroll(folder: Path | None, employees: int, employers: int):
    """The payroll an earlier run generated into ``folder`` for the same size (same seed and period), if any."""
    from types import SimpleNamespace

    document = folder / "manifest.json" if folder else None
    if document is None or not document.exists():
        return None
    kept = json.loads(document.read_text(encoding="utf-8"))
    if (kept["employees"], kept["employers"], kept["seed"], kept["period"]) != (employees, employers, 5, "2026-11"):
        return None
    files = {name: folder / file for name, file in kept["files"].items()}
    return SimpleNamespace(rows=kept["rows"], **files)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--employees", type=int, default=100_000)
    parser.add_argument("--employers", type=int, default=None, help="default: one per thousand employees")
    parser.add_argument("--store", choices=("postgresql", "sqlite"), default="postgresql")
    parser.add_argument("--des-batch", type=int, default=1000, help="people or payment items per DES request")
    parser.add_argument("--des-workers", type=int, default=2,
                        help="worker processes for the per-contract DES stages, as the DAG's mapped tasks on as many worker slots")
    parser.add_argument("--payroll", type=Path, default=None,
                        help="keep the generated payroll in this folder and reuse it when it holds the same size (saves minutes at 1M)")
    parser.add_argument("--profile", type=Path, default=None, help="write a cProfile of each stage into this folder")
    args = parser.parse_args()
    args.employers = args.employers or max(1, args.employees // 1000)

    import sqlalchemy as sa

    from oks.des.client import DesClient
    from oks.des.ledger import Ledger
    from oks.des.settings import DesSettings
    from oks.des.simulator.server import DEMO_CUSTOMER
    from oks.payroll.sources import open_contract_master, open_source
    from oks.payroll.synthetic import generate
    from oks.pipeline.assess import assess_eligibility
    from oks.pipeline.contribute import compute_contributions
    from oks.pipeline.extract import extract_payroll, register_personnel
    from oks.pipeline.reconcile import reconcile_run
    from oks.pipeline.report import publish_report
    from oks.pipeline.status_sync import sync_insurer_status
    from oks.pipeline.submission import contracts_with_work
    from oks.pipeline.validate import validate_personnel
    from oks.store import open_store

    stages = Stages(args.profile)
    pg = args.store == "postgresql"
    invariant_holds = False
    simulator_peak_rss = None
    generated = {}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        started = time.perf_counter()
        manifest = _kept_payroll(args.payroll, args.employees, args.employers)
        if manifest is None:
            manifest = generate(args.payroll or tmp / "payroll", employers=args.employers, employees=args.employees, period="2026-11",
                                seed=5, fmt="csv", identity_mismatch_share=0.002)  # fmt: skip
            generated = {"generate_s": round(time.perf_counter() - started, 1)}
        db_name = None
        if pg:
            db_name = f"oks_bench_{uuid.uuid4().hex[:8]}"
            admin = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.exec_driver_sql(f'CREATE DATABASE "{db_name}"')
            url = f"postgresql+psycopg2://postgres@127.0.0.1:5432/{db_name}"
        else:
            url = f"sqlite:///{tmp / 'store.sqlite'}"
        engine = open_store(url)
        try:
            with simulator_process(tmp, "--identity-register", str(manifest.identity_register)) as simulator:
                settings = DesSettings(base_url=simulator.url, customer_no=DEMO_CUSTOMER.customer_no, tckn=DEMO_CUSTOMER.tckn,
                                       password=DEMO_CUSTOMER.password, batch_size=args.des_batch, page_size=args.des_batch)  # fmt: skip
                workers = DesWorkers(url, dataclasses.asdict(settings), tmp / "http",
                                     workers=args.des_workers)  # fmt: skip
                with DesClient(settings, ledger=Ledger(engine)) as gateway, contextlib.closing(workers):
                    session = gateway.transport.session

                    @contextlib.contextmanager
                    def des_stage(name: str, count: int | None = None):
                        """A run-level DES stage in this process: timed, its HTTP requests recorded and replayed bare after it."""
                        simulator_cpu = simulator.cpu_seconds()
                        with stages.timed(name, count), raw.HttpRecorder(session) as recorder:
                            yield
                        stages.rows[-1]["simulator_cpu_seconds"] = round(simulator.cpu_seconds() - simulator_cpu, 2)
                        if pg:
                            seconds, statuses = recorder.replay()
                            stages.raw(name, seconds)
                            stages.rows[-1]["raw_http"] = {"requests": len(recorder.calls), "statuses": statuses}

                    def mapped(name: str, step: str, work: list, count: int | None = None) -> list:
                        """A per-contract DES stage on the workers, as the DAG's mapped tasks run it; its CPU is the
                        workers' (this process only waits), its raw counterpart the same requests at the same concurrency."""
                        simulator_cpu = simulator.cpu_seconds()
                        with stages.timed(name, count):
                            results = workers.run(step, run_id, work)
                        row = stages.rows[-1]
                        row.update(cpu_seconds=round(workers.cpu_seconds, 2), worker_peak_rss_mib=round(workers.peak_rss_mib),
                                   simulator_cpu_seconds=round(simulator.cpu_seconds() - simulator_cpu, 2))  # fmt: skip
                        seconds, statuses, requests = workers.replay(step)
                        if pg:
                            stages.raw(name, seconds)
                            row["raw_http"] = {"requests": requests, "statuses": statuses}
                        return results

                    rows = manifest.rows
                    with stages.timed("extract", rows):
                        run_id = extract_payroll(engine, run_key="bench", period="2026-11", source=open_source(manifest.payroll),
                                                 contracts_source=open_contract_master(manifest.contracts))["run_id"]  # fmt: skip
                    stages.raw("extract", raw.copy_lines(engine, run_id) if pg else None)
                    workers.warm_up()  # the workers start while nothing is timed
                    with stages.timed("validate (GX)", rows):
                        validate_personnel(engine, run_id, data_docs_dir=tmp / "docs")
                    stages.raw("validate (GX)", raw.validate_sql(engine, run_id) if pg else None)
                    with stages.timed("register personnel", rows):
                        register_personnel(engine, run_id)
                    with des_stage("sync insurer status"):
                        sync_insurer_status(engine, gateway)
                    with stages.timed("assess eligibility", rows):
                        assess_eligibility(engine, run_id)
                    stages.raw("assess eligibility", raw.assess_sql(engine, run_id) if pg else None)
                    with stages.timed("compute contributions", rows):
                        compute_contributions(engine, run_id)
                    stages.raw("compute contributions", raw.contribute_sql(engine, run_id) if pg else None)
                    numbers = contracts_with_work(engine, run_id)
                    mapped("DES: register contracts", "register", [(n, None) for n in numbers])
                    lists = mapped("DES: submit personnel", "personnel", [(n, None) for n in numbers], rows)
                    mapped("DES: record policy numbers", "results", list(zip(numbers, lists, strict=True)), rows)
                    payments = mapped("DES: submit payments", "payments", [(n, None) for n in numbers], rows)
                    mapped("DES: transfers + obligations", "transfers", list(zip(numbers, payments, strict=True)), rows)
                    with des_stage("reconcile (against DES)", rows):
                        reconcile_run(engine, run_id, gateway=gateway)
                    invariant_holds = True  # reconcile_run raises InvariantBroken otherwise
                    with stages.timed("report", rows):
                        publish_report(engine, run_id, out_dir=tmp / "report")
                simulator_peak_rss = round(simulator.peak_rss_mib())
        finally:
            engine.dispose()
            if db_name:
                with admin.connect() as conn:
                    conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')
    total = round(sum(r["seconds"] for r in stages.rows), 1)
    result = {
        "employees": args.employees, "rows": manifest.rows, "contracts": len(numbers), "employers": args.employers,
        "store": args.store, "des_batch": args.des_batch, "des_workers": args.des_workers, "total_s": total, "peak_rss_mib": round(_peak_rss_mib()),
        "simulator_peak_rss_mib": simulator_peak_rss,
        "invariant_holds": invariant_holds, **generated, "stages": stages.rows,
    }  # fmt: skip
    OUT.mkdir(exist_ok=True)
    name = f"monthly-{args.employees}" + ("" if pg else "-sqlite")
    (OUT / f"{name}.json").write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    heading = f"{args.employees:,} employees, {manifest.rows:,} payroll rows, {len(numbers)} contracts, store {args.store}"
    (OUT / f"{name}.md").write_text(f"{heading}\n\n{stages.table()}\n", encoding="utf-8")
    print(heading)
    print(stages.table())
    print(f"invariant holds: {invariant_holds}; written {OUT / name}.json and .md")


if __name__ == "__main__":
    main()
