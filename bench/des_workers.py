"""The DES stages of the monthly benchmark in worker processes, as the DAG runs them: its ``des`` group
is mapped over batches of contracts, and the batches run side by side on the deployment's worker
slots (docs/architecture.md §3, §9). Each worker is a process of its own with its own store engine
and DES client, exactly as a Celery worker's task is; ``workers=1`` is the serial run.

Every HTTP request a worker makes is spooled to a file of its own (not kept in memory: at a million
people a stage sends hundreds of megabytes), and :func:`replay` sends them again bare, each worker's
requests in their order on one keep-alive session per worker — the raw counterpart of the stage at
the same concurrency.
"""

from __future__ import annotations

import os
import pickle
import resource
import threading
import time
import uuid
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import requests

_worker: dict = {}


def bench_credentials(contract_no: str, insurer: str):
    """The insurers' web-service credentials of the benchmark (the simulator takes any)."""
    from oks.des.models import WsCredentials

    if insurer == "ANADOLU":
        return WsCredentials(user="bench", password="bench", client_id="c", client_secret="s")
    return WsCredentials(user="bench", password="bench")


def _start(store_url: str, settings: dict, spool: str) -> None:
    from oks.des.client import DesClient
    from oks.des.ledger import Ledger
    from oks.des.settings import DesSettings
    from oks.store import open_store

    engine = open_store(store_url)
    gateway = DesClient(DesSettings(**settings), ledger=Ledger(engine))
    session = gateway.transport.session
    _worker.update(engine=engine, gateway=gateway, spool=Path(spool), request=session.request, session=session, file=None)

    def recording(method, url, **kwargs):
        pickle.dump((method, url, kwargs.get("data"), dict(kwargs.get("headers") or {}), kwargs.get("params")), _worker["file"])
        return _worker["request"](method, url, **kwargs)

    session.request = recording


def _step(stage: str, run_id: int, contract_no: str, arg):
    from oks.pipeline import submission
    from oks.pipeline.obligations import record_payment_obligations

    engine, gateway = _worker["engine"], _worker["gateway"]
    if stage == "register":
        return submission.register_contracts(engine, gateway, run_id, [contract_no], credentials_for=bench_credentials)
    if stage == "personnel":
        return submission.submit_personnel(engine, gateway, run_id, contract_no)["list_id"]
    if stage == "results":
        return submission.record_personnel_results(engine, gateway, run_id, contract_no, arg) if arg else None
    if stage == "payments":
        return submission.submit_payments(engine, gateway, run_id, contract_no)["payments"]
    if stage == "transfers":
        ids = {}
        for kind, payment in arg.items():
            submission.record_payment_results(engine, gateway, run_id, contract_no, payment["payment_id"])
            ids[f"{contract_no}/{kind}"] = payment["payment_id"]
        return [i.obligation_id for i in record_payment_obligations(engine, run_id, contract_no=contract_no, des_payment_ids=ids)]
    raise ValueError(stage)


def _batch(stage: str, run_id: int, work: list[tuple[str, object]]) -> tuple[list, float, float]:
    """One mapped task: a batch of contracts through one stage. Returns the results, the CPU seconds
    it took and the worker's peak RSS in MiB."""
    cpu = time.process_time()
    path = _worker["spool"] / f"{stage}-{os.getpid()}.calls"
    with path.open("ab") as spool:
        _worker["file"] = spool
        results = [_step(stage, run_id, contract_no, arg) for contract_no, arg in work]
    return results, time.process_time() - cpu, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class DesWorkers:
    """``workers`` processes, each with its engine and DES client; :meth:`run` maps one stage over the
    contracts in batches and waits for all of them (the stage's end is the last batch's)."""

    def __init__(self, store_url: str, settings: dict, spool: Path, *, workers: int, batch: int = 8) -> None:
        self.spool, self.workers, self.batch = spool, workers, batch
        spool.mkdir(parents=True, exist_ok=True)
        # spawn, not fork: a forked child would share the parent's pooled database connections.
        self.pool = ProcessPoolExecutor(workers, mp_context=get_context("spawn"), initializer=_start,
                                        initargs=(store_url, settings, str(spool)))  # fmt: skip
        self.cpu_seconds = 0.0
        self.peak_rss_mib = 0.0

    def run(self, stage: str, run_id: int, work: Sequence[tuple[str, object]]) -> list:
        batches = [list(work[i : i + self.batch]) for i in range(0, len(work), self.batch)]
        futures = [self.pool.submit(_batch, stage, run_id, b) for b in batches]
        results, self.cpu_seconds = [], 0.0
        for future in futures:
            part, cpu, rss = future.result()
            results += part
            self.cpu_seconds += cpu
            self.peak_rss_mib = max(self.peak_rss_mib, rss)
        return results

    def warm_up(self) -> None:
        """Start every worker (imports, engine, DES token) before anything is timed."""
        list(self.pool.map(_noop, range(self.workers * 4)))

    def close(self) -> None:
        self.pool.shutdown()

    def replay(self, stage: str) -> tuple[float, dict[int, int], int]:
        """The stage's requests again, bare: each worker's in order on its own keep-alive session, the
        workers side by side. Seconds, the count of each status the simulator answered, requests."""
        files = sorted(self.spool.glob(f"{stage}-*.calls"))
        statuses: dict[int, int] = {}
        counted = [0]
        lock = threading.Lock()

        def one(path: Path) -> None:
            with requests.Session() as bare:
                for method, url, data, headers, params in _calls(path):
                    if "Idempotency-Key" in headers:
                        headers = {**headers, "Idempotency-Key": uuid.uuid4().hex}
                    status = bare.request(method, url, data=data, headers=headers, params=params, timeout=120).status_code
                    with lock:
                        statuses[status] = statuses.get(status, 0) + 1
                        counted[0] += 1

        threads = [threading.Thread(target=one, args=(path,)) for path in files]
        start = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        seconds = time.perf_counter() - start
        for path in files:
            path.unlink()
        return seconds, statuses, counted[0]


def _noop(_: int) -> int:
    time.sleep(0.2)
    return os.getpid()


def _calls(path: Path) -> Iterable[tuple]:
    with path.open("rb") as spool:
        while True:
            try:
                yield pickle.load(spool)
            except EOFError:
                return
