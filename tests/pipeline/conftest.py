"""Pipeline fixtures: the store on both databases, and the DES simulator on loopback."""

from __future__ import annotations

import pytest

from oks.des.client import DesClient
from oks.des.ledger import Ledger
from oks.des.simulator.server import BackgroundSimulator, SimulatorOptions
from oks.store import open_store
from tests.des.conftest import SimControl, fast_settings


@pytest.fixture
def store(database_url):
    engine = open_store(database_url)
    yield engine
    engine.dispose()


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


@pytest.fixture
def gateway(sim, store):
    """The real HTTP client against the simulator, its requests recorded in the store's ledger."""
    with DesClient(fast_settings(sim.url), ledger=Ledger(store)) as client:
        yield client
