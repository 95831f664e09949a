"""The Airflow plugin of oks-pipeline, found through the ``airflow.plugins`` entry point.

Airflow 3.3 resolves custom Deadline Alert references only through plugins, so the scheduler and
the triggerer can deserialize ``StatutoryPaymentDeadline`` without importing DAG files. The plugin
also puts the run reports and Data Docs in the UI.
"""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

from oks.orchestration.deadlines import StatutoryPaymentDeadline
from oks.orchestration.reports_app import create_reports_app


class OksPlugin(AirflowPlugin):
    name = "oks"
    deadline_references = [StatutoryPaymentDeadline]
    # The run reports and Data Docs inside the Airflow UI: an app under /oks and a navigation entry.
    fastapi_apps = [{"app": create_reports_app(), "url_prefix": "/oks", "name": "OKS reports"}]
    external_views = [{"name": "OKS reports", "href": "/oks/", "url_route": "oks-reports", "destination": "nav", "category": "browse"}]
