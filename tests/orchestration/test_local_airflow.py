"""oks ui's Airflow: loopback unless told otherwise, every worker reporting to this api-server, and
a port already taken refused before anything starts (the whole run is in tests/browser)."""

from __future__ import annotations

import socket

import pytest

from oks.orchestration.local_airflow import COMPONENTS, LocalAirflow


@pytest.mark.parametrize(
    "host, port, listens, url",
    [
        ("127.0.0.1", 8080, "127.0.0.1", "http://127.0.0.1:8080"),
        ("0.0.0.0", 9090, "0.0.0.0", "http://127.0.0.1:9090"),  # told to listen everywhere: reached on loopback
        ("10.1.2.3", 8081, "10.1.2.3", "http://10.1.2.3:8081"),
    ],
)
def test_the_api_server_listens_where_asked_and_the_workers_report_to_it(host, port, listens, url):
    env = LocalAirflow({"AIRFLOW_HOME": "/x", "AIRFLOW__API__HOST": "0.0.0.0"}, host=host, port=port)._environment()
    assert (env["AIRFLOW__API__HOST"], env["AIRFLOW__API__PORT"]) == (listens, str(port))
    assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == f"{url}/execution/"
    assert LocalAirflow({}).host == "127.0.0.1"


def test_no_log_server_is_started():
    assert all("--skip-serve-logs" in args for name, args in COMPONENTS.items() if name in ("scheduler", "triggerer"))


def test_a_port_in_use_is_refused_before_anything_starts(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        airflow = LocalAirflow({"AIRFLOW_HOME": str(tmp_path)}, port=taken.getsockname()[1])
        with pytest.raises(RuntimeError, match="is in use"):
            airflow.__enter__()
    assert airflow.processes == {} and not (tmp_path / "logs").exists()
