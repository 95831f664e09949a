"""Who may see what, against Airflow's real api-server with logins on (the simple auth manager, as
`oks ui` runs it): every ``/oks`` route and the REST API refuse a request without credentials (401)
and a user Airflow does not let read ``oks_monthly``'s runs (403); a viewer reads."""

from __future__ import annotations

import pytest
import requests

from oks.store import open_store
from oks.store.snapshot import start_run
from tests.secured_airflow import secured_airflow
from tests.secured_airflow import token as _token

USERS = {"admin": ("admin", "admin-pw-1"), "ops": ("user", "ops-pw-2"), "viewer": ("viewer", "viewer-pw-3"),
         "outsider": ("", "outsider-pw-4")}  # "outsider" has no role: logged in, allowed nothing


@pytest.fixture(scope="module")
def secured(airflow_home, tmp_path_factory):
    home = tmp_path_factory.mktemp("oks-home")
    with secured_airflow(home, USERS, OKS_STORE_URL=f"sqlite:///{home / 'store.sqlite'}") as url:
        engine = open_store()
        with engine.begin() as conn:
            run_id = start_run(conn, run_key="2026-11:all", period="2026-11")
        for folder, name, text in (("reports", "report.html", "<h1>OKS monthly run</h1>"), ("data_docs", "index.html", "<h1>Data Docs</h1>")):
            path = home / folder / f"run-{run_id}" / name
            path.parent.mkdir(parents=True)
            path.write_text(text, encoding="utf-8")
        yield url, run_id


def token(url: str, user: str) -> str:
    return _token(url, user, USERS[user][1])


def routes(run_id: int) -> list[str]:
    return ["/oks/", "/oks/obligations", "/oks/obligations?show=all", "/oks/people", "/oks/alerts", f"/oks/reports/run-{run_id}/report.html",
            f"/oks/data-docs/run-{run_id}/index.html", f"/oks/data_docs/run-{run_id}/index.html"]


def test_nothing_answers_without_credentials(secured):
    url, run_id = secured
    for route in [*routes(run_id), "/api/v2/dags", "/api/v2/dags/~/dagRuns/~/hitlDetails", "/api/v2/connections"]:
        answer = requests.get(f"{url}{route}", timeout=10, allow_redirects=False)
        assert answer.status_code == 401, (route, answer.status_code)
        assert "OKS monthly run" not in answer.text and "2026-11:all" not in answer.text


def test_a_user_not_allowed_to_read_the_runs_is_refused_every_oks_route(secured):
    url, run_id = secured
    headers = {"Authorization": f"Bearer {token(url, 'outsider')}"}
    for route in routes(run_id):
        answer = requests.get(f"{url}{route}", headers=headers, timeout=10)
        assert answer.status_code == 403, (route, answer.status_code)
    # The UI's session cookie is the same identity: refused the same way.
    cookie = requests.get(f"{url}/oks/", cookies={"_token": token(url, "outsider")}, timeout=10)
    assert cookie.status_code == 403


@pytest.mark.parametrize("user", ["viewer", "ops", "admin"])
def test_users_who_may_read_the_runs_see_the_reports_by_token_or_session_cookie(secured, user):
    url, run_id = secured
    jwt = token(url, user)
    index = requests.get(f"{url}/oks/", headers={"Authorization": f"Bearer {jwt}"}, timeout=10)
    assert index.status_code == 200 and "2026-11:all" in index.text
    report = requests.get(f"{url}/oks/reports/run-{run_id}/report.html", cookies={"_token": jwt}, timeout=10)
    assert report.status_code == 200 and "OKS monthly run" in report.text


def test_only_admins_change_connections(secured):
    url, _ = secured
    body = {"connection_id": "oks_payroll", "conn_type": "postgres", "host": "127.0.0.1"}
    for user, allowed in (("viewer", False), ("ops", False), ("admin", True)):
        answer = requests.post(f"{url}/api/v2/connections", json=body | {"connection_id": f"oks_try_{user}"},
                               headers={"Authorization": f"Bearer {token(url, user)}"}, timeout=10)  # fmt: skip
        assert (answer.status_code in (200, 201)) is allowed, (user, answer.status_code, answer.text[:200])


def test_only_operations_record_a_request_from_the_operations_view_and_only_from_its_own_page(secured):
    url, _ = secured
    form = {"contract_no": "AG-1", "tckn": "17291716060", "kind": "OPT_OUT", "requested_on": "2026-11-05", "months": ""}
    post = f"{url}/oks/people/requests"
    assert requests.post(post, data=form, timeout=10, allow_redirects=False).status_code == 401
    for user, status in (("outsider", 403), ("viewer", 403), ("ops", 303), ("admin", 303)):
        answer = requests.post(post, data=form, headers={"Authorization": f"Bearer {token(url, user)}"}, timeout=10, allow_redirects=False)
        assert answer.status_code == status, (user, answer.status_code, answer.text[:200])
    # Nobody to record it for here, so it says so — masked — on the page it returns to.
    said = requests.post(post, data=form, headers={"Authorization": f"Bearer {token(url, 'ops')}"}, timeout=10)
    assert "not recorded: TCKN" in said.text and "17291716060" not in said.text
    # The UI's session cookie acts only for a form of this site: another site's form riding it is refused.
    jwt = token(url, "ops")
    host = url.split("://", 1)[1]
    assert requests.post(post, data=form, cookies={"_token": jwt}, timeout=10, allow_redirects=False).status_code == 403
    assert requests.post(post, data=form, cookies={"_token": jwt}, headers={"Origin": "http://evil.example"}, timeout=10,
                         allow_redirects=False).status_code == 403  # fmt: skip
    assert requests.post(post, data=form, cookies={"_token": jwt}, headers={"Origin": f"http://{host}"}, timeout=10,
                         allow_redirects=False).status_code == 303  # fmt: skip
