"""Fixtures for the DES gateway tests: a real simulator on loopback, clients, ledgers, people.

One simulator per test module (a thread of the test process, on a free port, its own SQLite file);
each test starts from a wiped state via ``POST /_control/reset``. Tests that stop and restart the
simulator, or kill a client, use subprocesses instead (see ``run_simulator``).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
import requests
from stdnum.tr import tckimlik

from oks.des.client import DesClient
from oks.des.ledger import Ledger
from oks.des.models import ContractRegistration, PaymentItem, Person, WsCredentials
from oks.des.settings import DesSettings
from oks.des.simulator.server import DEMO_CUSTOMER, BackgroundSimulator, SimulatorOptions
from oks.store import open_store

from .contract import response_hook

PASSWORD = DEMO_CUSTOMER.password
PERIOD = "2026-05"
WAGE_DAY = date(2026, 5, 25)
FIRST = ("Ayşe", "Mehmet", "İsmail", "Işıl", "Çağrı", "Gülşen", "Ömer", "Şule")
LAST = ("Yılmaz", "Demir", "Öztürk", "Şahin", "Çelik", "Kılıç", "Aydın", "Doğan")


def tckn(n: int) -> str:
    """The n-th synthetic TCKN: valid by checksum, distinct per n."""
    base = str(100_000_000 + n)
    return base + tckimlik.calc_check_digits(base)


def person(n: int, **changes) -> Person:
    fields = dict(
        tckn=tckn(n),
        first_name=FIRST[n % len(FIRST)],
        last_name=LAST[(n // len(FIRST)) % len(LAST)],
        birth_date=date(1970 + n % 35, 1 + n % 12, 1 + n % 28),
        mobile=f"+90532{n % 10_000_000:07d}",
        hire_date=date(2025, 1, 1),
    )
    return Person(**{**fields, **changes})


def people(count: int, start: int = 0) -> list[Person]:
    return [person(n) for n in range(start, start + count)]


def write_register(path: Path, persons, *, mangle: set[str] = frozenset()) -> Path:
    """identity_register.csv as the payroll generator writes it; ``mangle`` TCKNs get another surname."""
    lines = ["tckn,first_name,last_name,birth_date"]
    for p in persons:
        last = "Başka" if p.tckn in mangle else p.last_name.upper()  # upper case: the register's spelling
        lines.append(f"{p.tckn},{p.first_name},{last},{p.birth_date.isoformat()}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def amount_for(n: int) -> Decimal:
    return Decimal(1000 + (n * 37) % 5000) + Decimal(n % 100) / 100


class SimControl:
    """The simulator's control endpoints, for arranging and asserting."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.http = requests.Session()

    def _call(self, method: str, path: str, **kw):
        response = self.http.request(method, self.url + path, timeout=30, **kw)
        assert response.status_code < 300, f"{method} {path}: {response.status_code} {response.text}"
        return response.json()

    def reset(self):
        return self._call("POST", "/_control/reset")

    def state(self) -> dict:
        return self._call("GET", "/_control/state")

    def faults(self, **changes) -> dict:
        return self._call("PUT", "/_control/faults", json=changes)

    def clear_faults(self) -> dict:
        return self._call("DELETE", "/_control/faults")

    def counters(self) -> dict:
        return self._call("GET", "/_control/faults")["counters"]

    def settings(self, **changes) -> dict:
        return self._call("PUT", "/_control/settings", json=changes)

    def expire_tokens(self) -> int:
        return self._call("POST", "/_control/tokens/expire")["expired"]

    def load_register(self, path: Path) -> dict:
        return self._call("PUT", "/_control/identity-register", json={"path": str(path)})

    def event(self, contract_no: str, type_: str, tckn_: str, **dates) -> dict:
        return self._call("POST", "/_control/events", json={"contract_no": contract_no, "type": type_, "tckn": tckn_, **dates})

    def process(self, force: bool = True) -> dict:
        return self._call("POST", f"/_control/process?force={'true' if force else 'false'}")

    def customer(self, customer_no: str, tckn_: str, password: str) -> dict:
        return self._call("POST", "/_control/customers", json={"customer_no": customer_no, "tckn": tckn_, "password": password})


@pytest.fixture(scope="module")
def sim_server(tmp_path_factory):
    options = SimulatorOptions(db=tmp_path_factory.mktemp("des-sim") / "sim.sqlite", port=0, insurer_delay=0.05, transfer_delay=0.05)
    with BackgroundSimulator(options) as server:
        yield server


@pytest.fixture
def sim(sim_server) -> SimControl:
    control = SimControl(sim_server.url)
    control.reset()
    control.settings(insurer_delay=0.05, transfer_delay=0.05)
    yield control
    control.http.close()


def fast_settings(url: str, **changes) -> DesSettings:
    """Settings for tests: short waits, a generous number of attempts."""
    base = dict(
        base_url=url, customer_no=DEMO_CUSTOMER.customer_no, tckn=DEMO_CUSTOMER.tckn, password=PASSWORD,
        connect_timeout=2.0, read_timeout=10.0, batch_size=100, page_size=100,
        max_attempts=8, retry_budget=60.0, backoff_initial=0.005, backoff_max=0.05,
    )
    return DesSettings(**{**base, **changes})


