"""Shared fixtures: throwaway databases for store code, on SQLite and PostgreSQL; the plugins of
fixtures several packages share (``pytest_plugins`` below).

PostgreSQL: one database per test session, created on the server named by ``OKS_TEST_PG_URL``
(default: the local trust-auth server) and dropped at the end. When no server answers, PostgreSQL
tests are skipped on a developer's machine but *fail* under ``CI=true``: CI must never go green by
skipping the production database.
"""

from __future__ import annotations

import os
import uuid

import pytest
from hypothesis import settings

from tests.airflow_env import airflow_home  # noqa: F401 - one Airflow home for the whole session

# Fixtures several test packages use, as plugins: a package's conftest or test module is never
# imported by another (see tests/test_repository.py). Pytest reads pytest_plugins only here, in the
# top-level conftest, so every shared plugin is registered here once.
pytest_plugins = [
    "tests.fixtures.des_simulator",  # the DES simulator on loopback and a client on it
]

DEFAULT_PG_URL = "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"


def _pg_admin_url() -> str:
    return os.environ.get("OKS_TEST_PG_URL", DEFAULT_PG_URL)


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


# Property tests: no deadline (a loaded machine is slow, not wrong); in CI the examples are derived
# from the test itself (derandomize), so CI answers the same for the same code — a law found broken
# locally by a random example becomes a fixed case in the test. OKS_HYPOTHESIS_PROFILE=fuzz digs deeper.
settings.register_profile("dev", deadline=None)
settings.register_profile("ci", deadline=None, derandomize=True, print_blob=True)
settings.register_profile("fuzz", deadline=None, max_examples=2000)
settings.load_profile(os.environ.get("OKS_HYPOTHESIS_PROFILE") or ("ci" if _in_ci() else "dev"))


@pytest.fixture(scope="session")
def postgres_url():
    """URL of a fresh, empty PostgreSQL database that lives for the test session."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import OperationalError

    admin_url = make_url(_pg_admin_url())
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT", pool_pre_ping=True)
    name = f"oks_test_{uuid.uuid4().hex[:12]}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except OperationalError as exc:
        admin.dispose()
        message = f"PostgreSQL not reachable at {admin_url.render_as_string(hide_password=True)}: {str(exc.orig).strip().splitlines()[0]}"
        if _in_ci():
            pytest.fail(message + " (CI=true: PostgreSQL tests must run)", pytrace=False)
        pytest.skip(message)
    try:
        yield admin_url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(
                text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n AND pid <> pg_backend_pid()"),
                {"n": name},
            )
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


@pytest.fixture
def sqlite_url(tmp_path):
    """URL of a fresh SQLite file for one test (the embedded default's engine)."""
    return f"sqlite:///{tmp_path / 'oks.sqlite'}"


@pytest.fixture
def postgres_schema_url(postgres_url):
    """URL of the session database with a fresh schema first on the search path, dropped after the
    test: per-test isolation without the cost of a database per test."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    schema = f"t_{uuid.uuid4().hex[:12]}"
    engine = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(postgres_url).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with engine.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request):
    """Runs a test once on SQLite and once on PostgreSQL: store code must behave the same on both.
    Each test gets an empty database (a fresh file, or a fresh schema)."""
    if request.param == "sqlite":
        return request.getfixturevalue("sqlite_url")
    return request.getfixturevalue("postgres_schema_url")


@pytest.fixture
def store(database_url):
    """The store, migrated to head, on SQLite and on PostgreSQL (one test each)."""
    from oks.store import open_store

    engine = open_store(database_url)
    yield engine
    engine.dispose()
