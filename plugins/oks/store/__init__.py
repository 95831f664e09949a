"""The OKS store: SQLite embedded by default, PostgreSQL in production (docs/architecture.md §4).

``open_store()`` is the one way in. It takes the database's URL — without one, the
``OKS_STORE_URL`` environment variable, else the embedded SQLite file ``$OKS_HOME/store.sqlite`` —
so a new user needs no configuration at all. The ``oks_store`` Airflow connection is read above
this package, by the composition root (:mod:`oks.orchestration.resources`), which hands its URL in.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url

__all__ = ["oks_home", "default_store_url", "open_store", "migrate", "downgrade", "is_postgres"]

log = logging.getLogger(__name__)

def oks_home(cwd: Path | None = None) -> Path:
    """The project's local home: the embedded store, reports and Data Docs live here.

    ``OKS_HOME``; else, inside a checkout, the checkout's ``.oks`` — where ``make run`` and ``make ui``
    keep it, so ``.venv/bin/oks obligations`` in a plain shell reads the same store; else ``~/.oks``."""
    if os.environ.get("OKS_HOME"):
        return Path(os.environ["OKS_HOME"])
    here = (cwd or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "dags" / "oks_monthly.py").is_file() and (folder / "Makefile").is_file():
            return folder / ".oks"
    return Path.home() / ".oks"


def default_store_url() -> str:
    return f"sqlite:///{oks_home() / 'store.sqlite'}"


def resolve_store_url(url: str | None = None) -> str:
    """The URL given, else ``OKS_STORE_URL``, else the embedded SQLite file. (In Airflow, the
    ``oks_store`` connection comes first: :func:`oks.orchestration.resources.store_url` reads it.)"""
    return url or os.environ.get("OKS_STORE_URL") or default_store_url()


def is_postgres(engine: Engine) -> bool:
    return engine.dialect.name == "postgresql"


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    cursor = dbapi_conn.cursor()
    # Foreign keys are off by default in SQLite; WAL lets Airflow tasks read while one writes.
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def create_store_engine(url: str) -> Engine:
    # hide_parameters: a database error would otherwise print the row it failed on — TCKNs, IBANs,
    # names — into task logs and on-call alerts (KVKK).
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(parsed, connect_args={"timeout": 30}, hide_parameters=True)
        sa.event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return sa.create_engine(parsed, pool_pre_ping=True, hide_parameters=True)


def open_store(url: str | None = None, *, upgrade: bool = True) -> Engine:
    """An engine on the store, migrated to the newest schema unless ``upgrade=False``."""
    engine = create_store_engine(resolve_store_url(url))
    log.info("OKS store: %s", engine.url.render_as_string(hide_password=True))
    if upgrade:
        migrate(engine)
    return engine


def _alembic_config(connection):
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", "oks.store:migrations")
    config.attributes["connection"] = connection
    return config


# One number for "the OKS store's schema is being changed" among PostgreSQL's advisory locks (any
# 64-bit number the deployment does not use otherwise: "OKS" in ASCII).
MIGRATION_LOCK = 0x4F4B53


def _one_migration_at_a_time(connection) -> None:
    """Two workers or two deployments starting together migrate one empty database at once: without
    a lock both create the same types and tables and the second crashes (UniqueViolation on
    pg_type). The lock is the transaction's: the second waits, then finds the schema current. SQLite
    serialises writers by itself (the file lock, under busy_timeout)."""
    if connection.dialect.name == "postgresql":
        connection.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})


def migrate(engine: Engine, revision: str = "head") -> None:
    """Upgrade the store's schema to ``revision`` (Alembic), one process at a time."""
    from alembic import command

    with engine.begin() as connection:
        _one_migration_at_a_time(connection)
        command.upgrade(_alembic_config(connection), revision)


def downgrade(engine: Engine, revision: str = "base") -> None:
    from alembic import command

    with engine.begin() as connection:
        _one_migration_at_a_time(connection)
        command.downgrade(_alembic_config(connection), revision)


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()
