"""Helpers for tests against the DES simulator: synthetic people, the simulator's control endpoints,
test settings, bounded waits, enrolment and payment items, a simulator in a subprocess, and plain
HTTP against the contract.

A plain module (not a conftest) so that any test package may import it: tests/des, the pipeline and
DAG tests (``fast_settings``), the orchestration tests (people, periods, ``enrol``). The fixtures
built on these helpers are in :mod:`tests.fixtures.des_simulator` (shared by every package) and in
``tests/des/conftest.py`` (the ledger and raw-HTTP fixtures only tests/des uses).
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

import requests
from stdnum.tr import tckimlik

from oks.des.client import DesClient
from oks.des.models import ContractRegistration, PaymentItem, Person
from oks.des.settings import DesSettings
from oks.des.simulator.server import DEMO_CUSTOMER

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
        # A fresh connection per call: a pooled one left idle while a test waits (on a child process, say)
        # is closed by the server's keep-alive timeout, and the next call on it dies with "connection reset".
        self.http.headers["Connection"] = "close"

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

    def policies(self, contract_no: str | None = None) -> list[dict]:
        return self._call("GET", "/_control/policies", params={"contract_no": contract_no} if contract_no else None)["policies"]

    def process(self, force: bool = True) -> dict:
        return self._call("POST", f"/_control/process?force={'true' if force else 'false'}")

    def customer(self, customer_no: str, tckn_: str, password: str) -> dict:
        return self._call("POST", "/_control/customers", json={"customer_no": customer_no, "tckn": tckn_, "password": password})


def fast_settings(url: str, **changes) -> DesSettings:
    """Settings for tests: short waits, a generous number of attempts."""
    base = dict(
        base_url=url, customer_no=DEMO_CUSTOMER.customer_no, tckn=DEMO_CUSTOMER.tckn, password=PASSWORD,
        connect_timeout=2.0, read_timeout=10.0, batch_size=100, page_size=100,
        max_attempts=8, retry_budget=60.0, backoff_initial=0.005, backoff_max=0.05,
    )
    return DesSettings(**{**base, **changes})


CONTRACT = ContractRegistration(contract_no="AGS-2026-001", insurer="AGESA", starts_on=date(2026, 1, 1), employer_vkn="1234567890")


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
