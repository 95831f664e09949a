"""Running the simulator: in the foreground for ``oks simulator``, or in a thread for tests and benchmarks."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from oks.des.simulator.db import Database
from oks.des.simulator.des import Des, Settings
from oks.des.simulator.faults import FaultConfig, Faults
from oks.des.simulator.register import read_rows
from oks.des.simulator.schemas import CustomerSeed

log = logging.getLogger(__name__)

# The customer a fresh local set-up works with: `des_default` points here unless told otherwise.
DEMO_CUSTOMER = CustomerSeed(customer_no="1000001", tckn="10000000146", password="oks-demo")
LOOPBACK = {"127.0.0.1", "::1", "localhost"}


def default_db_path() -> Path:
    return Path(os.environ.get("OKS_HOME", ".oks")) / "des-simulator.sqlite"


@dataclass
class SimulatorOptions:
    db: Path = field(default_factory=default_db_path)
    host: str = "127.0.0.1"
    port: int = 8765
    customers: list[CustomerSeed] = field(default_factory=lambda: [DEMO_CUSTOMER])
    # None keeps what the state file holds (a restart must not undo settings made by control calls).
    insurer_delay: float | None = None
    transfer_delay: float | None = None
    token_ttl: float | None = None
    faults: FaultConfig = field(default_factory=FaultConfig)
    identity_register: Path | None = None
    ready_file: Path | None = None
    access_log: bool = False
    log_level: str = "warning"


@dataclass
class Simulator:
    app: Any  # the FastAPI app (imported lazily: the simulator starts in milliseconds)
    des: Des
    faults: Faults
    db: Database


def build(options: SimulatorOptions) -> Simulator:
    from oks.des.simulator.app import create_app

    options.db.parent.mkdir(parents=True, exist_ok=True)
    db = Database(options.db)
    des = Des(db, defaults=Settings())
    des.update_settings(insurer_delay=options.insurer_delay, transfer_delay=options.transfer_delay, token_ttl=options.token_ttl)
    faults = Faults(options.faults)

    def seed_customers() -> None:
        for customer in options.customers:
            des.add_customer(customer)

    seed_customers()
    if options.identity_register is not None:
        des.load_register(read_rows(options.identity_register))
    return Simulator(create_app(des, faults, seed_customers=seed_customers), des, faults, db)


def bind(host: str, port: int) -> socket.socket:
    """A listening socket; port 0 picks a free one. Bound here so the URL is known before serving."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    # A restarted simulator takes its old port back while old connections linger in TIME_WAIT.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Accepted connections inherit this on Linux: without it a small answer written in two parts
    # (headers, body) waits for the client's delayed ACK, ~40 ms per keep-alive request.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def _uvicorn_server(sim: Simulator, options: SimulatorOptions):
    import uvicorn

    config = uvicorn.Config(
        sim.app,
        log_level=options.log_level,
        access_log=options.access_log,
        lifespan="off",
        # Held answers (latency, hangs) must not keep a stop waiting for their full length.
        timeout_graceful_shutdown=1,
    )
    return uvicorn.Server(config)


def url_of(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def serve(options: SimulatorOptions) -> None:
    """Serve until SIGINT/SIGTERM. Writes ``ready_file`` (the URL) once requests are accepted."""
    if options.host not in LOOPBACK:
        log.warning("the DES simulator's control endpoints are open to anyone who reaches %s", options.host)
    sim = build(options)
    sock = bind(options.host, options.port)
    server = _uvicorn_server(sim, options)
    url = url_of(sock)

    async def main() -> None:
        serving = asyncio.ensure_future(server.serve(sockets=[sock]))
        while not server.started and not serving.done():
            await asyncio.sleep(0.01)
        if server.started:
            print(f"DES simulator on {url} (state {options.db}); contract at {url}/openapi.yaml", flush=True)
            if options.ready_file is not None:
                tmp = options.ready_file.with_suffix(".tmp")
                tmp.write_text(url)
                tmp.replace(options.ready_file)
        await serving

    try:
        asyncio.run(main())
    finally:
        sim.db.close()


class BackgroundSimulator:
    """The simulator in a thread of this process, on a free loopback port; a context manager."""

    def __init__(self, options: SimulatorOptions) -> None:
        self.options = options
        self.sim = build(options)
        self._sock = bind(options.host, options.port)
        self.url = url_of(self._sock)
        self._server = _uvicorn_server(self.sim, options)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [self._sock]}, daemon=True)

    def start(self) -> BackgroundSimulator:
        self._thread.start()
        for _ in range(500):  # 5 s at most
            if self._server.started or not self._thread.is_alive():
                break
            threading.Event().wait(0.01)
        if not self._server.started:
            raise RuntimeError("the DES simulator did not start")
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._sock.close()
        self.sim.db.close()

    def __enter__(self) -> BackgroundSimulator:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
