"""A real browser — Debian's Chromium, driven by Playwright's Python package through
``executable_path`` (never ``playwright install``) — and ``oks ui`` as operations start it.

The browser is installed by the project's own set-up (``make test`` installs ``chromium`` and
``chromium-driver`` where it can). Where it is missing the tests are skipped on a developer's machine
and *fail* under ``CI=true``. Every page the browser asks for off loopback is refused and recorded,
so a test can prove that nothing is fetched from the internet.

Screenshots are kept in ``OKS_TEST_ARTIFACTS`` (default ``.test-artifacts/browser`` in the checkout).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest

REPO = Path(__file__).resolve().parents[2]
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"]  # fmt: skip


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def chromium_path() -> str:
    found = os.environ.get("OKS_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        message = "Debian's chromium is not installed (make test installs it with apt-get where it can)"
        if _in_ci():
            pytest.fail(message + " (CI=true: the browser test must run)", pytrace=False)
        pytest.skip(message)
    return found


@pytest.fixture(scope="session")
def artifacts() -> Path:
    out = Path(os.environ.get("OKS_TEST_ARTIFACTS") or REPO / ".test-artifacts" / "browser")
    out.mkdir(parents=True, exist_ok=True)
    return out


@dataclass
class Browser:
    browser: object
    artifacts: Path
    off_loopback: list[str] = field(default_factory=list)

    def page(self, user: str):
        """A fresh context (own cookies) for one person; requests off loopback are refused."""
        context = self.browser.new_context(viewport={"width": 1400, "height": 900})

        def only_loopback(route):
            if urlsplit(route.request.url).hostname in ("127.0.0.1", "localhost"):
                return route.continue_()
            self.off_loopback.append(route.request.url)
            return route.abort()

        context.route("**/*", only_loopback)
        page = context.new_page()
        page.set_default_timeout(30_000)
        page.oks_user = user
        return page

    def shot(self, page, name: str) -> Path:
        path = self.artifacts / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path


@pytest.fixture(scope="module")
def browser(artifacts):
    executable = chromium_path()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_FLAGS)
        try:
            yield Browser(chromium, artifacts)
        finally:
            chromium.close()


@dataclass(frozen=True)
class OksUi:
    url: str
    period: str
    passwords: dict[str, str]
    airflow_home: Path
    oks_home: Path


@pytest.fixture(scope="module")
def oks_ui(tmp_path_factory):
    """``oks ui`` (what ``make ui`` runs) in its own homes, as a process group; stopped with SIGTERM
    as a shell's ``kill`` would, and then checked to have left no process behind."""
    home = tmp_path_factory.mktemp("oks-ui")
    from oks.orchestration.local_run import free_port

    port, simulator_port = free_port(), free_port()
    # The session's own Airflow and store settings stay out: this is a fresh machine's `make ui`.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "OKS_"))}
    env.update({
        "AIRFLOW_HOME": str(home / "airflow"), "OKS_HOME": str(home / "oks"), "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
        "OKS_DES_POLL_SECONDS": "1",
        # Unpausing oks_monthly to run it would also start the latest scheduled month (catchup=False
        # runs the most recent cron time): this test is about the manual run operations trigger.
        "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False",
    })  # fmt: skip
    log = home / "oks-ui.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [str(Path(sys.executable).parent / "oks"), "ui", "--repo", str(REPO), "--port", str(port), "--simulator-port",
             str(simulator_port), "--employees", "40", "--employers", "1", "--insurer-delay", "1"],
            env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    try:
        period = _wait_for_banner(process, log)
        passwords = json.loads((home / "airflow" / "oks_ui_passwords.json").read_text(encoding="utf-8"))
        yield OksUi(f"http://127.0.0.1:{port}", period, passwords, home / "airflow", home / "oks")
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(90)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)
            pytest.fail(f"oks ui did not stop on SIGTERM within 90 s; log:\n{log.read_text(errors='replace')[-3000:]}")
        left = _processes_with(f"AIRFLOW_HOME={home / 'airflow'}")
        assert not left, f"oks ui left processes behind: {left}"


def _processes_with(variable: str) -> list[int]:
    """Pids whose environment holds ``variable`` (every component inherits the home it serves)."""
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if variable.encode() in (proc / "environ").read_bytes().split(b"\0"):
                    found.append(int(proc.name))
            except OSError:
                pass
    return found


def _wait_for_banner(process: subprocess.Popen, log: Path, timeout: float = 240) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = log.read_text(encoding="utf-8", errors="replace") if log.exists() else ""
        found = re.search(r"trigger oks_monthly with period (\d{4}-\d{2})", text)
        if found:
            return found.group(1)
        if process.poll() is not None:
            pytest.fail(f"oks ui exited with {process.returncode}:\n{text[-4000:]}")
        time.sleep(1)
    pytest.fail(f"oks ui not ready in {timeout:.0f} s:\n{log.read_text(errors='replace')[-4000:]}")
