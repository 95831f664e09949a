"""Airflow connections read the one way the project reads them: absent is ``None``, not an error,
and a database connection becomes a SQLAlchemy URL in one place."""

from __future__ import annotations

from typing import Any

__all__ = ["connection_or_none", "sqlalchemy_url", "connection_url"]


def connection_or_none(conn_id: str) -> Any:
    """The Airflow connection ``conn_id``, or None when it is not configured (the caller falls back
    or says which connection to set)."""
    from airflow.sdk import BaseHook
    from airflow.sdk.exceptions import AirflowNotFoundException

    try:
        return BaseHook.get_connection(conn_id)
    except AirflowNotFoundException:
        return None


def sqlalchemy_url(conn: Any) -> str:
    """A database connection as a SQLAlchemy URL: Airflow spells PostgreSQL ``postgres://``,
    SQLAlchemy wants a driver."""
    uri = conn.get_uri()
    if uri.startswith("postgres://"):
        uri = "postgresql+psycopg2://" + uri[len("postgres://") :]
    return uri


def connection_url(conn_id: str) -> str | None:
    conn = connection_or_none(conn_id)
    return sqlalchemy_url(conn) if conn is not None else None
