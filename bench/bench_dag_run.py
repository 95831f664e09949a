"""The monthly DAG at size: what Airflow adds around the pipeline steps (docs/architecture.md §9).

Runs ``oks run-month`` (``oks_monthly`` through ``dag.test()``, the DES simulator, the bank-statement
job) in fresh homes for a synthetic payroll of ``--employees``, then reads Airflow's own metadata
database: task instances (mapped ones apart), their durations, and the XCom the run left, in bytes —
rows never travel by XCom, so its size must not grow with the headcount. Compare the total with
``make bench`` (the same steps without Airflow) for the Airflow overhead. Writes
``bench/out/dag-<employees>.json`` and ``.md``.

    .venv/bin/python bench/bench_dag_run.py --employees 100000 --des-batch-size 50 --store postgresql
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
OUT = Path(__file__).resolve().parent / "out"
PG_ADMIN = "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"


def _task_instances(db: Path) -> list[dict]:
    with sqlite3.connect(db) as conn:
        conn.row_factory = sqlite3.Row
        run_id = conn.execute("SELECT run_id FROM dag_run WHERE dag_id = 'oks_monthly' ORDER BY id DESC LIMIT 1").fetchone()[0]
        tis = [dict(r) for r in conn.execute(
            "SELECT task_id, map_index, state, duration FROM task_instance WHERE dag_id = 'oks_monthly' AND run_id = ?", (run_id,))]  # fmt: skip
        xcom = conn.execute(
            "SELECT COUNT(*), COALESCE(SUM(LENGTH(value)), 0), COALESCE(MAX(LENGTH(value)), 0) FROM xcom "
            "WHERE dag_id = 'oks_monthly' AND run_id = ?", (run_id,)
        ).fetchone()  # fmt: skip
    return tis, {"xcom_values": xcom[0], "xcom_bytes": xcom[1], "xcom_largest_bytes": xcom[2]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--employees", type=int, default=10_000)
    parser.add_argument("--employers", type=int, default=None, help="default: one per thousand employees")
    parser.add_argument("--des-batch-size", type=int, default=50, help="contracts per mapped DES task (the DAG's default)")
    parser.add_argument("--store", choices=("sqlite", "postgresql"), default="sqlite")
    args = parser.parse_args()
    employers = args.employers or max(1, args.employees // 1000)

    import sqlalchemy as sa

    with tempfile.TemporaryDirectory(prefix="bench-dag-") as tmp:
        env = {**os.environ, "AIRFLOW_HOME": f"{tmp}/airflow", "OKS_HOME": f"{tmp}/oks", "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
               "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags")}  # fmt: skip
        db_name = None
        if args.store == "postgresql":
            db_name = f"oks_bench_{uuid.uuid4().hex[:8]}"
            admin = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.exec_driver_sql(f'CREATE DATABASE "{db_name}"')
            env["OKS_STORE_URL"] = f"postgresql+psycopg2://postgres@127.0.0.1:5432/{db_name}"
        try:
            started = time.perf_counter()
            done = subprocess.run(
                [str(Path(sys.executable).parent / "oks"), "run-month", "--period", "2026-11", "--employees", str(args.employees),
                 "--employers", str(employers), "--des-batch-size", str(args.des_batch_size), "--repo", str(REPO)],
                env=env, cwd=REPO, capture_output=True, text=True,
            )  # fmt: skip
            wall = time.perf_counter() - started
            if done.returncode != 0:
                raise SystemExit(f"oks run-month failed ({done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
            tis, xcom = _task_instances(Path(tmp) / "airflow" / "airflow.db")
        finally:
            if db_name:
                with admin.connect() as conn:
                    conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')
    durations = sorted(float(t["duration"] or 0) for t in tis)
    by_task: dict[str, list[float]] = {}
    for t in tis:
        by_task.setdefault(t["task_id"], []).append(float(t["duration"] or 0))
    result = {
        "employees": args.employees, "employers": employers, "store": args.store, "des_batch_size": args.des_batch_size,
        "wall_s": round(wall, 1), "task_instances": len(tis), "mapped_task_instances": sum(t["map_index"] >= 0 for t in tis),
        "states": {s: sum(t["state"] == s for t in tis) for s in sorted({t["state"] for t in tis})},
        "task_seconds": round(sum(durations), 1), "median_task_s": round(statistics.median(durations), 2) if durations else None,
        **xcom,
        "tasks": [{"task_id": k, "instances": len(v), "seconds": round(sum(v), 1), "shortest_s": round(min(v), 2)}
                  for k, v in sorted(by_task.items(), key=lambda kv: -sum(kv[1]))],
    }  # fmt: skip
    OUT.mkdir(exist_ok=True)
    name = f"dag-{args.employees}" + ("" if args.store == "postgresql" else "-sqlite")
    (OUT / f"{name}.json").write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    lines = [f"{args.employees:,} employees, {employers} employers, store {args.store}, {args.des_batch_size} contracts per DES task: "
             f"{result['wall_s']} s wall, {result['task_instances']} task instances ({result['mapped_task_instances']} mapped), "
             f"XCom {result['xcom_values']} values, {result['xcom_bytes']:,} bytes (largest {result['xcom_largest_bytes']:,})",
             "", "| task | instances | seconds | shortest s |", "|---|---:|---:|---:|"]  # fmt: skip
    lines += [f"| {t['task_id']} | {t['instances']} | {t['seconds']} | {t['shortest_s']} |" for t in result["tasks"]]
    (OUT / f"{name}.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
