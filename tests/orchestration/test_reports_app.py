"""The reports app of the Airflow plugin: runs listed from the store, files served, nothing else."""

from __future__ import annotations

from datetime import UTC

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


def test_the_operations_view_shows_what_is_owed_live_the_alerts_and_every_attempt(tmp_path, monkeypatch):
    from datetime import date, datetime
    from decimal import Decimal

    import sqlalchemy as sa

    from oks.orchestration.operations_view import obligations_page
    from oks.pipeline.obligations import confirm_payment, record_payment_obligations
    from oks.store.schema import alerts
    from oks.store.snapshot import fail_run
    from tests.payroll_files import person
    from tests.pipeline.months import month

    monkeypatch.setenv("OKS_HOME", str(tmp_path))
    monkeypatch.setenv("OKS_STORE_URL", f"sqlite:///{tmp_path / 'store.sqlite'}")
    engine = open_store()
    rows = [person(1, pek=Decimal("40000"), wage_paid_on=date(2026, 10, 23)), person(2, pek=Decimal("50000")),
            person(1, pek=Decimal("10000"), payment_kind="supplementary")]  # fmt: skip
    with engine.begin() as conn:  # a first attempt that failed, then the re-run that went through
        start_run(conn, run_key="r", period="2026-10", owner="manual__first")
        fail_run(conn, "r", {"task": "validate_personnel", "error": "OperationalError: server closed the connection"})
    month(engine, tmp_path, rows)
    instructions = record_payment_obligations(engine, 1)
    paid, *open_ = sorted(instructions, key=lambda i: i.wage_paid_on)
    confirm_payment(engine, obligation_id=paid.obligation_id, confirmed_by="airflow:ops", amount=paid.amount, bank_reference="EFT-77")
    with engine.begin() as conn:
        conn.execute(sa.insert(alerts).values(dedupe_key="k1", obligation_id=open_[0].obligation_id, level="overdue", channel="email",
                                              message="[OKS OVERDUE] pay 1,500.00 TL to AGESA"))  # fmt: skip

    app = create_reports_app()
    app.dependency_overrides[_may_read_runs] = lambda: None
    client = TestClient(app)
    owed = client.get("/obligations").text
    for instruction in open_:
        assert f"#{instruction.obligation_id}" in owed and f"{instruction.amount:,.2f}" in owed
    assert f"#{paid.obligation_id}</td>" not in owed  # paid: not in the open list
    everything = client.get("/obligations?show=all").text
    assert "airflow:ops" in everything and "ref EFT-77" in everything
    assert "AG-2026-001" in client.get("/obligations?contract=AG-2026-001").text
    assert "none" in client.get("/obligations?contract=OTHER-1").text
    # Overdue is judged at the moment of asking: before the deadline due, after it OVERDUE.
    before = obligations_page(engine, now=datetime(2026, 10, 20, tzinfo=UTC))
    after = obligations_page(engine, now=datetime(2026, 12, 1, tzinfo=UTC))
    assert "OVERDUE" not in before and after.count(">OVERDUE<") == len(open_)
    sent = client.get("/alerts").text
    assert "[OKS OVERDUE] pay 1,500.00 TL to AGESA" in sent and "email" in sent
    runs_page = client.get("/").text
    assert "1. failed · manual__first" in runs_page and "validate_personnel OperationalError" in runs_page
    assert "2. running · local" in runs_page  # the re-run is the second attempt; the failed first one is kept
    for page in (owed, everything, sent, runs_page):
        assert person(1)["tckn"] not in page and person(1)["last_name"] not in page


def test_the_plugin_is_found_once_so_airflow_reports_no_plugin_error():
    from importlib.metadata import distributions

    from airflow._shared.plugins_manager.plugins_manager import _load_entrypoint_plugins

    assert [d.metadata["Name"] for d in distributions()].count("oks-pipeline") == 1
    plugins, errors = _load_entrypoint_plugins()
    assert [p.name for p in plugins].count("oks") == 1 and errors == {}


def test_operations_record_a_request_made_at_the_employer_from_the_people_page(tmp_path, monkeypatch):
    import sqlalchemy as sa

    from oks.orchestration.reports_app import _may_act_on_runs
    from oks.store.schema import employer_requests
    from tests.enrolled import enrolled_person

    monkeypatch.setenv("OKS_HOME", str(tmp_path))
    monkeypatch.setenv("OKS_STORE_URL", f"sqlite:///{tmp_path / 'store.sqlite'}")
    engine = open_store()
    row = enrolled_person(engine, 7, "AG-7", "AG000000007")
    app = create_reports_app()
    app.dependency_overrides[_may_read_runs] = lambda: None  # who may: tests/orchestration/test_ui_access.py
    app.dependency_overrides[_may_act_on_runs] = lambda: "ops"
    client = TestClient(app)
    assert "Record a request made at the employer" in client.get("/people").text
    form = {"contract_no": "AG-7", "tckn": row["tckn"], "kind": "PAUSE", "requested_on": "2026-11-05", "months": "2"}
    page = client.post("/people/requests", data=form)  # follows the redirect back to the page
    assert page.status_code == 200 and "recorded by ops" in page.text and "PAUSE (2 mo.)" in page.text and row["tckn"] not in page.text
    refused = client.post("/people/requests", data={**form, "kind": "RESUME", "months": ""})
    assert "not recorded: TCKN" in refused.text and "a RESUME request needs an enrolment that is paused" in refused.text
    with engine.connect() as conn:
        assert conn.execute(sa.select(employer_requests.c.kind, employer_requests.c.months, employer_requests.c.recorded_by)).all() == [
            ("PAUSE", 2, "ops")]  # fmt: skip
