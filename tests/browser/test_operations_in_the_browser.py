"""Operations' month in a real browser, against ``oks ui`` as ``make ui`` starts it (scheduler,
dag-processor, triggerer and api-server as processes, logins on, the DES simulator beside them):

an operations user logs in, reads when the DAG's deadline falls, triggers ``oks_monthly`` for the period ``oks ui`` names, and when the
bank-transfer approval appears a viewer is refused it; operations answer it with the amount (typed
the Turkish way) and the bank reference; the run succeeds, the operations view shows the obligation
paid by that user, and the report and its Data Docs open styled — with nothing fetched off
loopback. Screenshots of every step are kept (see conftest)."""

from __future__ import annotations

import re
import time
from urllib.parse import unquote

import pytest
import requests

from oks.orchestration.airflow_api import AirflowApi

pytestmark = pytest.mark.browser


def log_in(page, url: str, user: str, password: str) -> None:
    page.goto(f"{url}/")
    page.get_by_label("Username").fill(user)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{url}/", timeout=30_000)


class Observer:
    """The REST API as admin, only to wait for what the people in the browser are waiting for."""

    def __init__(self, url: str, password: str) -> None:
        # A generous timeout: on two cores the api-server shares the machine with the run's tasks.
        self.api = AirflowApi(url, username="admin", password=password, timeout=60)

    def until(self, what: str, probe, timeout: float = 300):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                found = probe()
            except requests.RequestException:  # busy or restarting: ask again, the deadline still holds
                found = None
            if found:
                return found
            time.sleep(1)
        raise AssertionError(f"not within {timeout:.0f} s: {what}")

    def waiting_approvals(self, run_id: str) -> list[dict]:
        return [d for d in self.api.pending_requests("confirm_bank_transfer") if d["task_instance"]["dag_run_id"] == run_id]

    def run_state(self, run_id: str) -> str:
        return self.api.get(f"dags/oks_monthly/dagRuns/{run_id}")["state"]


def turkish(amount: str) -> str:
    """57,977.00 (as the page shows it) → 57.977,00 (as a Turkish bank statement writes it)."""
    return amount.replace(",", " ").replace(".", ",").replace(" ", ".")


