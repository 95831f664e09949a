"""Fixtures for the Airflow-facing code: the DES simulator reached through a real Airflow connection,
a throwaway Airflow metadata database for ``dag.test()``, and real receivers for alerts.

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

The DES simulator itself (``sim_server``, ``sim``) and the client on it (``settings``, ``client``,
``contract``, ``answers``) come from the plugin :mod:`tests.fixtures.des_simulator`, registered for the
whole suite in tests/conftest.py.

``des_connection`` — ``AIRFLOW_CONN_DES_DEFAULT`` (JSON form) pointing at this module's simulator,
as an operator would configure it; the trigger reads it with Airflow's async connection lookup.
"""

from __future__ import annotations

import re
import socket
import threading
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.alert_receivers import SmtpListener, WebhookReceiver
from tests.des_connection import connection_json

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def des_connection(sim, monkeypatch) -> str:
    """The ``des_default`` connection, pointing at the simulator; returns the connection id."""
    monkeypatch.setenv("AIRFLOW_CONN_DES_DEFAULT", connection_json(sim.url))
    return "des_default"


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


# Alerts: a real SMTP listener and a real webhook receiver, configured as Airflow connections, for the
# notifier and runbook tests of this package. ``oks_home`` is not autouse here (it would be for every
# test of the package): the modules that want a home of their own per test say so with
# ``pytestmark = pytest.mark.usefixtures("oks_home")``.


@pytest.fixture
def smtp(monkeypatch):
    listener = SmtpListener().start()
    monkeypatch.setenv("AIRFLOW_CONN_OKS_ALERT_SMTP", listener.connection_json(["oncall@example.com"]))
    yield listener
    listener.stop()


@pytest.fixture
def webhook(monkeypatch):
    receiver = WebhookReceiver().start()
    monkeypatch.setenv("AIRFLOW_CONN_OKS_ALERT_WEBHOOK", receiver.connection_json())
    yield receiver
    receiver.stop()


@pytest.fixture
def oks_home(tmp_path, monkeypatch):
    monkeypatch.setenv("OKS_HOME", str(tmp_path / "home"))
    return tmp_path / "home"
