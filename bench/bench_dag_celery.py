"""The monthly DAG at size on the production engine: ``oks_monthly`` on Airflow's Celery deployment
(docs/architecture.md §9), with what Airflow adds around the pipeline steps reported apart.

The deployment is docker-compose.yaml's Airflow services run as processes, exactly as
tests/deployment runs them (PostgreSQL for Airflow's metadata and the store, Redis as the broker,
the api-server, scheduler, dag-processor, triggerer and ``--workers`` Celery workers), the DES
simulator as its own process with insurer delays 0, and a bank-statement job answering the
approvals through the REST API. After the run, Airflow's metadata database tells:

- task instances, mapped ones apart, per task: instances, seconds in the task, and the scheduler's
  share — from the end of the upstream instance a task waited for to its own start on a worker;
- the XCom the run left, in values and bytes (rows never travel by XCom);
- **Airflow's overhead**: the run's wall time minus the time some task of the run was working
  (seconds where no task ran are pure orchestration), and per task the time outside the pipeline
  step (task start-up on the worker, with the shortest task as its measure).

Compare ``total`` with ``make bench`` on the same size (the steps without Airflow). Writes
``bench/out/dag-celery-<employees>.json`` and ``.md``.

    .venv/bin/python bench/bench_dag_celery.py --employees 100000 --des-batch-size 50
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
import uuid
from datetime import datetime
from pathlib import Path
from urllib.parse import quote

REPO = Path(__file__).resolve().parents[1]
OUT = Path(__file__).resolve().parent / "out"
PG = "postgresql+psycopg2://postgres@127.0.0.1:5432"
PERIOD = "2026-11"

sys.path.insert(0, str(REPO))  # the deployment test's harness: the bench runs the very same processes
sys.path.insert(0, str(Path(__file__).resolve().parent))


def _intervals_union(spans: list[tuple[float, float]]) -> float:
    """Seconds covered by at least one of the spans."""
    covered, end = 0.0, None
    for start, stop in sorted(spans):
        if end is None or start > end:
            covered += stop - start
            end = stop
        elif stop > end:
            covered += stop - end
            end = stop
    return covered


def _metadata(engine, run_id: str) -> tuple[list[dict], dict, dict]:
    import sqlalchemy as sa

    with engine.connect() as conn:
        tis = [dict(r._mapping) for r in conn.execute(sa.text(
            "SELECT task_id, map_index, state, try_number, start_date, end_date, duration, queued_dttm, scheduled_dttm, hostname "
            "FROM task_instance WHERE dag_id = 'oks_monthly' AND run_id = :run"), {"run": run_id})]  # fmt: skip
        xcom = conn.execute(sa.text(
            "SELECT COUNT(*), COALESCE(SUM(octet_length(value::text)), 0), COALESCE(MAX(octet_length(value::text)), 0) "
            "FROM xcom WHERE dag_id = 'oks_monthly' AND run_id = :run"), {"run": run_id}).one()  # fmt: skip
        run = conn.execute(sa.text("SELECT start_date, end_date, queued_at FROM dag_run WHERE dag_id = 'oks_monthly' AND run_id = :run"),
                           {"run": run_id}).one()  # fmt: skip
    return tis, {"xcom_values": xcom[0], "xcom_bytes": int(xcom[1]), "xcom_largest_bytes": int(xcom[2])}, dict(run._mapping)


def _seconds(a: datetime | None, b: datetime | None) -> float | None:
    return (b - a).total_seconds() if a and b else None


def _upstream(graph: dict[str, list[str]]) -> dict[str, set[str]]:
    up: dict[str, set[str]] = {task: set() for task in graph}
    for task, downstream in graph.items():
        for d in downstream:
            up.setdefault(d, set()).add(task)
    return up


def _gaps(tis: list[dict], upstream: dict[str, set[str]]) -> dict[tuple[str, int], float]:
    """Per task instance, the scheduler's time: from the end of the last upstream instance it waited
    for (the same map index inside the mapped group, the unmapped ones outside it) to its start."""
    ends: dict[tuple[str, int], datetime] = {(t["task_id"], t["map_index"]): t["end_date"] for t in tis if t["end_date"]}
    gaps = {}
    for t in tis:
        if not t["start_date"]:
            continue
        # A mapped instance waits for its own map index upstream; an unmapped one for every instance.
        waited = [end for (task, index), end in ends.items()
                  if task in upstream.get(t["task_id"], ()) and (t["map_index"] < 0 or index in (t["map_index"], -1))]  # fmt: skip
        if waited:
            gaps[(t["task_id"], t["map_index"])] = (t["start_date"] - max(waited)).total_seconds()
    return gaps


def analyse(tis: list[dict], run: dict, xcom: dict, graph: dict[str, list[str]]) -> dict:
    """What the metadata says about the run: counts, per-task time, the scheduler's share, overhead."""
    done = [t for t in tis if t["start_date"] and t["end_date"]]
    wall = _seconds(run["start_date"], run["end_date"]) or 0.0
    working = [t for t in done if not t["task_id"].startswith(("des.wait_for_", "confirm_bank_transfer"))]
    busy = _intervals_union([(t["start_date"].timestamp(), t["end_date"].timestamp()) for t in working])
    gaps = _gaps(tis, _upstream(graph))
    report_end = max((t["end_date"] for t in done if t["task_id"] == "publish_report"), default=None)
    by_task: dict[str, list[dict]] = {}
    for t in done:
        by_task.setdefault(t["task_id"], []).append(t)
    tasks = []
    for task_id, rows in sorted(by_task.items(), key=lambda kv: -sum(float(r["duration"] or 0) for r in kv[1])):
        durations = [float(r["duration"] or 0) for r in rows]
        waits = [g for r in rows if (g := gaps.get((task_id, r["map_index"]))) is not None]
        tasks.append({"task_id": task_id, "instances": len(rows), "seconds": round(sum(durations), 1),
                      "median_s": round(statistics.median(durations), 2), "shortest_s": round(min(durations), 2),
                      "median_scheduler_gap_s": round(statistics.median(waits), 2) if waits else None})  # fmt: skip
    all_gaps = list(gaps.values())
    return {
        "wall_s": round(wall, 1),
        "to_report_s": round(_seconds(run["start_date"], report_end) or 0.0, 1),  # the month computed and sent, before approvals
        "task_instances": len(tis),
        "mapped_task_instances": sum(t["map_index"] >= 0 for t in tis),
        "states": {s: sum(t["state"] == s for t in tis) for s in sorted({str(t["state"]) for t in tis})},
        "task_seconds": round(sum(float(t["duration"] or 0) for t in working), 1),
        "busy_s": round(busy, 1),
        "idle_s": round(wall - busy, 1),  # no task working: orchestration and waits on DES/approvals only
        "median_scheduler_gap_s": round(statistics.median(all_gaps), 2) if all_gaps else None,
        "scheduler_gap_total_s": round(sum(all_gaps), 1),
        "shortest_task_s": round(min(float(t["duration"] or 0) for t in working), 2) if working else None,
        **xcom,
        "tasks": tasks,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--employees", type=int, default=10_000)
    parser.add_argument("--employers", type=int, default=None, help="default: one per thousand employees")
    parser.add_argument("--des-batch-size", type=int, default=50, help="contracts per mapped DES task")
    parser.add_argument("--workers", type=int, default=2, help="Celery workers (compose: --scale airflow-worker=N)")
    parser.add_argument("--concurrency", type=int, default=2, help="task slots per worker")
    parser.add_argument("--timeout", type=float, default=7200)
    parser.add_argument("--payroll", type=Path, default=None, help="keep the generated payroll here and reuse it (as make bench does)")
    args = parser.parse_args()
    employers = args.employers or max(1, args.employees // 1000)

    import requests
    import sqlalchemy as sa
    from bench_monthly import _kept_payroll  # the same payroll as make bench's for the same size
    from simulator_process import simulator_process

    from oks.orchestration.airflow_api import AirflowApi
    from oks.orchestration.local_run import BankStatementJob
    from oks.payroll.synthetic import generate
    from oks.store import open_store
    from tests.deployment.compose_processes import RUN_ENV, Deployment, Locations, dotenv_for_run, load_compose, plan
    from tests.deployment.compose_processes import wait_for as _wait

    tag = uuid.uuid4().hex[:8]
    names = {"metadata": f"oks_bench_airflow_{tag}", "store": f"oks_bench_store_{tag}"}
    admin = sa.create_engine(f"{PG}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        for name in names.values():
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    deployed = None
    result: dict = {}
    try:
        with tempfile.TemporaryDirectory(prefix="bench-celery-") as tmp:
            home = Path(tmp)
            logs = home / "process-logs"
            logs.mkdir()
            started = time.perf_counter()
            manifest = _kept_payroll(args.payroll, args.employees, employers) or generate(
                args.payroll or home / "payroll", employers=employers, employees=args.employees, period=PERIOD, seed=5, fmt="csv",
                identity_mismatch_share=0.002)  # fmt: skip
            generate_s = time.perf_counter() - started
            with simulator_process(home, "--identity-register", str(manifest.identity_register)) as simulator:
                where = Locations(home=home / "airflow", metadata_db=names["metadata"], store_db=names["store"], redis_db=12)
                where.home.mkdir()
                extra = {**RUN_ENV, "OKS_DES_POLL_SECONDS": "2", "OKS_TASK_RETRIES": "0",
                         "AIRFLOW__CELERY__WORKER_CONCURRENCY": str(args.concurrency)}  # fmt: skip
                deployed = Deployment(plan(load_compose(dotenv_for_run(des_url=simulator.url)), where, workers=args.workers,
                                           extra_env=extra), logs)  # fmt: skip
                import redis

                redis.Redis(host="127.0.0.1", port=6379, db=where.redis_db).flushdb()
                deployed.run_init()
                deployed.start()
                url = f"http://127.0.0.1:{where.api_port}"
                passwords = where.home / "secrets" / "passwords.json"
                _wait("the api-server", lambda: requests.get(f"{url}/api/v2/monitor/health", timeout=5).ok, 300)
                _wait("the logins", passwords.exists, 120)
                secrets = json.loads(passwords.read_text(encoding="utf-8"))
                api = AirflowApi(url, username="admin", password=secrets["admin"], timeout=30)
                ops = AirflowApi(url, username="ops", password=secrets["ops"], timeout=30)
                _wait("oks_monthly parsed", lambda: api.get("dags/oks_monthly"), 300, 2)
                api.http.patch(f"{url}/api/v2/dags/oks_monthly", json={"is_paused": False}, headers=api._headers(),
                               timeout=30).raise_for_status()  # fmt: skip
                trigger = api.http.post(f"{url}/api/v2/dags/oks_monthly/dagRuns", headers=api._headers(), timeout=30, json={
                    "logical_date": None, "conf": {"period": PERIOD, "payroll_source": str(manifest.payroll.parent),
                                                   "des_batch_size": args.des_batch_size}})  # fmt: skip
                trigger.raise_for_status()
                run_id = trigger.json()["dag_run_id"]
                store = open_store(f"{PG}/{names['store']}")
                with BankStatementJob(ops, engine=store, interval=2):
                    state = _wait("the run to end", lambda: (s := api.get(f"dags/oks_monthly/dagRuns/{quote(run_id)}")["state"])
                                  in ("success", "failed") and s, args.timeout, 5)  # fmt: skip
                metadata = sa.create_engine(f"{PG}/{names['metadata']}")
                tis, xcom, run = _metadata(metadata, run_id)
                graph = {t["task_id"]: t["downstream_task_ids"] for t in api.get("dags/oks_monthly/tasks")["tasks"]}
                metadata.dispose()
                with store.connect() as conn:
                    # reconcile_run records its problems (none when the invariants hold) or fails the run.
                    invariant = conn.execute(sa.text("SELECT summary::jsonb -> 'reconcile' -> 'problems' = '[]'::jsonb "
                                                     "FROM runs ORDER BY id DESC LIMIT 1")).scalar()
                store.dispose()
                result = {"employees": args.employees, "employers": employers, "rows": manifest.rows, "des_batch_size": args.des_batch_size,
                          "workers": args.workers, "concurrency": args.concurrency, "state": state, "invariant_holds": bool(invariant),
                          "generate_s": round(generate_s, 1), **analyse(tis, run, xcom, graph)}  # fmt: skip
    finally:
        if deployed is not None:
            deployed.stop()
        with admin.connect() as conn:
            for name in names.values():
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()
    OUT.mkdir(exist_ok=True)
    name = f"dag-celery-{args.employees}"
    (OUT / f"{name}.json").write_text(json.dumps(result, indent=1, default=str) + "\n", encoding="utf-8")
    r = result
    lines = [
        f"{r['employees']:,} employees ({r['rows']:,} rows), {r['employers']} employers, {r['workers']} Celery workers × {r['concurrency']} "
        f"slots, {r['des_batch_size']} contracts per DES task: run {r['state']}, invariant holds: {r['invariant_holds']}",
        "",
        f"- wall {r['wall_s']} s ({r['to_report_s']} s to the report, the rest the approvals); a task working {r['busy_s']} s; "
        f"**no task working {r['idle_s']} s** (orchestration, DES and approval waits)",
        f"- task instances {r['task_instances']} ({r['mapped_task_instances']} mapped): {r['states']}",
        f"- scheduler: from the upstream's end to the task's start, median {r['median_scheduler_gap_s']} s, "
        f"{r['scheduler_gap_total_s']} s over all instances; shortest task {r['shortest_task_s']} s (the per-task start-up floor)",
        f"- XCom: {r['xcom_values']} values, {r['xcom_bytes']:,} bytes (largest {r['xcom_largest_bytes']:,})",
        "",
        "| task | instances | seconds | median s | shortest s | median scheduler gap s |",
        "|---|---:|---:|---:|---:|---:|",
    ]  # fmt: skip
    lines += [f"| {t['task_id']} | {t['instances']} | {t['seconds']} | {t['median_s']} | {t['shortest_s']} | {t['median_scheduler_gap_s']} |"
              for t in r["tasks"]]  # fmt: skip
    (OUT / f"{name}.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
