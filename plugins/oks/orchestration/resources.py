"""The resources a run needs, built from Airflow connections — handed to the pipeline steps.

The steps take an engine and a gateway; this module is the one place that decides where they come
from: the ``oks_store`` connection (or the embedded SQLite file), the ``des_default`` connection for
DES, ``oks_ws_<contract>`` / ``oks_ws_default`` for the insurers' web-service credentials, and the
``oks_payroll`` connection (or a file) for payroll. Tests hand in the simulator instead.
"""

from __future__ import annotations

import os
import re
from functools import lru_cache
from pathlib import Path

from sqlalchemy.engine import Engine

__all__ = [
    "DES_CONN_ID",
    "PAYROLL_CONN_ID",
    "store_engine",
    "des_gateway",
    "ws_credentials_for",
    "payroll_sources",
    "sql_dir",
]

DES_CONN_ID = "des_default"
PAYROLL_CONN_ID = "oks_payroll"


@lru_cache(maxsize=4)
def _engine(url: str | None) -> Engine:
    from oks.store import open_store

    return open_store(url)


def store_engine() -> Engine:
    """The store, migrated; one engine per process (tasks in one worker share its pool)."""
    from oks.store import resolve_store_url

    return _engine(resolve_store_url())


def des_gateway(engine: Engine):
    """The DES client from the ``des_default`` connection, its requests recorded in the store."""
    from oks.des.client import DesClient
    from oks.des.ledger import Ledger
    from oks.des.settings import settings_from_connection

    return DesClient(settings_from_connection(DES_CONN_ID), ledger=Ledger(engine))


def _connection(conn_id: str):
    from airflow.sdk import BaseHook

    try:
        return BaseHook.get_connection(conn_id)
    except Exception:  # noqa: BLE001 - absent: the caller falls back or reports
        return None


def ws_connection_id(contract_no: str) -> str:
    return "oks_ws_" + re.sub(r"[^a-z0-9]+", "_", contract_no.lower()).strip("_")


def ws_credentials_for(contract_no: str, insurer: str):
    """The insurer's web-service credentials for a contract: ``oks_ws_<contract>``, else
    ``oks_ws_default``; None when neither connection exists."""
    from oks.des.models import INSURER_WS_FIELDS
    from oks.des.settings import ws_credentials_from_connection

    for conn_id in (ws_connection_id(contract_no), "oks_ws_default"):
        conn = _connection(conn_id)
        if conn is not None:
            credentials = ws_credentials_from_connection(conn, insurer)
            # One default connection may serve several insurers: send each only the fields it takes.
            unused = {"client_id", "client_secret"} - set(INSURER_WS_FIELDS.get(insurer, ()))
            return credentials.model_copy(update=dict.fromkeys(unused))
    return None


def sql_dir() -> Path:
    """Where the user-adaptable SQL lives: ``OKS_SQL_DIR``, else ``include/sql`` beside the DAGs
    folder (the Astro/compose layout), else beside the package checkout."""
    if os.environ.get("OKS_SQL_DIR"):
        return Path(os.environ["OKS_SQL_DIR"])
    candidates = []
    dags_folder = os.environ.get("AIRFLOW__CORE__DAGS_FOLDER")
    if dags_folder:
        candidates.append(Path(dags_folder).parent / "include" / "sql")
    candidates.append(Path(__file__).resolve().parents[3] / "include" / "sql")
    for candidate in candidates:
        if (candidate / "payroll_extract.sql").is_file():
            return candidate
    raise FileNotFoundError("include/sql/payroll_extract.sql not found: set OKS_SQL_DIR")


def payroll_sources(location: str, period: str, employers: list[str] | None):
    """(payroll source, contract master source) for a run.

    ``location`` is ``sql`` (the ``oks_payroll`` connection with ``include/sql``), or a folder /
    file path holding ``payroll.csv|xlsx`` and ``contracts.csv|xlsx`` (what payroll products export).
    """
    from oks.payroll.columns import CONTRACT_COLUMNS
    from oks.payroll.sources import SqlSource, open_contract_master, open_source, sql_params

    if location in ("", "sql"):
        conn = _connection(PAYROLL_CONN_ID)
        if conn is None:
            raise ValueError(
                f"no payroll source: set the Airflow connection {PAYROLL_CONN_ID} (the payroll database) "
                "or give the run a payroll_source folder with payroll.csv/xlsx and contracts.csv/xlsx"
            )
        url = conn.get_uri()
        if url.startswith("postgres://"):
            url = "postgresql+psycopg2://" + url[len("postgres://") :]
        folder = sql_dir()
        return (
            SqlSource(url, (folder / "payroll_extract.sql").read_text(encoding="utf-8"), sql_params(period, employers),
                      name=f"{PAYROLL_CONN_ID}:payroll_extract.sql"),
            SqlSource(url, (folder / "contracts_extract.sql").read_text(encoding="utf-8"), {}, spec=CONTRACT_COLUMNS,
                      name=f"{PAYROLL_CONN_ID}:contracts_extract.sql"),
        )  # fmt: skip
    path = Path(location)
    if path.is_dir():
        payroll = next((path / n for n in ("payroll.csv", "payroll.xlsx") if (path / n).is_file()), None)
        contracts = next((path / n for n in ("contracts.csv", "contracts.xlsx") if (path / n).is_file()), None)
        if payroll is None or contracts is None:
            raise FileNotFoundError(f"{path}: expected payroll.csv|xlsx and contracts.csv|xlsx")
        return open_source(payroll), open_contract_master(contracts)
    raise FileNotFoundError(f"payroll source {location!r}: not 'sql' and not a folder")
