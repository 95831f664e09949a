"""Benchmark the validation step (Great Expectations suites, quarantine, Data Docs) beside the same
checks written as plain SQL, on the same snapshot in the same database.

For each store (SQLite file, fresh PostgreSQL database) and size, a snapshot of synthetic payroll
(``oks.payroll.synthetic``, about 3% of rows with one planted defect) is loaded straight into
``payroll_lines`` (not timed: see bench_extract.py), then measured in fresh child processes, so that
each peak RSS (``ru_maxrss``) is that step's own:

- ``gx``: ``validate_personnel`` end to end — GX suites and masked Data Docs, then the quarantine
  streamed from GX's failing-row queries (with their share of the time);
- ``sql``: the same conditions as one aggregate query for the counts, then every failing row
  written by ``INSERT … SELECT`` into a scratch table — the floor for doing this work in the database.

    .venv/bin/python bench/bench_quality.py                               # 100k and 1M rows, both stores
    .venv/bin/python bench/bench_quality.py --sizes 100000 --stores sqlite

Measured on 2 cores, PostgreSQL 15 on the same machine (seconds; RSS of the Python process):

| store | rows | GX step (suites+Data Docs / quarantine) | peak RSS | plain SQL (counts only) | peak RSS |
|---|---|---|---|---|---|
| PostgreSQL | 98,907 | 3.7 (2.5 / 1.2) | 239 MiB | 2.3 (1.2) | 51 MiB |
| SQLite | 98,907 | 5.8 (4.1 / 1.7) | 245 MiB | 3.6 (1.9) | 51 MiB |
| PostgreSQL | 1,111,043 | 31.5 (17.7 / 13.8) | 247 MiB | 24.7 (13.2) | 51 MiB |
| SQLite | 1,111,043 | 54.6 (36.1 / 18.5) | 252 MiB | 39.1 (20.9) | 52 MiB |

GX and its imports account for ~227 MiB before the first row; validating adds ~20 MiB at a million
rows (memory is bounded by the quarantine's chunk, not the headcount). Plain SQL with PostgreSQL's
JIT on: 5.4 s and 30.2 s — the reason the step turns JIT off.
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
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PG_ADMIN = "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"
PERIOD = "2026-10"


def _rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


# --- the snapshot --------------------------------------------------------------------------------


def _load(args: argparse.Namespace) -> None:
    """Child: put a synthetic payroll of about ``args.rows`` rows into a run's snapshot."""
    from oks.payroll.synthetic import SyntheticPayroll
    from oks.store import open_store
    from oks.store.masterdata import upsert_contracts, upsert_employers
    from oks.store.snapshot import LINE_COLUMNS, insert_lines, start_run

    engine = open_store(args.store_url)
    # People with a bonus have two lines: size the headcount so the snapshot has ~rows lines.
    probe = SyntheticPayroll(employers=max(1, args.rows // 1000), employees=args.rows, period=PERIOD, seed=1)
    employees = round(args.rows * args.rows / probe.rows)
    payroll = SyntheticPayroll(employers=max(1, employees // 1000), employees=employees, period=PERIOD, seed=1)
    started = time.perf_counter()
    with engine.begin() as conn:
        run_id = start_run(conn, run_key="bench-quality", period=PERIOD)
    row_no = 0
    for chunk in payroll.chunks(20_000):
        lines = []
        for row in chunk.rows:
            row_no += 1
            lines.append({**{c: row.get(c) for c in LINE_COLUMNS}, "run_id": run_id, "row_no": row_no})
        with engine.begin() as conn:
            insert_lines(conn, lines)
    with engine.begin() as conn:
        upsert_employers(conn, run_id)
        upsert_contracts(conn, [{k: getattr(c, k) for k in c.__dataclass_fields__} for c in payroll.contracts])
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE payroll_lines")
    print(json.dumps({"run_id": run_id, "rows": row_no, "defects": sum(payroll.defect_counts.values()),
                      "load_s": round(time.perf_counter() - started, 1)}))  # fmt: skip


# --- GX ------------------------------------------------------------------------------------------


def _gx(args: argparse.Namespace) -> None:
    """Child: the validation step as the pipeline runs it."""
    import oks.pipeline.validate as step
    from oks.store import open_store

    timings: dict[str, float] = {}

    def timed(name, fn):
        def wrapper(*a, **kw):
            started = time.perf_counter()
            try:
                return fn(*a, **kw)
            finally:
                timings[name] = time.perf_counter() - started

        return wrapper

    step.run_suites = timed("suites_and_docs_s", step.run_suites)
    step.record_failures = timed("quarantine_s", step.record_failures)
    engine = open_store(args.store_url, upgrade=False)
    import great_expectations  # noqa: F401 - its import is a fixed cost, reported apart

    imported = _rss_mib()
    started = time.perf_counter()
    summary = step.validate_personnel(engine, args.run_id, data_docs_dir=args.docs, invalid_share_threshold=1.0)
    print(json.dumps({
        "seconds": round(time.perf_counter() - started, 2),
        **{k: round(v, 2) for k, v in timings.items()},
        "quarantined": summary["quarantined_lines"],
        "warnings": sum(sum(w.values()) for w in summary["warnings"].values()),
        "peak_rss_mib": round(_rss_mib(), 1),
        "rss_after_imports_mib": round(imported, 1),
    }))  # fmt: skip


# --- the same checks as plain SQL ----------------------------------------------------------------


def _conditions(dialect: str):
    """(name, unexpected-row condition) for every check of the suites, over ``payroll_lines``."""
    import sqlalchemy as sa

    from oks.quality.checks import EMAIL_PATTERN
    from oks.quality.identity_sql import tckn_is_valid, tr_iban_is_valid, tr_mobile_is_valid

    c = sa.column
    end = date(2026, 10, 31)
    regex = (lambda col, p: col.op("REGEXP")(sa.literal(p))) if dialect == "sqlite" else (lambda col, p: col.op("~")(sa.literal(p)))
    kurus = sa.func.round(c("pek") * 100)
    key = [c("tckn"), c("contract_no"), c("period"), c("payment_kind")]
    ranked = (
        sa.select(c("row_no"), sa.func.row_number().over(partition_by=key, order_by=c("row_no")).label("n"))
        .select_from(sa.table("payroll_lines"))
        .where(c("run_id") == sa.bindparam("run_id"))
        .subquery("ranked")
    )
    repeats = sa.select(ranked.c.row_no).where(ranked.c.n > 1).correlate(None)
    contracts = sa.select(c("contract_no")).select_from(sa.table("contracts")).correlate(None)

    def bad(column, valid):
        return sa.and_(c(column).is_not(None), sa.not_(valid))

    return [
        ("tckn", bad("tckn", tckn_is_valid(c("tckn"), dialect))),
        *((f"{n}_present", c(n).is_(None)) for n in ("first_name", "last_name", "birth_date", "citizenship", "sgk_status", "hire_date", "mobile")),
        ("birth_future", bad("birth_date", c("birth_date") <= end.isoformat())),
        ("birth_plausible", bad("birth_date", sa.or_(c("birth_date") > end.isoformat(), c("birth_date").between("1926-10-31", "2012-10-31")))),
        ("citizenship", bad("citizenship", c("citizenship").in_(["TR", "BLUE_CARD", "FOREIGN"]))),
        ("sgk_status", bad("sgk_status", c("sgk_status").in_(["4a", "4b", "4c"]))),
        ("exit_hire", sa.and_(c("exit_date").is_not(None), c("hire_date").is_not(None), c("exit_date") < c("hire_date"))),
        ("iban", bad("iban", tr_iban_is_valid(c("iban"), dialect))),
        ("mobile", bad("mobile", tr_mobile_is_valid(c("mobile"), dialect))),
        ("email", bad("email", regex(c("email"), EMAIL_PATTERN))),
        ("contract", sa.not_(c("contract_no").in_(contracts.scalar_subquery()))),
        ("unique", c("row_no").in_(repeats.scalar_subquery())),
        ("pek_negative", c("pek") < 0),
        ("pek_limits", sa.and_(
            c("pek") >= 0, c("sgk_days").between(0, 30),
            sa.or_(sa.and_(c("payment_kind") == "regular", kurus < 110100 * c("sgk_days")), kurus > 990900 * c("sgk_days")),
        )),
        ("sgk_days", sa.not_(c("sgk_days").between(0, 30))),
        ("wage_day", sa.case(
            (c("payment_kind") == "regular", sa.not_(c("wage_paid_on").between("2026-10-01", (end + timedelta(days=15)).isoformat()))),
            else_=c("wage_paid_on") < "2026-10-01",
        )),
        ("payment_kind", sa.not_(c("payment_kind").in_(["regular", "supplementary"]))),
        ("borne_by", bad("borne_by", c("borne_by").in_(["employee", "employer"]))),
    ]  # fmt: skip


def _sql(args: argparse.Namespace) -> None:
    """Child: the same conditions without GX."""
    import sqlalchemy as sa

    from oks.quality.batch import postgres_session_settings
    from oks.store import open_store

    engine = open_store(args.store_url, upgrade=False)
    conditions = _conditions(engine.dialect.name)
    lines = sa.table("payroll_lines")
    failing_table = sa.table("bench_failing", sa.column("row_no"), sa.column("check_name"))
    imported = _rss_mib()
    started = time.perf_counter()
    counts_query = sa.select(
        sa.func.count().label("rows"),
        *(sa.func.sum(sa.case((cond, 1), else_=0)).label(name) for name, cond in conditions),
    ).select_from(lines).where(sa.column("run_id") == sa.bindparam("run_id"))
    session = {} if engine.dialect.name != "postgresql" else postgres_session_settings(args.rows)
    if args.jit:
        session.pop("jit")
    with engine.connect() as conn:
        for name, value in session.items():  # as the validation step sets them
            conn.exec_driver_sql(f"SET {name} = '{value}'")
        counts = conn.execute(counts_query, {"run_id": args.run_id}).one()._asdict()
    counted = time.perf_counter() - started
    with engine.begin() as conn:
        for name, value in session.items():
            conn.exec_driver_sql(f"SET LOCAL {name} = '{value}'")
        conn.exec_driver_sql("CREATE TEMPORARY TABLE bench_failing (row_no integer, check_name varchar(40))")
        for name, cond in conditions:
            if counts[name] and name != "pek_limits":  # warnings are counted, not quarantined
                conn.execute(
                    sa.insert(failing_table).from_select(
                        ["row_no", "check_name"],
                        sa.select(sa.column("row_no"), sa.literal(name))
                        .select_from(lines)
                        .where(sa.column("run_id") == sa.bindparam("run_id"), cond),
                    ),
                    {"run_id": args.run_id},
                )
        failing = conn.exec_driver_sql("SELECT count(DISTINCT row_no) FROM bench_failing").scalar_one()
    print(json.dumps({
        "seconds": round(time.perf_counter() - started, 2),
        "counts_s": round(counted, 2),
        "quarantined": failing,
        "warnings": counts["pek_limits"],
        "peak_rss_mib": round(_rss_mib(), 1),
        "rss_after_imports_mib": round(imported, 1),
    }))  # fmt: skip


# --- driver --------------------------------------------------------------------------------------


def _child(step: str, **options) -> dict:
    argv = [sys.executable, __file__, "--child", step] + [
        f"--{k.replace('_', '-')}" if v is True else f"--{k.replace('_', '-')}={v}" for k, v in options.items()
    ]
    done = subprocess.run(argv, capture_output=True, text=True, cwd=ROOT)
    if done.returncode != 0:
        raise RuntimeError(f"{step} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _admin(pg_admin: str, statement: str) -> None:
    import sqlalchemy as sa

    admin = sa.create_engine(pg_admin, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(statement)
    admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--stores", nargs="+", default=["postgresql", "sqlite"], choices=["postgresql", "sqlite"])
    parser.add_argument("--pg-admin", default=PG_ADMIN)
    parser.add_argument("--child", choices=["load", "gx", "sql"])
    parser.add_argument("--store-url")
    parser.add_argument("--rows", type=int)
    parser.add_argument("--run-id", type=int)
    parser.add_argument("--docs")
    parser.add_argument("--jit", action="store_true", help="plain SQL with PostgreSQL's JIT on (the step turns it off)")
    args = parser.parse_args()
    if args.child:
        {"load": _load, "gx": _gx, "sql": _sql}[args.child](args)
        return

    print("| store | rows | planted defects | GX step s | of which suites+docs / quarantine | GX peak RSS MiB "
          "| plain SQL s (counts only) | plain SQL, JIT on s | SQL peak RSS MiB | quarantined GX / SQL | warnings GX / SQL |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for store in args.stores:
        for size in args.sizes:
            with tempfile.TemporaryDirectory(prefix="oks-bench-quality-") as work:
                database = None
                if store == "sqlite":
                    url = f"sqlite:///{Path(work) / 'store.sqlite'}"
                else:
                    database = f"oks_bench_q_{uuid.uuid4().hex[:8]}"
                    _admin(args.pg_admin, f'CREATE DATABASE "{database}"')
                    from sqlalchemy.engine import make_url

                    url = make_url(args.pg_admin).set(database=database).render_as_string(hide_password=False)
                try:
                    loaded = _child("load", store_url=url, rows=size)
                    gx = _child("gx", store_url=url, run_id=loaded["run_id"], docs=str(Path(work) / "docs"))
                    sql = _child("sql", store_url=url, run_id=loaded["run_id"], rows=loaded["rows"])
                    sql_jit = _child("sql", store_url=url, run_id=loaded["run_id"], rows=loaded["rows"], jit=True) if store == "postgresql" else None
                finally:
                    if database:
                        _admin(args.pg_admin, f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
            print(
                f"| {store} | {loaded['rows']:,} | {loaded['defects']:,} | {gx['seconds']} "
                f"| {gx.get('suites_and_docs_s')} / {gx.get('quarantine_s')} | {gx['peak_rss_mib']} "
                f"| {sql['seconds']} ({sql['counts_s']}) | {sql_jit['seconds'] if sql_jit else '–'} | {sql['peak_rss_mib']} "
                f"| {gx['quarantined']:,} / {sql['quarantined']:,} | {gx['warnings']:,} / {sql['warnings']:,} |",
                flush=True,
            )
            print(json.dumps({"store": store, "size": size, "load": loaded, "gx": gx, "sql": sql, "sql_jit": sql_jit}), file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
