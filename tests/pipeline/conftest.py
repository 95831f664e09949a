"""Pipeline fixtures: a real client on the DES simulator (``sim``, from the plugin tests.fixtures.des_simulator)."""

from __future__ import annotations

import pytest

from oks.des.client import DesClient
from oks.des.ledger import Ledger
from tests.des.simulator import fast_settings


@pytest.fixture
def gateway(sim, store):
    """The real HTTP client against the simulator, its requests recorded in the store's ledger."""
    with DesClient(fast_settings(sim.url), ledger=Ledger(store)) as client:
        yield client
