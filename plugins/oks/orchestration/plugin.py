"""The Airflow plugin of oks-pipeline, found through the ``airflow.plugins`` entry point.

Airflow 3.3 resolves custom Deadline Alert references only through plugins, so the scheduler and
the triggerer can deserialize ``StatutoryPaymentDeadline`` without importing DAG files.
"""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

from oks.orchestration.deadlines import StatutoryPaymentDeadline


class OksPlugin(AirflowPlugin):
    name = "oks"
    deadline_references = [StatutoryPaymentDeadline]
