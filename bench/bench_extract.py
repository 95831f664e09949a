"""Benchmark payroll extraction into the store: time and peak memory, beside a bare COPY.

For each size and source format: generate the payroll (not timed here; see bench_generate.py), then
in a fresh child process extract it into a fresh PostgreSQL database (or SQLite file) and report
wall time, rows per second and peak RSS. The baseline is a bare COPY of the same payroll CSV into an
untyped table on the same server: the raw cost of moving the bytes, against which parsing, typing
and quarantine are measured. Memory should stay flat from 100,000 to 1,000,000 employees.

    .venv/bin/python bench/bench_extract.py                          # 100k and 1M, csv and sqlite, into PostgreSQL
    .venv/bin/python bench/bench_extract.py --sizes 100000 --store sqlite
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PG_ADMIN = "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"


def _child(args: argparse.Namespace) -> None:
    from oks.payroll.columns import CONTRACT_COLUMNS
    from oks.payroll.sources import SqlSource, open_contract_master, open_source, sql_params
    from oks.pipeline.extract import extract_payroll
    from oks.store import open_store

    engine = open_store(args.store_url)
    if args.fmt == "sqlite":
        url = f"sqlite:///{args.payroll}"
        source = SqlSource(url, (ROOT / "include/sql/payroll_extract.sql").read_text(), sql_params(args.period, None))
        contracts = SqlSource(url, (ROOT / "include/sql/contracts_extract.sql").read_text(), {}, spec=CONTRACT_COLUMNS)
    else:
        source, contracts = open_source(args.payroll), open_contract_master(args.contracts)
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    summary = extract_payroll(engine, run_key="bench", period=args.period, source=source, contracts_source=contracts)
    elapsed = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"seconds": elapsed, "rows": summary["rows_read"], "lines": summary["lines"],
                      "malformed": summary["malformed_rows"], "peak_rss_mib": peak / 1024, "import_rss_mib": base / 1024}))  # fmt: skip


def _pg_database() -> str:
    import sqlalchemy as sa

    name = f"oks_bench_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    admin.dispose()
    return name


def _drop(name: str) -> None:
    import sqlalchemy as sa

    admin = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


def _bare_copy(csv_path: Path, encoding: str) -> float:
    """COPY the same CSV into an all-text table: what moving the bytes costs on this server."""
    import psycopg2

    name = _pg_database()
    try:
        conn = psycopg2.connect(host="127.0.0.1", user="postgres", dbname=name)
        with conn, conn.cursor() as cur, csv_path.open("r", encoding=encoding) as fh:
            header = fh.readline().rstrip("\n").split(";")
            cur.execute("CREATE TABLE raw (" + ", ".join(f"c{i} text" for i in range(len(header))) + ")")
            started = time.perf_counter()
            cur.copy_expert("COPY raw FROM STDIN WITH (FORMAT csv, DELIMITER ';')", fh)
            elapsed = time.perf_counter() - started
        conn.close()
        return elapsed
    finally:
        _drop(name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--formats", nargs="+", default=["csv", "sqlite"])
    parser.add_argument("--store", choices=("postgresql", "sqlite"), default="postgresql")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--fmt"), parser.add_argument("--payroll"), parser.add_argument("--contracts")
    parser.add_argument("--store-url"), parser.add_argument("--period", default="2026-10")
    args = parser.parse_args()
    if args.child:
        _child(args)
        return

    from oks.payroll.synthetic import generate

    print(f"{'employees':>10} {'rows':>9} {'source':>7} {'store':>10} {'seconds':>8} {'rows/s':>8} {'peak MiB':>9} {'bare COPY s':>12}")
    for size in args.sizes:
        for fmt in args.formats:
            with tempfile.TemporaryDirectory() as tmp:
                manifest = generate(tmp, employers=max(1, size // 1000), employees=size, period="2026-10", seed=1, fmt=fmt)
                if args.store == "postgresql":
                    db = _pg_database()
                    store_url = f"postgresql+psycopg2://postgres@127.0.0.1:5432/{db}"
                else:
                    db, store_url = None, f"sqlite:///{tmp}/store.sqlite"
                try:
                    out = subprocess.run(
                        [sys.executable, __file__, "--child", "--fmt", fmt, "--payroll", str(manifest.payroll),
                         "--contracts", str(manifest.contracts), "--store-url", store_url],
                        check=True, capture_output=True, text=True,
                    )  # fmt: skip
                finally:
                    if db:
                        _drop(db)
                result = json.loads(out.stdout.strip().splitlines()[-1])
                bare = f"{_bare_copy(manifest.payroll, 'utf-8-sig'):.2f}" if fmt == "csv" and args.store == "postgresql" else "-"
                print(
                    f"{size:>10,} {result['rows']:>9,} {fmt:>7} {args.store:>10} {result['seconds']:>8.1f} "
                    f"{result['rows'] / result['seconds']:>8,.0f} {result['peak_rss_mib']:>9.0f} {bare:>12}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
