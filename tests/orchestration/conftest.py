"""Fixtures for the Airflow-facing code: the DES simulator reached through a real Airflow connection,
and a throwaway Airflow metadata database for ``dag.test()``.

``airflow_home`` (session) — an Airflow of our own for the test session, so ``dag.test()`` runs DAGs
for real (in-process tasks, triggers run inline) without touching ``~/airflow`` or the developer's
``.airflow``:

- ``AIRFLOW_HOME`` = a temporary directory; ``AIRFLOW__DATABASE__SQL_ALCHEMY_CONN`` = a SQLite file in
  it; ``AIRFLOW__CORE__LOAD_EXAMPLES=False``; logs under it.
- DAG bundles, in this order: ``oks-test-dags`` = ``airflow_home.dags`` (an empty temporary folder
  where a test writes a small DAG file, see :meth:`AirflowHome.write_dag`), then ``dags-folder`` =
  the repository's ``dags/`` (``AIRFLOW__CORE__DAGS_FOLDER``), so a test may equally ``dag.test()`` a
  real DAG. ``dag.test()`` parses bundles in that order and stops at the first that holds its DAG.
- The schema is created once (``airflow.utils.db.initdb``, what ``airflow db migrate`` does on an
  empty database: 1–2 s on SQLite); runs accumulate in it over the session, each under its own
  run id, so tests must not count runs globally. A ``dag.test()`` of a handful of tasks takes ~5 s
  (bundle parsing, the in-process execution API), so DAG tests should share runs where they can.
- ``dag.test()`` runs each task in this process and, when one defers, runs its trigger inline
  (``asyncio.run`` until the first event) before resuming the task: connections come from
  ``AIRFLOW_CONN_…`` variables here as in a deployment. The ``log`` table records each task's
  ``running`` / ``deferred`` / ``success`` events, which is how a test proves a wait really deferred.

Airflow reads its configuration when first imported and keeps the database URL, DAGs folder and
engine in module globals; another test may have imported it already. The fixture therefore sets
the environment, then re-reads those globals (``settings.configure_vars``) and rebuilds the engine
(``settings.reconfigure_orm``). At the end of the session it restores the environment and points
Airflow back at whatever it used before.

``des_connection`` — ``AIRFLOW_CONN_DES_DEFAULT`` (JSON form) pointing at this module's simulator,
as an operator would configure it; the trigger reads it with Airflow's async connection lookup.
"""

from __future__ import annotations

import importlib.util
import json
import re
import socket
import sys
import textwrap
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.des.conftest import (  # noqa: F401 - fixtures re-exported for this package
    CONTRACT,
    PASSWORD,
    answers,
    client,
    contract,
    settings,
    sim,
    sim_server,
)
from oks.des.simulator.server import DEMO_CUSTOMER

REPO = Path(__file__).resolve().parents[2]


def connection_json(url: str, *, read_timeout: float = 5.0, connect_timeout: float = 2.0, **extra) -> str:
    """``des_default`` as an ``AIRFLOW_CONN_…`` JSON value: URL as host, MHN as login, TCKN in extra."""
    return json.dumps(
        {
            "conn_type": "http",
            "host": url,
            "login": DEMO_CUSTOMER.customer_no,
            "password": PASSWORD,
            "extra": {"tckn": DEMO_CUSTOMER.tckn, "read_timeout": read_timeout, "connect_timeout": connect_timeout, **extra},
        }
    )


@pytest.fixture
def des_connection(sim, monkeypatch) -> str:
    """The ``des_default`` connection, pointing at the simulator; returns the connection id."""
    monkeypatch.setenv("AIRFLOW_CONN_DES_DEFAULT", connection_json(sim.url))
    return "des_default"


@dataclass(frozen=True)
class AirflowHome:
    path: Path
    dags: Path  # the oks-test-dags bundle: write test DAG files here
    database_url: str

    def write_dag(self, source: str, name: str | None = None) -> Path:
        """Write a DAG file into the test bundle (dedented); its module name is unique per call."""
        path = self.dags / f"{name or 'dag_' + uuid.uuid4().hex[:10]}.py"
        path.write_text(textwrap.dedent(source), encoding="utf-8")
        return path

    def load_dag(self, path: Path, dag_id: str):
        """Import a DAG file the way a test needs it: the ``DAG`` object whose ``test()`` to call."""
        spec = importlib.util.spec_from_file_location(f"oks_test_dag_{path.stem}", path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
        return next(v for v in vars(module).values() if getattr(v, "dag_id", None) == dag_id and hasattr(v, "test"))


@pytest.fixture(scope="session")
def airflow_home(tmp_path_factory):
    home = tmp_path_factory.mktemp("airflow-home")
    dags = home / "test_dags"
    dags.mkdir()
    database_url = f"sqlite:///{home / 'airflow.db'}"
    bundles = [
        {"name": "oks-test-dags", "classpath": "airflow.dag_processing.bundles.local.LocalDagBundle", "kwargs": {"path": str(dags)}},
        {"name": "dags-folder", "classpath": "airflow.dag_processing.bundles.local.LocalDagBundle", "kwargs": {}},
    ]
    env = {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": database_url,
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
        "AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST": json.dumps(bundles),
        # The default was expanded from the AIRFLOW_HOME seen at import, which may be someone else's.
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(home / "logs"),
    }
    with pytest.MonkeyPatch.context() as mp:
        for name, value in env.items():
            mp.setenv(name, value)
        _point_airflow_at_environment()
        from airflow.utils.db import initdb

        initdb()
        yield AirflowHome(home, dags, database_url)
        from airflow import settings

        settings.dispose_orm()
    _point_airflow_at_environment()


def _point_airflow_at_environment() -> None:
    from airflow import settings

    settings.configure_vars()
    settings.reconfigure_orm()
    settings.configure_adapters()


class RecordingProxy:
    """A TCP relay on loopback in front of the simulator that notes each HTTP request line and how many
    bytes came back: what the trigger really sends over the wire, without touching the trigger."""

    _REQUEST_LINE = re.compile(rb"^(GET|POST|PUT|DELETE) (\S+) HTTP/1\.[01]\r$", re.M)

    def __init__(self, target_url: str) -> None:
        target = urlsplit(target_url)
        self.target = (target.hostname, target.port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.requests: list[str] = []
        self.bytes_down = 0
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            threading.Thread(target=self._pipe, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=self._pipe, args=(upstream, client, False), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket, requests: bool) -> None:
        try:
            while data := source.recv(65536):
                with self._lock:
                    if requests:
                        self.requests += [f"{m.group(1).decode()} {m.group(2).decode()}" for m in self._REQUEST_LINE.finditer(data)]
                    else:
                        self.bytes_down += len(data)
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self) -> None:
        self.listener.close()


@pytest.fixture
def proxy(sim, monkeypatch) -> RecordingProxy:
    """``des_default`` pointing at a :class:`RecordingProxy` in front of the simulator."""
    relay = RecordingProxy(sim.url)
    monkeypatch.setenv("AIRFLOW_CONN_DES_DEFAULT", connection_json(relay.url))
    yield relay
    relay.close()
