"""End-to-end DAG runs: the real DAGs under ``dag.test()``, the DES simulator (``sim``, from the plugin
tests.fixtures.des_simulator), an Airflow api-server on loopback, and a bank-statement job that answers
the approvals through the REST API."""

from __future__ import annotations

import json

import pytest

from oks.orchestration.local_run import DEMO_WS
from tests.des_connection import connection_json
from tests.secured_airflow import api_server_with


@pytest.fixture(scope="module")
def local_airflow(airflow_home, tmp_path_factory):
    """Environment of a one-machine deployment for this module; yields the api-server's URL."""
    home = tmp_path_factory.mktemp("oks-home")
    env = {
        "OKS_HOME": str(home),
        "OKS_STORE_URL": f"sqlite:///{home / 'store.sqlite'}",
        "OKS_TASK_RETRIES": "0",
        "OKS_RETRY_DELAY_SECONDS": "1",
        "OKS_DES_POLL_SECONDS": "0.2",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
        "AIRFLOW__API_AUTH__JWT_SECRET": "oks-tests-" + "0" * 56,
        "AIRFLOW_CONN_OKS_WS_DEFAULT": json.dumps(DEMO_WS),
    }
    with api_server_with(env) as url:
        yield url


@pytest.fixture
def des(sim, local_airflow, monkeypatch):
    """The simulator as ``des_default``, with short insurer delays."""
    monkeypatch.setenv("AIRFLOW_CONN_DES_DEFAULT", connection_json(sim.url))
    sim.settings(insurer_delay=0.2, transfer_delay=0.2)
    return sim
