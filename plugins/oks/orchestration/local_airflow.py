"""Airflow's own components as processes on one machine — what ``oks ui`` runs instead of
``airflow standalone``: the same scheduler, dag-processor, triggerer and api-server, but started here
so that every listening socket is ours to place.

Why not standalone: it cannot be told a port per run, and its scheduler and triggerer start log
servers on every interface (``0.0.0.0:8793`` / ``:8794``, not configurable). On one machine they are
not needed — the api-server reads the task logs from ``AIRFLOW_HOME/logs`` itself — so both run with
``--skip-serve-logs`` and the only port is the api-server's, on the host asked for (loopback by
default).

Each component writes to ``<AIRFLOW_HOME>/logs/oks-ui/<component>.log``; all are stopped, by process
group, when the context ends.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["COMPONENTS", "LocalAirflow", "stop_process_groups"]

# The components and their arguments; the api-server's host and port come from the environment.
COMPONENTS: dict[str, list[str]] = {
    "scheduler": ["scheduler", "--skip-serve-logs"],
    "dag-processor": ["dag-processor"],
    "triggerer": ["triggerer", "--skip-serve-logs"],
    "api-server": ["api-server"],
}


def stop_process_groups(processes: Iterable[subprocess.Popen], grace: float = 30.0) -> None:
    """Stop each process with its whole group (a component's own workers and log servers too):
    SIGTERM to all, then SIGKILL to whatever is still there after ``grace`` seconds."""
    processes = list(processes)
    for process in processes:
        if process.poll() is None:
            try:
                os.killpg(process.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
    deadline = time.monotonic() + grace
    for process in processes:
        try:
            process.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            process.wait(5)


@dataclass
class LocalAirflow:
    env: Mapping[str, str]
    host: str = "127.0.0.1"
    port: int = 8080
    ready_timeout: float = 180.0
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)

    @property
    def url(self) -> str:
        shown = "127.0.0.1" if self.host in ("0.0.0.0", "::") else self.host
        return f"http://{shown}:{self.port}"

    def _environment(self) -> dict[str, str]:
        env = dict(self.env)
        env.setdefault("AIRFLOW__CORE__EXECUTOR", "LocalExecutor")
        # LocalExecutor forks `parallelism` workers up front (32 by default, about 130 MiB each): on one
        # machine a few per core are enough.
        env.setdefault("AIRFLOW__CORE__PARALLELISM", str(2 * (os.cpu_count() or 2)))
        # The one place the bind address is set: `airflow api-server` reads it from [api] host/port.
        env["AIRFLOW__API__HOST"] = self.host
        env["AIRFLOW__API__PORT"] = str(self.port)
        # Workers report to the execution API of *this* api-server, not the default localhost:8080.
        env.setdefault("AIRFLOW__CORE__EXECUTION_API_SERVER_URL", f"{self.url}/execution/")
        # The airflow that runs the components must be this virtualenv's.
        env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
        return env

    def _airflow(self) -> str:
        return str(Path(sys.executable).parent / "airflow")

    def _port_free(self) -> None:
        import socket

        with socket.socket() as s:
            try:
                s.bind((self.host, self.port))
            except OSError:
                # Else the health check could be answered by whatever already listens there.
                raise RuntimeError(f"{self.host}:{self.port} is in use (another `oks ui`?): choose another with --port") from None

    def __enter__(self) -> LocalAirflow:
        self._port_free()
        env = self._environment()
        logs = Path(env["AIRFLOW_HOME"]) / "logs" / "oks-ui"
        logs.mkdir(parents=True, exist_ok=True)
        migrate = subprocess.run([self._airflow(), "db", "migrate"], env=env, capture_output=True, text=True)
        if migrate.returncode != 0:
            raise RuntimeError(f"airflow db migrate failed:\n{migrate.stderr[-4000:]}")
        try:
            for name, args in COMPONENTS.items():
                with open(logs / f"{name}.log", "ab") as out:
                    # Own process group: stopping it stops the component's children (task processes).
                    self.processes[name] = subprocess.Popen(
                        [self._airflow(), *args], env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
                    )  # fmt: skip
            self._wait_ready(logs)
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_ready(self, logs: Path) -> None:
        """Until the api-server answers and reports scheduler, dag-processor and triggerer healthy."""
        import requests

        deadline = time.monotonic() + self.ready_timeout
        health: dict = {}
        while time.monotonic() < deadline:
            for name, process in self.processes.items():
                if process.poll() is not None:
                    tail = (logs / f"{name}.log").read_text(encoding="utf-8", errors="replace")[-3000:]
                    raise RuntimeError(f"airflow {name} exited with {process.returncode}:\n{tail}")
            try:
                health = requests.get(f"{self.url}/api/v2/monitor/health", timeout=3).json()
                if all((health.get(part) or {}).get("status") == "healthy" for part in ("scheduler", "triggerer", "dag_processor")):
                    return
            except (requests.RequestException, ValueError):
                pass
            time.sleep(1)
        raise RuntimeError(f"Airflow did not become healthy on {self.url} in {self.ready_timeout:.0f} s: {health}")

    def wait(self) -> int:
        """Block until a component exits (returns its code) or until interrupted (0)."""
        try:
            while True:
                for process in self.processes.values():
                    if process.poll() is not None:
                        return process.returncode
                time.sleep(1)
        except KeyboardInterrupt:
            return 0

    def stop(self) -> None:
        stop_process_groups(self.processes.values())

    def __exit__(self, *exc) -> None:
        self.stop()
