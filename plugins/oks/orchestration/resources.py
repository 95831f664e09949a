"""The composition root: the resources a run needs, chosen in one place and handed to the glue.

The pipeline steps take an engine, a DES gateway, a WS-credentials lookup, alert senders and payroll
sources; :class:`Resources` is the one value that holds them. :meth:`Resources.from_airflow` builds
it in a task from Airflow connections — ``oks_store`` (or ``OKS_STORE_URL``, or the embedded SQLite
file) for the store, ``des_default`` for DES through :class:`~oks.orchestration.des_hook.DesHook`,
``oks_ws_<contract>`` / ``oks_ws_default`` for the insurers' web-service credentials,
``oks_alert_*`` for the alert channels, ``oks_payroll`` (or a folder) for payroll.
:meth:`Resources.local` builds the same from plain values: tests and benchmarks hand in the
simulator's settings and a store URL, no Airflow connection needed.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import Engine

if TYPE_CHECKING:
    from oks.des.client import DesClient
    from oks.des.models import WsCredentials
    from oks.des.settings import DesSettings

__all__ = ["STORE_CONN_ID", "DES_CONN_ID", "PAYROLL_CONN_ID", "Resources", "store_url", "store_engine", "payroll_sources", "sql_dir"]

STORE_CONN_ID = "oks_store"
DES_CONN_ID = "des_default"
PAYROLL_CONN_ID = "oks_payroll"


def store_url(url: str | None = None) -> str:
    """The store's URL: the one given, ``OKS_STORE_URL``, the ``oks_store`` connection, else the
    embedded SQLite file — so a new user needs no configuration at all."""
    from oks.orchestration.connections import connection_url
    from oks.store import default_store_url

    return url or os.environ.get("OKS_STORE_URL") or connection_url(STORE_CONN_ID) or default_store_url()


@lru_cache(maxsize=4)
def _engine(url: str) -> Engine:
    from oks.store import open_store

    return open_store(url)


def store_engine() -> Engine:
    """The store, migrated; one engine per process and URL (tasks in one worker share its pool)."""
    return _engine(store_url())


def _no_credentials(contract_no: str, insurer: str) -> None:
    return None


@dataclass(frozen=True)
class Resources:
    """What the glue hands the pipeline steps.

    :param engine: the OKS store.
    :param des_client: makes a DES client (a context manager) for an engine, its creating requests
        recorded in that store's ledger.
    :param ws_credentials_for: ``(contract_no, insurer) -> WsCredentials | None``.
    :param alert_senders: the alert channels (``{channel: send}``), built when a step sends.
    :param payroll_sql_url: the payroll database for ``payroll_source=sql`` (read when asked).
    :param home: where reports, Data Docs and the alert outbox go.
    """

    engine: Engine
    des_client: Callable[[Engine], DesClient]
    ws_credentials_for: Callable[[str, str], WsCredentials | None] = _no_credentials
    alert_senders: Callable[[], Mapping[str, Callable]] = dict
    payroll_sql_url: Callable[[], str | None] = lambda: None
    home: Path = field(default_factory=lambda: _home())

    @classmethod
    def from_airflow(cls) -> Resources:
        """The resources of a task, from Airflow connections (the module docstring)."""
        from oks.des.ledger import Ledger
        from oks.orchestration.connections import connection_url
        from oks.orchestration.des_hook import DesHook
        from oks.orchestration.notifiers import alert_senders

        hook = DesHook(DES_CONN_ID)
        return cls(
            engine=store_engine(),
            des_client=lambda engine: hook.get_client(ledger=Ledger(engine)),
            ws_credentials_for=hook.ws_credentials_for,
            alert_senders=alert_senders,
            payroll_sql_url=lambda: connection_url(PAYROLL_CONN_ID),
        )

    @classmethod
    def local(cls, *, store: str, des: DesSettings, ws_credentials: WsCredentials | None = None,
              alert_senders: Callable[[], Mapping[str, Callable]] = dict, payroll_sql_url: str | None = None,
              home: Path | None = None) -> Resources:  # fmt: skip
        """The same from plain values: a store URL, DES settings (the simulator's), one set of WS
        credentials for every contract."""
        from oks.des.client import DesClient
        from oks.des.ledger import Ledger

        return cls(
            engine=_engine(store),
            des_client=lambda engine: DesClient(des, ledger=Ledger(engine)),
            ws_credentials_for=lambda contract_no, insurer: ws_credentials.only_for(insurer) if ws_credentials else None,
            alert_senders=alert_senders,
            payroll_sql_url=lambda: payroll_sql_url,
            **({"home": home} if home is not None else {}),
        )

    def des_gateway(self) -> DesClient:
        """A DES client for one task (a context manager: ``with resources.des_gateway() as gateway``)."""
        return self.des_client(self.engine)

    def payroll_sources(self, location: str, period: str, employers: list[str] | None) -> tuple[Any, Any]:
        return payroll_sources(location, period, employers, sql_url=self.payroll_sql_url)


def _home() -> Path:
    from oks.store import oks_home

    return oks_home()


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


def payroll_sources(location: str, period: str, employers: list[str] | None, *, sql_url: Callable[[], str | None]):
    """(payroll source, contract master source) for a run.

    ``location`` is ``sql`` (the payroll database ``sql_url()`` names, with ``include/sql``), or a
    folder holding ``payroll.csv|xlsx`` and ``contracts.csv|xlsx`` (what payroll products export).
    """
    from oks.payroll.columns import CONTRACT_COLUMNS
    from oks.payroll.sources import SqlSource, open_contract_master, open_source, sql_params

    if location in ("", "sql"):
        url = sql_url()
        if url is None:
            raise ValueError(
                f"no payroll source: set the Airflow connection {PAYROLL_CONN_ID} (the payroll database) "
                "or give the run a payroll_source folder with payroll.csv/xlsx and contracts.csv/xlsx"
            )
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
