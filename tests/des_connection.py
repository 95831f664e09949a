"""The DES connection as an operator configures it in Airflow, for tests of any package.

A plain module (not a conftest) so that the orchestration, pipeline and DAG tests can all import it.
"""

from __future__ import annotations

import json

from oks.des.simulator.server import DEMO_CUSTOMER
from tests.des.simulator import PASSWORD


def connection_json(url: str, *, read_timeout: float = 5.0, connect_timeout: float = 2.0, **extra) -> str:
    """``des_default`` as an ``AIRFLOW_CONN_…`` JSON value: URL as host, MHN as login, TCKN in extra."""
    return json.dumps(
        {
            "conn_type": "http",
            "host": url,
            "login": DEMO_CUSTOMER.customer_no,
            "password": PASSWORD,
            "extra": {"tckn": DEMO_CUSTOMER.tckn, "read_timeout": read_timeout, "connect_timeout": connect_timeout, **extra},
        }
    )
