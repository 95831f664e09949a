"""The run reports and Data Docs, served inside the Airflow UI (plugin app under ``/oks``).

Operations open "OKS reports" in Airflow's navigation: the runs from the store with every attempt,
each with its report (masked; per contract and insurer, payments to make, quarantine) and its Data
Docs; what is owed, live (``/obligations``, per employer and contract); refunds owed to employees and their
requests (``/people``); the alerts sent (``/alerts``). The
files are the ones the pipeline wrote under ``$OKS_HOME``; nothing personal is unmasked in them.
Nothing here answers without a user Airflow lets read ``oks_monthly``'s runs.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

__all__ = ["create_reports_app"]


_bearer = HTTPBearer(auto_error=False)


async def _may_read_runs(request: Request, credentials: HTTPAuthorizationCredentials | None = Depends(_bearer)) -> None:
    """Airflow's own check, for every route: an authenticated user (bearer token or the UI's session
    cookie) allowed to read the runs of ``oks_monthly`` — else 401 (nobody) or 403 (not allowed).
    Airflow's security module is imported on the first request, not when the plugin loads."""
    from airflow.api_fastapi.auth.managers.models.resource_details import DagAccessEntity
    from airflow.api_fastapi.core_api.security import get_user, requires_access_dag

    user = await get_user(request, None, credentials)
    requires_access_dag(method="GET", access_entity=DagAccessEntity.RUN, param_dag_id="oks_monthly")(request, user)


async def _may_act_on_runs(request: Request, credentials: HTTPAuthorizationCredentials | None = Depends(_bearer)) -> str:
    """For the routes that change something (recording a request made at the employer): a user Airflow
    lets act on ``oks_monthly``'s runs (operations, not a viewer) — and, against a forged form from
    another site riding the UI's session cookie, a request from this server's own pages. The user's name."""
    from airflow.api_fastapi.auth.managers.models.resource_details import DagAccessEntity
    from airflow.api_fastapi.core_api.security import get_user, requires_access_dag

    user = await get_user(request, None, credentials)
    requires_access_dag(method="POST", access_entity=DagAccessEntity.RUN, param_dag_id="oks_monthly")(request, user)
    origin = request.headers.get("origin") or request.headers.get("referer")
    if credentials is None and (not origin or urlsplit(origin).netloc != request.headers.get("host")):
        raise HTTPException(status_code=403, detail="a form of this site only")
    return user.get_name()


def create_reports_app() -> FastAPI:
    app = FastAPI(title="OKS reports", docs_url=None, redoc_url=None, openapi_url=None, dependencies=[Depends(_may_read_runs)])

    @app.get("/", response_class=HTMLResponse)
    def index() -> str:
        from oks.orchestration.operations_view import runs_page
        from oks.orchestration.resources import store_engine
        from oks.store import oks_home

        return runs_page(store_engine(), oks_home())

    @app.get("/obligations", response_class=HTMLResponse)
    def obligations(show: str = "open", employer: str | None = None, contract: str | None = None) -> str:
        from oks.orchestration.operations_view import obligations_page
        from oks.orchestration.resources import store_engine

        return obligations_page(store_engine(), show=show, employer=employer, contract=contract)

    @app.get("/people", response_class=HTMLResponse)
    def people(said: str | None = None) -> str:
        from oks.orchestration.operations_view import people_page
        from oks.orchestration.resources import store_engine

        return people_page(store_engine(), said=said)

    @app.post("/people/requests")
    async def record_request(request: Request, who: str = Depends(_may_act_on_runs)) -> RedirectResponse:
        """A request made at the employer, recorded from the form as `oks request` records it."""
        from datetime import date
        from urllib.parse import quote

        from oks.orchestration.resources import store_engine
        from oks.privacy import mask_tckn
        from oks.rules.identity import InvalidIdentifier, normalize_tckn
        from oks.store.requests import RequestRefused
        from oks.store.requests import record_request as record

        form = await request.form()
        try:
            tckn = normalize_tckn(str(form.get("tckn") or ""))
            kind, months = str(form.get("kind") or ""), str(form.get("months") or "").strip()
            with store_engine().begin() as conn:
                recorded = record(conn, contract_no=str(form.get("contract_no") or "").strip(), tckn=tckn, kind=kind,
                                  requested_on=date.fromisoformat(str(form.get("requested_on") or "")),
                                  months=int(months) if months else None, by=who)  # fmt: skip
            said = (f"request #{recorded.id} ({kind} of TCKN {mask_tckn(tckn)}) recorded by {who}" if recorded.created
                    else f"request #{recorded.id} was already recorded")  # fmt: skip
        except InvalidIdentifier as exc:
            said = f"not recorded: {exc.message}"
        except (RequestRefused, ValueError) as exc:
            said = f"not recorded: {exc}"
        return RedirectResponse(f"../people?said={quote(said)}", status_code=303)

    @app.get("/alerts", response_class=HTMLResponse)
    def alerts() -> str:
        from oks.orchestration.operations_view import alerts_page
        from oks.orchestration.resources import store_engine

        return alerts_page(store_engine())

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

    # The folder's own name, so the report's relative link to its Data Docs works in the app and on disk.
    @app.get("/data_docs/{run_dir}/{path:path}")
    @app.get("/data-docs/{run_dir}/{path:path}")
    def data_docs_file(run_dir: str, path: str) -> FileResponse:
        return _file("data_docs", run_dir, path)

    return app
