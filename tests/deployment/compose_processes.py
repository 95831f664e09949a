"""docker-compose.yaml's Airflow services run as plain processes on this machine (no Docker engine here).

Everything is read from the compose file itself — each service's command and its environment — and
changed only where a container and a process must differ, each change named in :data:`TRANSLATIONS`
and checked by tests/deployment/test_compose_file.py:

- service hostnames (``postgres``, ``redis``, ``airflow-apiserver``, ``des-simulator``) become loopback,
  with this run's own databases on the local PostgreSQL and its own Redis database number;
- the image's paths (``/opt/airflow/...``) become folders of a temporary home, the DAGs the checkout's;
- every port a container has to itself (api-server, worker and triggerer log servers, the scheduler's
  health check) gets a free one, since the processes share one host;
- ``${VAR}`` comes from the .env this run writes (fresh secrets, one JWT secret for every component).

Processes are started in their own process groups and stopped by pid (SIGTERM, then SIGKILL).
"""

from __future__ import annotations

import os
import re
import secrets
import shlex
import signal
import socket
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
COMPOSE_FILE = REPO / "docker-compose.yaml"
AIRFLOW_SERVICES = ("airflow-init", "airflow-apiserver", "airflow-scheduler", "airflow-dag-processor", "airflow-triggerer", "airflow-worker")
BIN = Path(sys.executable).parent

TRANSLATIONS = {
    "hosts": "postgres, redis, airflow-apiserver and des-simulator are loopback services of this run",
    "paths": "/opt/airflow/<x> is <home>/<x>; /opt/airflow/dags is the checkout's dags/",
    "ports": "the api-server, log servers and scheduler health check get free ports on the shared host",
    "workers": "two airflow-worker processes (compose: --scale airflow-worker=2), each named for Celery and Airflow",
}

# What a local run needs beyond the compose file (each a setting the file leaves at its production default).
RUN_ENV = {
    "OKS_DES_POLL_SECONDS": "2",  # production: 300
    "OKS_TASK_RETRIES": "2", "OKS_RETRY_DELAY_SECONDS": "3",
    "AIRFLOW__CELERY__WORKER_CONCURRENCY": "3",  # production: 16 per worker
    # A killed worker's task is noticed within this (production default: 300 s).
    "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": "30",
    "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL": "5",
}

_VAR = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}")


def interpolate(text: str, env: Mapping[str, str]) -> str:
    """Compose's variable syntax: ``${X}``, ``${X:-default}``, ``${X:?error}``, ``$$`` for ``$``."""

    def one(match: re.Match) -> str:
        if match.group(0) == "$$":
            return "$"
        name, op, arg = match.group(1), match.group(2), match.group(3)
        value = env.get(name)
        if op in (":-", "-"):
            return value if value not in (None, "") or (op == "-" and value is not None) else arg
        if op in (":?", "?") and not value:
            raise ValueError(f"docker-compose.yaml: {arg or name + ' is not set'}")
        return value or ""

    return _VAR.sub(one, text)


def load_compose(env: Mapping[str, str]) -> dict:
    """The compose file as compose reads it: anchors and merge keys resolved, variables interpolated."""
    raw = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))

    def walk(value):
        if isinstance(value, str):
            return interpolate(value, env)
        if isinstance(value, list):
            return [walk(v) for v in value]
        if isinstance(value, dict):
            return {k: walk(v) for k, v in value.items()}
        return value

    return walk(raw)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def dotenv_for_run(*, des_url: str) -> dict[str, str]:
    """What an operator puts in .env (from .env.example), with fresh secrets and the simulator as DES."""
    from cryptography.fernet import Fernet

    env = {}
    for line in (REPO / ".env.example").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            env[key.strip()] = value.strip()
    env["AIRFLOW_FERNET_KEY"] = Fernet.generate_key().decode()
    env["AIRFLOW_JWT_SECRET"] = secrets.token_urlsafe(48)
    env["OKS_DES_CONNECTION"] = env["OKS_DES_CONNECTION"].replace("http://des-simulator:8765", des_url)
    env["OKS_ALERT_SMTP_CONNECTION"] = ""  # no mail catcher here: the outbox channel is always on
    return env


@dataclass
class Locations:
    """Where this run's services are: the translation of the compose file's names."""

    home: Path
    metadata_db: str
    store_db: str
    redis_db: int
    api_port: int = field(default_factory=free_port)
    pg: str = "postgresql+psycopg2://postgres@127.0.0.1:5432"

    def translate(self, value: str) -> str:
        value = re.sub(r"(postgresql(?:\+psycopg2)?|db\+postgresql)://[^@/]+@postgres(?::5432)?/airflow",
                       lambda m: f"{m.group(1)}://postgres@127.0.0.1:5432/{self.metadata_db}", value)
        value = re.sub(r"(postgresql(?:\+psycopg2)?)://[^@/]+@postgres(?::5432)?/oks",
                       lambda m: f"{m.group(1)}://postgres@127.0.0.1:5432/{self.store_db}", value)
        value = value.replace("redis://redis:6379/0", f"redis://127.0.0.1:6379/{self.redis_db}")
        value = value.replace("http://airflow-apiserver:8080/", f"http://127.0.0.1:{self.api_port}/")
        value = value.replace("/opt/airflow/dags", str(REPO / "dags"))
        return value.replace("/opt/airflow/", f"{self.home}/")


