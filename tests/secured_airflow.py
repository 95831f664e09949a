"""Airflow's real api-server with logins on — the simple auth manager as `oks ui` runs it — for the
tests of who may see and answer what. Known passwords, a test-only token secret, loopback only."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests

from oks.orchestration.local_run import ApiServer


@contextmanager
def secured_airflow(home: Path, users: Mapping[str, tuple[str, str]], **extra_env: str) -> Iterator[str]:
    """The api-server's URL while it runs with ``users`` (name → (role, password)); "" is no role."""
    passwords = home / "passwords.json"
    passwords.write_text(json.dumps({name: password for name, (_, password) in users.items()}), encoding="utf-8")
    env = {
        "OKS_HOME": str(home),
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "False",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": ",".join(f"{name}:{role}" for name, (role, _) in users.items()),
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords),
        "AIRFLOW__API_AUTH__JWT_SECRET": "oks-tests-secured-" + "3" * 46,
        **extra_env,
    }
    with api_server_with(env) as url:
        yield url


@contextmanager
def api_server_with(env: Mapping[str, str]) -> Iterator[str]:
    """Airflow's api-server in this process with ``env`` set around it (and ``OKS_AIRFLOW_API_URL``
    pointing at it, for the project's own API clients); yields its URL."""
    with pytest.MonkeyPatch.context() as mp:
        for name, value in env.items():
            mp.setenv(name, value)
        with ApiServer() as server:
            mp.setenv("OKS_AIRFLOW_API_URL", server.url)
            yield server.url


def token(url: str, user: str, password: str) -> str:
    answer = requests.post(f"{url}/auth/token", json={"username": user, "password": password}, timeout=10)
    assert answer.status_code in (200, 201), answer.text
    return answer.json()["access_token"]