@pytest.fixture
def settings(sim) -> DesSettings:
    return fast_settings(sim.url)


@pytest.fixture
def answers() -> list:
    """Every /api answer the ``client`` fixture received (each already checked against the contract)."""
    return []


@pytest.fixture
def client(settings, answers):
    des = DesClient(settings)
    des.session.hooks["response"].append(response_hook(answers))
    yield des
    des.close()


@pytest.fixture
def ledger_engine(database_url):
    """The store as the pipeline opens it (migrated, with its SQLite settings), on SQLite and PostgreSQL."""
    engine = open_store(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def ledger(ledger_engine) -> Ledger:
    return Ledger(ledger_engine)


@pytest.fixture
def sqlite_ledger(sqlite_url):
    engine = open_store(sqlite_url)
    yield Ledger(engine)
    engine.dispose()


CONTRACT = ContractRegistration(contract_no="AGS-2026-001", insurer="AGESA", starts_on=date(2026, 1, 1), employer_vkn="1234567890")


@pytest.fixture
def contract(client) -> ContractRegistration:
    """A registered AGESA contract with WS credentials."""
    client.register_contract(CONTRACT)
    client.store_ws_credentials(CONTRACT.contract_no, WsCredentials(user="ws-user", password="ws-secret"))
    return CONTRACT


def wait_until(predicate, *, timeout: float = 15.0, interval: float = 0.02, what: str = "condition"):
    """Poll ``predicate`` until it returns something truthy; bounded (fails after ``timeout``)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(interval)


def enrol(client: DesClient, contract_no: str, persons: list[Person]) -> dict[str, str]:
    """Submit, send and wait for the insurer: TCKN → policy number of everyone enrolled."""
    submission = client.submit_personnel(contract_no, PERIOD, persons)
    client.send_personnel_to_insurer(submission.list_id)
    wait_until(lambda: client.read_personnel_results(submission.list_id, limit=1).state == "COMPLETED", what="list completed")
    return {r.tckn: r.policy_no for r in client.iter_personnel_results(submission.list_id) if r.status == "ENROLLED"}


def items_for(policies: dict[str, str], numbers: dict[str, int] | None = None) -> list[PaymentItem]:
    index = numbers or {}
    return [PaymentItem(tckn=t, policy_no=p, amount=amount_for(index.get(t, i))) for i, (t, p) in enumerate(sorted(policies.items()))]


@dataclass
class SimProcess:
    """``oks simulator`` in a subprocess (for restarts and kills)."""

    process: subprocess.Popen
    url: str
    port: int

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)


OKS = str(Path(sys.executable).parent / "oks")


def run_simulator(db: Path, ready: Path, *args: str, port: int = 0) -> SimProcess:
    ready.unlink(missing_ok=True)
    log = open(db.with_suffix(".log"), "a")  # a file, not a pipe: a chatty server must never block on it
    process = subprocess.Popen(
        [OKS, "simulator", "--db", str(db), "--port", str(port), "--ready-file", str(ready), *args],
        stdout=log, stderr=subprocess.STDOUT, text=True, env={**os.environ},
    )
    log.close()
    try:
        wait_until(lambda: ready.exists() or process.poll() is not None, timeout=30, what="simulator start")
    except AssertionError:
        process.kill()
        raise
    if process.poll() is not None:
        raise AssertionError(f"simulator exited: {db.with_suffix('.log').read_text()}")
    url = ready.read_text()
    return SimProcess(process, url, int(url.rsplit(":", 1)[1]))


class RawApi:
    """Plain HTTP against the contract (for what the client never sends: reused keys, bad bodies, …).
    Every answer is checked against the contract too."""

    def __init__(self, url: str, customer_no: str = DEMO_CUSTOMER.customer_no, tckn_: str = DEMO_CUSTOMER.tckn, password: str = PASSWORD) -> None:
        self.url = url
        self.http = requests.Session()
        self.http.hooks["response"].append(response_hook())
        self.token = self.http.post(
            url + "/api/v1/auth/token", json={"customer_no": customer_no, "tckn": tckn_, "password": password}, timeout=10
        ).json()["access_token"]

    def __call__(self, method: str, path: str, *, key: str | None = None, token: str | None = "default", **kw) -> requests.Response:
        headers = dict(kw.pop("headers", {}))
        if token == "default":
            token = self.token
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        if key is not None:
            headers["Idempotency-Key"] = key
        return self.http.request(method, self.url + "/api/v1" + path, headers=headers, timeout=30, **kw)


def error(response: requests.Response) -> tuple[int, str]:
    return response.status_code, response.json()["error"]["code"]


def person_json(n: int, **changes) -> dict:
    return {**person(n).model_dump(mode="json"), **changes}


@pytest.fixture
def api(sim) -> RawApi:
    raw = RawApi(sim.url)
    yield raw
    raw.http.close()


@pytest.fixture
def raw_contract(api) -> str:
    """A registered AGESA contract with WS credentials, through plain HTTP."""
    assert api("PUT", "/contracts/C-1", json={"insurer": "AGESA", "starts_on": "2026-01-01", "employer_vkn": "1234567890"}).status_code == 201
    assert api("PUT", "/contracts/C-1/ws-credentials", json={"user": "u", "password": "p"}).status_code == 200
    return "C-1"
