"""The database fixtures themselves: isolation per test, and no silent skip of PostgreSQL in CI."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text

pytest_plugins = ["pytester"]


@pytest.mark.parametrize("attempt", [1, 2])
def test_each_test_gets_an_empty_database(database_url, attempt):
    engine = create_engine(database_url)
    try:
        assert inspect(engine).get_table_names() == []  # a table left by attempt 1 would show here
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE probe (id INTEGER PRIMARY KEY, amount NUMERIC(12, 2))"))
            conn.execute(text("INSERT INTO probe VALUES (1, 12.34)"))
            assert str(conn.execute(text("SELECT amount FROM probe")).scalar_one()) == "12.34"
    finally:
        engine.dispose()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize(("ci", "outcome"), [("true", {"errors": 1}), ("", {"skipped": 1})])
def test_unreachable_postgres_fails_in_ci_and_skips_elsewhere(pytester, monkeypatch, ci, outcome):
    # The conftest imports the tests package; the subprocess must find it.
    monkeypatch.setenv("PYTHONPATH", str(Path(__file__).resolve().parents[1]))
    pytester.makeconftest((Path(__file__).parent / "conftest.py").read_text())
    pytester.makepyfile("def test_needs_postgres(postgres_url):\n    pass\n")
    monkeypatch.setenv("OKS_TEST_PG_URL", f"postgresql+psycopg2://postgres@127.0.0.1:{_closed_port()}/postgres")
    monkeypatch.setenv("CI", ci)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(**outcome)
    if ci:
        result.stdout.fnmatch_lines(["*PostgreSQL not reachable*CI=true*"])
