"""Migrations: empty → head → base on SQLite and PostgreSQL, and the models agree with head."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from oks.store import current_revision, downgrade, migrate, open_store
from oks.store.schema import metadata


def test_upgrade_from_empty_to_head_and_back(database_url):
    engine = open_store(database_url, upgrade=False)
    try:
        assert current_revision(engine) is None
        migrate(engine)
        assert current_revision(engine) is not None
        tables = set(sa.inspect(engine).get_table_names())
        assert set(metadata.tables) <= tables
        downgrade(engine, "base")
        assert current_revision(engine) is None
        assert set(sa.inspect(engine).get_table_names()) <= {"alembic_version"}
        migrate(engine)  # and up again: downgrade left nothing behind that blocks it
        assert set(metadata.tables) <= set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_head_matches_the_schema_module(database_url):
    engine = open_store(database_url)
    try:
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), metadata)
        assert diff == [], f"schema.py and the migrations differ: {diff}"
    finally:
        engine.dispose()


def test_open_store_is_idempotent_and_defaults_to_the_embedded_file(tmp_path, monkeypatch):
    monkeypatch.setenv("OKS_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("OKS_STORE_URL", raising=False)
    monkeypatch.setenv("AIRFLOW_CONN_OKS_STORE", "")  # no Airflow connection: the embedded default
    engine = open_store()
    try:
        assert engine.url.get_backend_name() == "sqlite"
        assert (tmp_path / "home" / "store.sqlite").exists()
        migrate(engine)  # a second upgrade is a no-op
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    finally:
        engine.dispose()


def test_store_url_from_environment_wins(tmp_path, monkeypatch):
    monkeypatch.setenv("OKS_STORE_URL", f"sqlite:///{tmp_path / 'env.sqlite'}")
    engine = open_store(upgrade=False)
    try:
        assert engine.url.database.endswith("env.sqlite")
    finally:
        engine.dispose()


def test_store_url_from_the_airflow_connection(monkeypatch):
    from oks.orchestration.resources import store_url
    from oks.store import default_store_url, resolve_store_url

    monkeypatch.delenv("OKS_STORE_URL", raising=False)
    monkeypatch.setenv("AIRFLOW_CONN_OKS_STORE", "postgres://oks:secret@db.example:5432/oks")
    assert store_url() == "postgresql+psycopg2://oks:secret@db.example:5432/oks"
    assert resolve_store_url() == default_store_url()  # the store package itself reads no Airflow connection
