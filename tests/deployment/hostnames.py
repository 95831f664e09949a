"""The hostname each Airflow worker process reports (``[core] hostname_callable``): in docker-compose
every worker container has its own; processes sharing one host are told theirs, so a test can see
which worker ran which task."""

from __future__ import annotations

import os
import socket


def worker_hostname() -> str:
    name = os.environ.get("OKS_WORKER_NAME")
    return f"{name}.{socket.getfqdn()}" if name else socket.getfqdn()
