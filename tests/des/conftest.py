"""Fixtures only the DES gateway tests use: ledgers on the store, and plain HTTP against the contract.

The simulator and the client on it (``sim_server``, ``sim``, ``settings``, ``answers``, ``client``,
``contract``) are shared with other packages, so they live in the plugin
:mod:`tests.fixtures.des_simulator`; the helpers (people, periods, ``enrol``, ``wait_until``, …) are in
:mod:`tests.des.simulator`. Import helpers from there, never from this conftest.
"""

from __future__ import annotations

import pytest

from oks.des.ledger import Ledger
from oks.store import open_store

from .simulator import RawApi


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
