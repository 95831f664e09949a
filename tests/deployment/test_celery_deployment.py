"""oks_monthly on Airflow's distributed engine, the docker-compose.yaml deployment run as processes:
PostgreSQL (metadata and store, databases of their own), Redis as the Celery broker, airflow-init,
the api-server, scheduler, dag-processor, triggerer and two Celery workers — what ``dag.test()``
cannot show: the waits leave the workers (deferred to the triggerer, no slot held), the tasks of one
run spread over both workers, and a worker killed mid-run is survived by the run. And the month it
runs leaves the same store contents as the same payroll run on the embedded default (``oks run-month``)."""

from __future__ import annotations

import json
import os
import subprocess
import time
from datetime import date
from pathlib import Path
from urllib.parse import quote

import pytest
import requests
import sqlalchemy as sa

from tests.deployment.compose_processes import BIN, REPO, RUN_ENV, Deployment, Locations, dotenv_for_run, load_compose, plan
from tests.deployment.compose_processes import wait_for as _wait
from tests.deployment.store_contents import PARTS, describe, differences, store_contents

pytestmark = pytest.mark.postgres

ADMIN_URL = os.environ.get("OKS_TEST_PG_ADMIN_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres")
PERIOD = "2026-10"


def _pg_reachable() -> bool:
    try:
        with sa.create_engine(ADMIN_URL).connect():
            return True
    except Exception:  # noqa: BLE001 - no server: skipped locally, fails under CI
        return False


def _redis_reachable() -> bool:
    import redis

    try:
        return bool(redis.Redis(host="127.0.0.1", port=6379, socket_timeout=2).ping())
    except Exception:  # noqa: BLE001
        return False


class Api:
    """The REST API, logged in as ``user`` (``admin`` runs the DAG; ``ops``, the approver, answers)."""

    def __init__(self, url: str, password_file: Path, user: str = "admin") -> None:
        self.url, self.password_file, self.user, self.token = url, password_file, user, None
        self.http = requests.Session()

    def _headers(self) -> dict:
        if self.token is None:
            passwords = json.loads(self.password_file.read_text(encoding="utf-8"))
            answer = self.http.post(f"{self.url}/auth/token", json={"username": self.user, "password": passwords[self.user]}, timeout=10)
            answer.raise_for_status()
            self.token = answer.json()["access_token"]
        return {"Authorization": f"Bearer {self.token}"}

    def call(self, method: str, path: str, **kwargs) -> dict:
        answer = self.http.request(method, f"{self.url}/api/v2/{path}", headers=self._headers(), timeout=15, **kwargs)
        answer.raise_for_status()
        return answer.json() if answer.content else {}


