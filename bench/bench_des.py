"""Benchmark the DES gateway: 100,000 people and their payment through the client and the simulator.

The simulator runs as users run it (`oks simulator`, its own process, so client and server each get a
core of a 2-core machine). Every rate stands beside the raw cost of the same traffic on the same
server: a bare round trip (``GET /health``), and the same request bodies posted to a sink that only
reads them (``POST /_control/sink``) — what HTTP and JSON bytes cost before DES does any work.

    .venv/bin/python bench/bench_des.py                          # 100,000 people, batches of 1,000
    .venv/bin/python bench/bench_des.py --people 20000 --batch-size 5000 --no-ledger

Stages: build (validate 100k people into models), submit (batches with idempotency keys, ledger
rows before and after each call), send and insurer processing, read results (pages), the same for the
payment. The ledger is the store's SQLite file (WAL), as in the embedded default.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from datetime import date
from decimal import Decimal
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
from simulator_process import simulator_process  # noqa: E402 - a sibling script module


def _tckn(n: int) -> str:
    from stdnum.tr import tckimlik

    base = str(100_000_000 + n)
    return base + tckimlik.calc_check_digits(base)


def _round_trips(session: requests.Session, url: str, count: int, body: bytes | None = None) -> float:
    """Seconds per request, sequential on one pooled connection (after a short warm-up)."""
    method = "POST" if body is not None else "GET"
    for _ in range(min(50, count)):
        session.request(method, url, data=body).raise_for_status()
    started = time.perf_counter()
    for _ in range(count):
        session.request(method, url, data=body).raise_for_status()
    return (time.perf_counter() - started) / count


class Timer:
    def __init__(self) -> None:
        self.stages: dict[str, float] = {}

    def __call__(self, name: str):
        timer = self

        class _Stage:
            def __enter__(self):
                self.started = time.perf_counter()

            def __exit__(self, *exc):
                timer.stages[name] = time.perf_counter() - self.started

        return _Stage()


def _wait(predicate, what: str, timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(0.05)


def run(args: argparse.Namespace) -> dict:
    from oks.des.client import DesClient
    from oks.des.ledger import Ledger
    from oks.des.models import ContractRegistration, PaymentItem, Person, WsCredentials
    from oks.des.settings import DesSettings
    from oks.des.simulator.server import DEMO_CUSTOMER
    from oks.store import open_store

    workdir = Path(tempfile.mkdtemp(prefix="bench-des-"))
    with simulator_process(workdir) as simulator:
        url = simulator.url
        settings = DesSettings(
            base_url=url, customer_no=DEMO_CUSTOMER.customer_no, tckn=DEMO_CUSTOMER.tckn, password=DEMO_CUSTOMER.password,
            batch_size=args.batch_size, page_size=args.page_size, read_timeout=300,
        )
        # The ledger on the store as the pipeline opens it: the embedded SQLite file, migrated.
        ledger = Ledger(open_store(f"sqlite:///{workdir / 'store.sqlite'}")) if args.ledger else None
        timer = Timer()
        n = args.people
        with DesClient(settings, ledger=ledger) as client:
            session = requests.Session()
            bare = _round_trips(session, url + "/health", args.roundtrips)
            contract = ContractRegistration(contract_no="BENCH-1", insurer="ANADOLU", starts_on=date(2026, 1, 1), employer_vkn="1234567890")
            client.register_contract(contract)
            client.store_ws_credentials("BENCH-1", WsCredentials(user="u", password="p", client_id="c", client_secret="s"))
            # An authenticated API call that does the least DES work: the client's own overhead per call.
            started = time.perf_counter()
            for _ in range(args.roundtrips // 4):
                client.get_contract("BENCH-1")
            authed = (time.perf_counter() - started) / (args.roundtrips // 4)

            with timer("build people"):
                people = [
                    Person(
                        tckn=_tckn(i), first_name="Ayşe", last_name="Yılmaz", birth_date=date(1980 + i % 20, 1 + i % 12, 1 + i % 28),
                        mobile=f"+90532{i % 10_000_000:07d}", hire_date=date(2025, 1, 1),
                    )
                    for i in range(n)
                ]
            with timer("submit personnel"):
                submission = client.submit_personnel("BENCH-1", "2026-05", people)
            with timer("send + insurer"):
                client.send_personnel_to_insurer(submission.list_id)
                _wait(lambda: client.read_personnel_results(submission.list_id, limit=1).state == "COMPLETED", "insurer")
            with timer("read results"):
                policies = [(r.tckn, r.policy_no) for r in client.iter_personnel_results(submission.list_id)]
            assert len(policies) == n and all(p for _, p in policies)
            with timer("build items"):
                items = [PaymentItem(tckn=t, policy_no=p, amount=Decimal(1000 + i % 5000) + Decimal("0.25")) for i, (t, p) in enumerate(policies)]
            with timer("submit payment"):
                payment = client.submit_payment("BENCH-1", "2026-05", "REGULAR", date(2026, 5, 25), items)
            with timer("send + transfer"):
                client.send_payment_to_insurer(payment.payment_id)
                _wait(lambda: client.read_payment(payment.payment_id, limit=1).state == "TRANSFERRED", "transfer")
            with timer("read payment"):
                accepted = sum(r.amount for r in client.iter_payment_items(payment.payment_id) if r.status == "ACCEPTED")
            assert accepted == payment.total

            # The raw cost of the same traffic: the same batch bodies posted to a sink that only reads them.
            from oks.des.models import PEOPLE

            body = PEOPLE.dump_json(people[: args.batch_size])
            sink = _round_trips(session, url + "/_control/sink", max(20, args.roundtrips // 20), body)
            state = session.get(url + "/_control/state").json()
        batches = submission.batches
        s = timer.stages
        result = {
            "people": n,
            "batch_size": args.batch_size,
            "page_size": args.page_size,
            "ledger": bool(args.ledger),
            "bare_roundtrip_ms": round(bare * 1000, 3),
            "bare_roundtrips_per_s": round(1 / bare),
            "authenticated_get_ms": round(authed * 1000, 3),
            "sink_batch_post_ms": round(sink * 1000, 2),
            "sink_people_per_s": round(args.batch_size / sink),
            "submit_personnel_s": round(s["submit personnel"], 2),
            "submit_personnel_people_per_s": round(n / s["submit personnel"]),
            "submit_personnel_ms_per_batch": round(s["submit personnel"] / batches * 1000, 2),
            "insurer_processing_s": round(s["send + insurer"], 2),
            "read_results_people_per_s": round(n / s["read results"]),
            "submit_payment_s": round(s["submit payment"], 2),
            "submit_payment_items_per_s": round(n / s["submit payment"]),
            "transfer_processing_s": round(s["send + transfer"], 2),
            "read_payment_items_per_s": round(n / s["read payment"]),
            "build_people_s": round(s["build people"], 2),
            "build_items_s": round(s["build items"], 2),
            "end_to_end_s": round(sum(s.values()), 2),
            "end_to_end_people_per_s": round(n / sum(s.values())),
            "simulator_lists": len(state["personnel_lists"]),
            "simulator_payments": len(state["payments"]),
            "payment_total": str(payment.total),
        }
        return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--page-size", type=int, default=5000)
    parser.add_argument("--roundtrips", type=int, default=2000, help="bare round trips to time")
    parser.add_argument("--no-ledger", dest="ledger", action="store_false", help="without the des_requests ledger")
    parser.add_argument("--json", action="store_true", help="one JSON line instead of a table")
    args = parser.parse_args()
    os.environ.setdefault("OKS_HOME", tempfile.mkdtemp(prefix="bench-des-home-"))
    result = run(args)
    if args.json:
        print(json.dumps(result))
        return
    width = max(len(k) for k in result)
    for key, value in result.items():
        print(f"{key:<{width}}  {value}")


if __name__ == "__main__":
    main()
