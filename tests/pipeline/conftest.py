"""Pipeline fixtures: the DES simulator on loopback (shared with tests/des) and a real client on it."""

from __future__ import annotations

import pytest

from oks.des.client import DesClient
from oks.des.ledger import Ledger
from tests.des.conftest import fast_settings, sim, sim_server  # noqa: F401 - the simulator fixtures


@pytest.fixture
def gateway(sim, store):
    """The real HTTP client against the simulator, its requests recorded in the store's ledger."""
    with DesClient(fast_settings(sim.url), ledger=Ledger(store)) as client:
        yield client