@pytest.fixture(scope="module")
def deployment(tmp_path_factory):
    if not (_pg_reachable() and _redis_reachable()):
        if os.environ.get("CI") == "true":
            pytest.fail("the Celery deployment test needs PostgreSQL on 127.0.0.1:5432 and Redis on 127.0.0.1:6379")
        pytest.skip("no PostgreSQL or Redis on loopback")
    home = tmp_path_factory.mktemp("celery-home")
    logs = home / "process-logs"
    logs.mkdir()
    tag = f"{os.getpid()}_{int(time.time())}"
    names = {"metadata": f"oks_ci_airflow_{tag}", "store": f"oks_ci_store_{tag}"}
    admin = sa.create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        for name in names.values():
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    simulator = subprocess.Popen(
        [str(BIN / "oks"), "simulator", "--port", "0", "--db", str(home / "des-simulator.sqlite"), "--insurer-delay", "4",
         "--transfer-delay", "4", "--ready-file", str(home / "simulator.url")],
        stdout=(logs / "des-simulator.log").open("w"), stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    started = time.monotonic()
    deployed = None
    try:
        des_url = _wait("the DES simulator", lambda: (home / "simulator.url").read_text().strip(), 30, 0.1)
        where = Locations(home=home / "airflow", metadata_db=names["metadata"], store_db=names["store"], redis_db=11)
        where.home.mkdir()
        env = dotenv_for_run(des_url=des_url)
        deployed = Deployment(plan(load_compose(env), where, workers=2, extra_env=RUN_ENV), logs)
        import redis

        redis.Redis(host="127.0.0.1", port=6379, db=where.redis_db).flushdb()
        deployed.run_init()
        deployed.start()
        url = f"http://127.0.0.1:{where.api_port}"
        _wait("the api-server", lambda: requests.get(f"{url}/api/v2/monitor/health", timeout=5).ok, 180)
        api = Api(url, where.home / "secrets" / "passwords.json")
        _wait("oks_monthly parsed", lambda: api.call("GET", "dags/oks_monthly"), 180, 2)
        yield {"api": api, "deployment": deployed, "where": where, "env": env, "des_url": des_url, "home": home,
               "store_url": f"postgresql+psycopg2://postgres@127.0.0.1:5432/{names['store']}", "ready_s": time.monotonic() - started}  # fmt: skip
    finally:
        if deployed is not None:
            deployed.stop()
        os.killpg(simulator.pid, 15)
        simulator.wait(timeout=30)
        with admin.connect() as conn:
            for name in names.values():
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


# The month of the first tests: the payroll `oks run-month` makes for these numbers, so the embedded
# default can run the very same month for the parity check.
MONTH = {"period": PERIOD, "employees": 40, "employers": 2, "seed": 11}


@pytest.fixture(scope="module")
def celery_month(deployment, tmp_path_factory):
    """One month on the Celery deployment, answered by operations: what it showed on the way."""
    from oks.orchestration.airflow_api import AirflowApi
    from oks.orchestration.local_run import BankStatementJob, demo_payroll
    from oks.store import open_store

    api = deployment["api"]
    days = {date.today()}
    manifest = demo_payroll(tmp_path_factory.mktemp("payroll") / PERIOD, PERIOD, employees=MONTH["employees"],
                            employers=MONTH["employers"], seed=MONTH["seed"])  # fmt: skip
    requests.put(f"{deployment['des_url']}/_control/identity-register", data=manifest.identity_register.read_bytes(),
                 headers={"Content-Type": "text/csv"}, timeout=10).raise_for_status()
    api.call("PATCH", "dags/oks_monthly", json={"is_paused": False})
    started = time.monotonic()
    run = api.call("POST", "dags/oks_monthly/dagRuns", json={
        "logical_date": None, "conf": {"period": PERIOD, "payroll_source": str(manifest.payroll.parent), "des_batch_size": 1}})
    run_id = run["dag_run_id"]

    def tasks() -> list[dict]:
        return api.call("GET", f"dags/oks_monthly/dagRuns/{quote(run_id)}/taskInstances", params={"limit": 500})["task_instances"]

    # While the insurers are silent, the waits are deferred: the pool as it stands then.
    waiting = _wait("a deferred wait", lambda: [t for t in tasks() if t["state"] == "deferred"], 300, 0.5)
    pool = api.call("GET", "pools/default_pool")
    running = [t["task_id"] for t in tasks() if t["state"] == "running"]

    ops = Api(api.url, api.password_file, "ops")  # OKS_APPROVERS=ops: only operations may confirm a transfer
    ops._headers()
    with BankStatementJob(AirflowApi(api.url, token=ops.token), engine=open_store(deployment["store_url"]), interval=1):
        final = _wait("the run to end", lambda: (s := api.call("GET", f"dags/oks_monthly/dagRuns/{quote(run_id)}")["state"]) in ("success", "failed") and s, 900, 2)
    days.add(date.today())
    return {"state": final, "wall_s": time.monotonic() - started, "tasks": tasks(), "waiting": waiting, "pool": pool,
            "running_during_wait": running, "days": days}  # fmt: skip


def test_a_month_on_celery_with_two_workers(deployment, celery_month):
    from oks.store import open_store
    from oks.store.schema import payment_obligations

    tasks, pool, waiting = celery_month["tasks"], celery_month["pool"], celery_month["waiting"]
    states = {(t["task_id"], t["map_index"]): t["state"] for t in tasks}
    assert celery_month["state"] == "success", states
    slots = {"deferred_tasks": len(waiting), "deferred_slots": pool["deferred_slots"], "running_slots": pool["running_slots"],
             "occupied_slots": pool["occupied_slots"], "running_tasks": celery_month["running_during_wait"]}  # fmt: skip
    # Deferred tasks are counted apart and occupy nothing: every occupied slot is a running or queued task.
    assert pool["deferred_slots"] >= 1 and pool["occupied_slots"] == pool["running_slots"] + pool["queued_slots"], slots
    assert all(t["task_id"].startswith("des.wait_for_") for t in waiting)
    hosts = {t["hostname"].split(".")[0] for t in tasks if t["hostname"] and not t["task_id"].startswith("des.wait_for_")}
    assert hosts == {"airflow-worker-1", "airflow-worker-2"}, hosts  # one run's tasks on both workers

    with open_store(deployment["store_url"]).connect() as conn:
        obligations = conn.execute(sa.select(payment_obligations.c.state)).scalars().all()
    assert obligations and set(obligations) <= {"paid", "late"}  # every one confirmed (late: past its deadline today)
    print(f"celery month: ready {deployment['ready_s']:.0f} s, run {celery_month['wall_s']:.0f} s, {len(states)} task instances, "
          f"slots during a wait {slots}")


def test_the_celery_month_leaves_what_the_embedded_default_leaves(deployment, celery_month, tmp_path):
    """The same payroll through `oks run-month` (dag.test() in one process, the SQLite store): the same
    people, outcomes, contributions, obligations and DES requests as the Celery run left in PostgreSQL,
    and the same payments at DES, item by item."""
    from oks.store import open_store

    assert celery_month["state"] == "success"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "OKS_", "_AIRFLOW"))}
    env.update(AIRFLOW_HOME=str(tmp_path / "airflow"), OKS_HOME=str(tmp_path / "oks"), NO_COLOR="1")
    days = {date.today()}
    embedded = subprocess.run(
        [str(BIN / "oks"), "run-month", "--repo", str(REPO), "--period", PERIOD, "--employees", str(MONTH["employees"]),
         "--employers", str(MONTH["employers"]), "--seed", str(MONTH["seed"])],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    days.add(date.today())
    assert embedded.returncode == 0, embedded.stdout[-3000:] + embedded.stderr[-3000:]
    run_days = celery_month["days"] | days
    on_celery = store_contents(open_store(deployment["store_url"]), PERIOD, simulator_db=deployment["home"] / "des-simulator.sqlite",
                               run_days=run_days)  # fmt: skip
    on_embedded = store_contents(open_store(f"sqlite:///{tmp_path / 'oks' / 'store.sqlite'}"), PERIOD,
                                 simulator_db=tmp_path / "oks" / "simulator" / "des.sqlite", run_days=run_days)  # fmt: skip
    assert all(on_celery[part] for part in PARTS), {p: len(r) for p, r in on_celery.items()}
    assert not (diff := differences(on_celery, on_embedded)), describe(diff, on_celery, on_embedded)
    print("parity with the embedded default: " + ", ".join(f"{len(rows)} {part}" for part, rows in on_celery.items()))


def _trigger(deployment, tmp_path, period: str, seed: int) -> str:
    from oks.payroll.synthetic import generate

    api = deployment["api"]
    manifest = generate(tmp_path / f"payroll-{period}", period=period, fmt="csv", employers=2, employees=30, seed=seed,
                        defect_share=0, identity_mismatch_share=0)  # fmt: skip
    requests.put(f"{deployment['des_url']}/_control/identity-register", data=manifest.identity_register.read_bytes(),
                 headers={"Content-Type": "text/csv"}, timeout=10).raise_for_status()  # fmt: skip
    api.call("PATCH", "dags/oks_monthly", json={"is_paused": False})
    run = api.call("POST", "dags/oks_monthly/dagRuns", json={
        "logical_date": None, "conf": {"period": period, "payroll_source": str(manifest.payroll.parent), "des_batch_size": 1}})
    return run["dag_run_id"]


def test_a_worker_killed_mid_run_is_survived_by_the_run(deployment, tmp_path):
    """The last test of the module: it leaves one worker."""
    from oks.orchestration.airflow_api import AirflowApi
    from oks.orchestration.local_run import BankStatementJob
    from oks.store import open_store

    api, deployed = deployment["api"], deployment["deployment"]
    run_id = _trigger(deployment, tmp_path, "2026-09", seed=12)

    def tasks() -> list[dict]:
        return api.call("GET", f"dags/oks_monthly/dagRuns/{quote(run_id)}/taskInstances", params={"limit": 500})["task_instances"]

    def on_worker_1():
        return [t for t in tasks() if t["state"] == "running" and (t["hostname"] or "").startswith("airflow-worker-1")]

    # The moment worker 1 runs a task of this run (or, failing that, once the run waits on DES): kill it.
    victim = _wait("a task running on worker 1, or a wait", lambda: on_worker_1() or [t for t in tasks() if t["state"] == "deferred"], 300, 0.2)
    killed_at = time.monotonic()
    deployed.kill("airflow-worker-1")
    killed_task = victim[0] if victim[0]["state"] == "running" else None

    ops = Api(api.url, api.password_file, "ops")
    ops._headers()
    with BankStatementJob(AirflowApi(api.url, token=ops.token), engine=open_store(deployment["store_url"]), interval=1):
        final = _wait("the run to end", lambda: (s := api.call("GET", f"dags/oks_monthly/dagRuns/{quote(run_id)}")["state"]) in ("success", "failed") and s, 900, 2)
    states = {(t["task_id"], t["map_index"]): (t["state"], t["try_number"], t["hostname"]) for t in tasks()}
    assert final == "success", states
    assert deployed.alive()["airflow-worker-1"] is False and deployed.alive()["airflow-worker-2"] is True
    if killed_task is not None:
        again = next(t for t in tasks() if (t["task_id"], t["map_index"]) == (killed_task["task_id"], killed_task["map_index"]))
        # The scheduler saw the task's heartbeat stop, failed that try, and the retry ran on worker 2.
        assert again["try_number"] >= 2 and again["hostname"].startswith("airflow-worker-2"), again
    print(f"killed worker 1 {'running ' + killed_task['task_id'] if killed_task else 'during a wait'}; "
          f"run finished {time.monotonic() - killed_at:.0f} s later")