@dataclass
class ServiceProcess:
    service: str
    name: str
    argv: list[str]
    env: dict[str, str]


def plan(compose: dict, where: Locations, *, workers: int = 2, extra_env: Mapping[str, str] | None = None) -> list[ServiceProcess]:
    """The processes that stand in for the compose file's Airflow services, in start order."""
    planned = []
    for service in AIRFLOW_SERVICES:
        spec = compose["services"][service]
        command = spec["command"]
        argv = list(command) if isinstance(command, list) else shlex.split(command)
        if spec.get("entrypoint") == "/bin/bash":
            argv = ["bash", *argv]
        else:  # the official image's entrypoint runs `airflow <command>`
            argv = [str(BIN / "airflow"), *argv]
        env = {k: where.translate(str(v)) for k, v in (spec.get("environment") or {}).items()}
        env.update(
            PATH=f"{BIN}:{os.environ.get('PATH', '')}",
            AIRFLOW_HOME=str(where.home),
            AIRFLOW__CORE__DAGS_FOLDER=str(REPO / "dags"),
            AIRFLOW__LOGGING__BASE_LOG_FOLDER=str(where.home / "logs"),
            AIRFLOW__API__HOST="127.0.0.1",
            AIRFLOW__API__PORT=str(where.api_port),
            AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_PORT=str(free_port()),
            AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT=str(free_port()),
            **(extra_env or {}),
        )
        copies = workers if service == "airflow-worker" else 1
        for n in range(1, copies + 1):
            name = f"{service}-{n}" if copies > 1 else service
            own = dict(env)
            own_argv = list(argv)
            if service == "airflow-worker":
                # A container has a hostname of its own; processes on one host are told theirs.
                own_argv += ["--celery-hostname", f"{name}@%h"]
                own.update(OKS_WORKER_NAME=name, AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT=str(free_port()),
                           AIRFLOW__CORE__HOSTNAME_CALLABLE="tests.deployment.hostnames.worker_hostname",
                           PYTHONPATH=str(REPO))  # fmt: skip
            planned.append(ServiceProcess(service, name, own_argv, own))
    return planned


@dataclass
class Deployment:
    """The planned processes, started and stopped as a context manager."""

    processes: list[ServiceProcess]
    logs: Path
    running: dict[str, subprocess.Popen] = field(default_factory=dict)

    def run_init(self, timeout: float = 600) -> None:
        init = next(p for p in self.processes if p.service == "airflow-init")
        for folder in ("secrets", "oks", "logs"):  # the compose file's volumes, as folders of the home
            (Path(init.env["AIRFLOW_HOME"]) / folder).mkdir(parents=True, exist_ok=True)
        with (self.logs / "airflow-init.log").open("w") as log:
            done = subprocess.run(init.argv, env=init.env, stdout=log, stderr=subprocess.STDOUT, timeout=timeout, cwd=REPO)
        if done.returncode:
            raise RuntimeError(f"airflow-init failed ({done.returncode}); see {self.logs / 'airflow-init.log'}")

    def start(self) -> None:
        for p in self.processes:
            if p.service == "airflow-init":
                continue
            log = (self.logs / f"{p.name}.log").open("w")
            self.running[p.name] = subprocess.Popen(p.argv, env=p.env, stdout=log, stderr=subprocess.STDOUT, cwd=REPO,
                                                    start_new_session=True)  # fmt: skip

    def kill(self, name: str) -> None:
        """A worker lost at once (SIGKILL of its whole process group): no warm shutdown."""
        process = self.running[name]
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)

    def stop(self) -> None:
        from oks.orchestration.local_airflow import stop_process_groups

        stop_process_groups(reversed(list(self.running.values())))

    def alive(self) -> dict[str, bool]:
        return {name: process.poll() is None for name, process in self.running.items()}


def wait_for(what: str, check, timeout: float, interval: float = 1.0):
    """Poll ``check`` until it returns something truthy (connection errors and missing keys count as not
    yet); :class:`TimeoutError` naming ``what`` after ``timeout`` seconds."""
    import time

    import requests

    deadline = time.monotonic() + timeout
    while True:
        try:
            result = check()
            if result:
                return result
        except (requests.RequestException, OSError, KeyError, ValueError):
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not within {timeout:g} s")
        time.sleep(interval)