def test_operations_trigger_approve_with_the_amount_and_see_it_paid(oks_ui, browser):
    observer = Observer(oks_ui.url, oks_ui.passwords["admin"])

    ops = browser.page("ops")
    log_in(ops, oks_ui.url, "ops", oks_ui.passwords["ops"])
    ops.goto(f"{oks_ui.url}/dags/oks_monthly")
    ops.get_by_text(re.compile(r"^1 deadline$")).first.click()
    rule = ops.get_by_text(re.compile(r"^Must complete within")).first.inner_text()
    assert "of the statutory payment deadline (bank closing time" in rule and "StatutoryPaymentDeadline" not in rule, rule
    browser.shot(ops, "00-deadline-rule")
    ops.keyboard.press("Escape")
    ops.get_by_role("button", name="Trigger").first.click()
    form = ops.get_by_role("dialog")
    form.get_by_role("combobox").first.click()
    choice = ops.get_by_role("option", name=re.compile(rf"^{oks_ui.period} · "))
    choice.click()
    browser.shot(ops, "01-ops-trigger-form")
    form.get_by_role("button", name="Trigger").click()
    ops.wait_for_url(re.compile(r"/dags/oks_monthly/runs/manual__"))
    run_id = unquote(ops.url.rsplit("/runs/", 1)[1])
    assert observer.api.get(f"dags/oks_monthly/dagRuns/{run_id}")["conf"]["period"] == oks_ui.period

    (approval,) = observer.until("the bank-transfer approval", lambda: observer.waiting_approvals(run_id))
    ti = approval["task_instance"]
    page_of_approval = (f"{oks_ui.url}/dags/oks_monthly/runs/{run_id}/tasks/confirm_bank_transfer/mapped/"
                        f"{ti['map_index']}/required_actions")  # fmt: skip
    assert list(approval["params"]) == ["amount", "bank_reference"], approval["params"]

    # A viewer sees the request but may not answer it.
    viewer = browser.page("viewer")
    log_in(viewer, oks_ui.url, "viewer", oks_ui.passwords["viewer"])
    viewer.goto(page_of_approval)
    owed = re.search(r"Obligation #\d+: ([\d,]+\.\d\d) TL to", viewer.get_by_text(re.compile(r"^Obligation #\d+: ")).first.inner_text())
    assert owed, "the approval names the amount owed"
    viewer.locator("#element_amount").fill(turkish(owed.group(1)))
    with viewer.expect_response(lambda r: r.request.method == "PATCH" and "hitlDetails" in r.url) as refused:
        viewer.get_by_role("button", name="Approve").click()
    assert refused.value.status == 403
    viewer.get_by_text("You do not have permission to perform this action.").wait_for()
    browser.shot(viewer, "02-viewer-refused-the-approval")
    assert observer.waiting_approvals(run_id), "the viewer's click answered nothing"

    # Operations answer with what the bank statement says.
    ops.goto(page_of_approval)
    ops.get_by_text(f"Transfer {owed.group(1)} TL to").wait_for()
    ops.locator("#element_amount").fill(turkish(owed.group(1)))
    ops.locator("#element_bank_reference").fill("BRW-2026-000123")
    browser.shot(ops, "03-ops-approval-with-amount")
    with ops.expect_response(lambda r: r.request.method == "PATCH" and "hitlDetails" in r.url) as answered:
        ops.get_by_role("button", name="Approve").click()
    assert answered.value.status == 200, answered.value.text()

    state = observer.until("the run to end", lambda: (s := observer.run_state(run_id)) in ("success", "failed") and s)
    assert state == "success"
    # Task logs are read from the home's files: no log server runs, none is needed.
    log = observer.api.get(f"dags/oks_monthly/dagRuns/{run_id}/taskInstances/extract_payroll/logs/1")
    text = str(log.get("content"))
    assert "Could not read served logs" not in text and "extract" in text.lower(), text[:2000]

    # The operations view: paid, by whom, with the bank's reference.
    ops.goto(f"{oks_ui.url}/oks/obligations?show=all")
    obligation = ti["rendered_map_index"].rsplit("#", 1)[1]
    row = ops.locator("tr").filter(has=ops.locator("td", has_text=re.compile(rf"^#{obligation}$")))
    row.wait_for()
    assert ("paid" in row.inner_text() or "LATE" in row.inner_text()) and "by airflow:ops" in row.inner_text() and "ref BRW-2026-000123" in row.inner_text()
    assert owed.group(1) in row.inner_text()
    browser.shot(ops, "04-ops-obligation-paid")

    # The run's report, then its Data Docs, styled from the app itself.
    ops.goto(f"{oks_ui.url}/oks/")
    ops.get_by_role("link", name="report").first.click()
    ops.wait_for_load_state("networkidle")
    assert oks_ui.period in ops.content()
    browser.shot(ops, "05-report")
    ops.goto(f"{oks_ui.url}/oks/")
    loaded: list = []
    ops.on("response", lambda r: loaded.append((r.url, r.status)))
    ops.get_by_role("link", name="Data Docs").first.click()
    ops.wait_for_load_state("networkidle")
    assert "/oks/data_docs/" in ops.url
    assets = [(url, status) for url, status in loaded if url.endswith((".css", ".js"))]
    assert any(url.endswith("bootstrap.min.css") for url, _ in assets), assets
    assert all(status == 200 for _, status in assets), assets
    # Styled: Bootstrap's rules apply (its .container has a max width; unstyled it has none).
    assert ops.evaluate("getComputedStyle(document.querySelector('.container, .container-fluid')).paddingLeft") != "0px"
    browser.shot(ops, "06-data-docs")

    assert browser.off_loopback == [], f"the browser was sent off this machine: {browser.off_loopback}"
