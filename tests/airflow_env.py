"""A throwaway Airflow for the test session: ``airflow_home`` (see its docstring).

Defined once for the whole suite (imported by tests/conftest.py), because Airflow keeps its
configuration in module globals: two homes in one session would fight over them.
"""

from __future__ import annotations

import importlib.util
import json
import sys
import textwrap
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class AirflowHome:
    path: Path
    dags: Path  # the oks-test-dags bundle: write test DAG files here
    database_url: str

    def write_dag(self, source: str, name: str | None = None) -> Path:
        """Write a DAG file into the test bundle (dedented); its module name is unique per call."""
        path = self.dags / f"{name or 'dag_' + uuid.uuid4().hex[:10]}.py"
        path.write_text(textwrap.dedent(source), encoding="utf-8")
        return path

    def load_dag(self, path: Path, dag_id: str):
        """Import a DAG file the way a test needs it: the ``DAG`` object whose ``test()`` to call."""
        spec = importlib.util.spec_from_file_location(f"oks_test_dag_{path.stem}", path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
        return next(v for v in vars(module).values() if getattr(v, "dag_id", None) == dag_id and hasattr(v, "test"))


@pytest.fixture(scope="session")
def airflow_home(tmp_path_factory):
    """An Airflow of our own for the test session, so ``dag.test()`` runs DAGs for real: a SQLite
    metadata DB in a temporary AIRFLOW_HOME, examples off, two DAG bundles (a scratch folder for test
    DAGs, then the repository's dags/). Airflow's globals are re-pointed at it and back at the end."""
    home = tmp_path_factory.mktemp("airflow-home")
    dags = home / "test_dags"
    dags.mkdir()
    database_url = f"sqlite:///{home / 'airflow.db'}"
    bundles = [
        {"name": "oks-test-dags", "classpath": "airflow.dag_processing.bundles.local.LocalDagBundle", "kwargs": {"path": str(dags)}},
        {"name": "dags-folder", "classpath": "airflow.dag_processing.bundles.local.LocalDagBundle", "kwargs": {}},
    ]
    env = {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": database_url,
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
        "AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST": json.dumps(bundles),
        # The default was expanded from the AIRFLOW_HOME seen at import, which may be someone else's.
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(home / "logs"),
    }
    with pytest.MonkeyPatch.context() as mp:
        for name, value in env.items():
            mp.setenv(name, value)
        _point_airflow_at_environment()
        from airflow.utils.db import initdb

        initdb()
        yield AirflowHome(home, dags, database_url)
        from airflow import settings

        settings.dispose_orm()
    _point_airflow_at_environment()


def _point_airflow_at_environment() -> None:
    from airflow import settings

    settings.configure_vars()
    settings.reconfigure_orm()
    settings.configure_adapters()


