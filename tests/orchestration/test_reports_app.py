"""The reports app of the Airflow plugin: runs listed from the store, files served, nothing else."""

from __future__ import annotations

from fastapi.testclient import TestClient

from oks.orchestration.plugin import OksPlugin
from oks.orchestration.reports_app import _may_read_runs, create_reports_app
from oks.store import open_store
from oks.store.snapshot import start_run


def test_lists_runs_and_serves_their_report_only(tmp_path, monkeypatch):
    monkeypatch.setenv("OKS_HOME", str(tmp_path))
    monkeypatch.setenv("OKS_STORE_URL", f"sqlite:///{tmp_path / 'store.sqlite'}")
    engine = open_store()
    with engine.begin() as conn:
        run_id = start_run(conn, run_key="2026-11:all", period="2026-11")
    (tmp_path / "reports" / f"run-{run_id}").mkdir(parents=True)
    (tmp_path / "reports" / f"run-{run_id}" / "report.html").write_text("<h1>OKS monthly run</h1>", encoding="utf-8")
    (tmp_path / "secret.txt").write_text("not for the web", encoding="utf-8")

    app = create_reports_app()
    app.dependency_overrides[_may_read_runs] = lambda: None  # who may read: tests/orchestration/test_ui_access.py
    client = TestClient(app)
    index = client.get("/")
    assert index.status_code == 200 and "2026-11:all" in index.text and f"reports/run-{run_id}/report.html" in index.text
    assert client.get(f"/reports/run-{run_id}/report.html").text == "<h1>OKS monthly run</h1>"
    assert client.get(f"/reports/run-{run_id}/../../secret.txt").status_code == 404
    assert client.get("/reports/other/secret.txt").status_code == 404


def test_without_credentials_no_route_answers(tmp_path, monkeypatch):
    monkeypatch.setenv("OKS_HOME", str(tmp_path))
    client = TestClient(create_reports_app())
    for route in ("/", "/reports/run-1/report.html", "/data-docs/run-1/index.html", "/nothing-here"):
        assert client.get(route).status_code in (401, 404) and client.get(route).status_code != 200
    assert client.get("/").status_code == 401


def test_the_plugin_puts_the_reports_in_the_navigation():
    (view,) = OksPlugin.external_views
    assert view["destination"] == "nav" and view["href"] == "/oks/"
    assert OksPlugin.fastapi_apps[0]["url_prefix"] == "/oks"
