"""The run reports and Data Docs, served inside the Airflow UI (plugin app under ``/oks``).

Operations open "OKS reports" in Airflow's navigation: a list of runs from the store, each with its
report (masked; per contract and insurer, payments to make, quarantine) and its Data Docs. The
files are the ones the pipeline wrote under ``$OKS_HOME``; nothing personal is unmasked in them.
Nothing here answers without a user Airflow lets read ``oks_monthly``'s runs.
"""

from __future__ import annotations

import html

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi.responses import FileResponse, HTMLResponse

__all__ = ["create_reports_app"]


def _runs() -> list:
    import sqlalchemy as sa

    from oks.orchestration.resources import store_engine
    from oks.store.schema import runs

    with store_engine().connect() as conn:
        return conn.execute(
            sa.select(runs.c.id, runs.c.run_key, runs.c.period, runs.c.state, runs.c.started_at).order_by(runs.c.id.desc()).limit(200)
        ).all()


_bearer = HTTPBearer(auto_error=False)


async def _may_read_runs(request: Request, credentials: HTTPAuthorizationCredentials | None = Depends(_bearer)) -> None:
    """Airflow's own check, for every route: an authenticated user (bearer token or the UI's session
    cookie) allowed to read the runs of ``oks_monthly`` — else 401 (nobody) or 403 (not allowed).
    Airflow's security module is imported on the first request, not when the plugin loads."""
    from airflow.api_fastapi.auth.managers.models.resource_details import DagAccessEntity
    from airflow.api_fastapi.core_api.security import get_user, requires_access_dag

    user = await get_user(request, None, credentials)
    requires_access_dag(method="GET", access_entity=DagAccessEntity.RUN, param_dag_id="oks_monthly")(request, user)


def create_reports_app() -> FastAPI:
    app = FastAPI(title="OKS reports", docs_url=None, redoc_url=None, openapi_url=None, dependencies=[Depends(_may_read_runs)])

    @app.get("/", response_class=HTMLResponse)
    def index() -> str:
        from oks.store import oks_home

        from oks.rules.calendar import istanbul_text

        home = oks_home()
        rows = []
        for run in _runs():
            report = home / "reports" / f"run-{run.id}" / "report.html"
            docs = home / "data_docs" / f"run-{run.id}" / "index.html"
            links = " · ".join(
                link for link in (
                    f'<a href="reports/run-{run.id}/report.html">report</a>' if report.exists() else "",
                    f'<a href="data-docs/run-{run.id}/index.html">Data Docs</a>' if docs.exists() else "",
                ) if link
            ) or "—"  # fmt: skip
            rows.append(
                f"<tr><td>#{run.id}</td><td>{html.escape(run.period)}</td><td>{html.escape(run.run_key)}</td>"
                f"<td>{html.escape(run.state)}</td><td>{istanbul_text(run.started_at)}</td><td>{links}</td></tr>"
            )
        return (
            "<!doctype html><html><head><meta charset='utf-8'><title>OKS reports</title>"
            "<style>body{font-family:sans-serif;margin:2em}td,th{border:1px solid #ccc;padding:4px 8px}"
            "table{border-collapse:collapse}</style></head><body><h1>OKS runs</h1>"
            "<table><tr><th>run</th><th>period</th><th>key</th><th>state</th><th>started</th><th></th></tr>"
            + "".join(rows) + "</table></body></html>"
        )

    def _file(folder: str, run_dir: str, path: str) -> FileResponse:
        from oks.store import oks_home

        base = (oks_home() / folder).resolve()
        target = (base / run_dir / path).resolve()
        if not run_dir.startswith("run-") or base not in target.parents or not target.is_file():
            raise HTTPException(status_code=404)
        return FileResponse(target)

    @app.get("/reports/{run_dir}/{path:path}")
    def report_file(run_dir: str, path: str) -> FileResponse:
        return _file("reports", run_dir, path)

    @app.get("/data-docs/{run_dir}/{path:path}")
    def data_docs_file(run_dir: str, path: str) -> FileResponse:
        return _file("data_docs", run_dir, path)

    return app
