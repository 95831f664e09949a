"""On-call advice follows the error's kind: each kind, raised for real where it can be (a refused
PostgreSQL connection, a missing SQLite table), gets its own runbook — and the page says it instead of
the task's general one."""

from __future__ import annotations

import pytest
import requests
import sqlalchemy as sa

from oks.des.errors import DesAuthError, DesUnavailable, LedgerConflict, PaymentConflict
from oks.orchestration.monthly import TooManyToMap
from oks.orchestration.notifiers import OnCallNotifier
from oks.orchestration.operators import NoTransferConfirmation, TransferNotConfirmed, TransferReportedNotMade
from oks.orchestration.runbook import advice_for
from oks.pipeline.obligations import ObligationConflict
from oks.pipeline.reconcile import InvariantBroken
from oks.quality.errors import InvalidShareExceeded, SnapshotStructureError
from oks.store.bulk import BulkLoadError
from oks.store.snapshot import RunBusy

# smtp, webhook (real SMTP and webhook receivers) and oks_home come from tests/orchestration/conftest.py;
# each test here has a home of its own, as in test_notifiers.
pytestmark = pytest.mark.usefixtures("oks_home")


def _raised(make):
    try:
        make()
    except BaseException as exc:  # noqa: BLE001 - the error as the task would see it
        return exc
    raise AssertionError("nothing was raised")


def postgres_down():
    engine = sa.create_engine("postgresql+psycopg2://postgres@127.0.0.1:1/postgres", connect_args={"connect_timeout": 2})
    with engine.connect():
        pass


def sqlite_missing_table(tmp_path):
    with sa.create_engine(f"sqlite:///{tmp_path / 'x.sqlite'}").connect() as conn:
        conn.exec_driver_sql("SELECT * FROM oks_validate_run_1")


def wrapped_requests_error():
    try:
        raise requests.ConnectionError("connection refused")
    except requests.ConnectionError as exc:
        raise RuntimeError("reading the insurer's answers") from exc


def airflow(name: str, message: str = ""):
    from airflow.sdk import exceptions

    return getattr(exceptions, name)(message)


CASES = [
    ("postgres refused the connection", lambda t: _raised(postgres_down), "OKS store unreachable"),
    ("DES down after retries", lambda t: DesUnavailable("submit_payment", 6, "503"), "DES unavailable"),
    ("requests error under a wrapper", lambda t: _raised(wrapped_requests_error), "DES unavailable"),
    ("DES refused credentials", lambda t: DesAuthError("token", 401, "AUTH", "expired"), "DES refused the credentials"),
    ("duplicate period", lambda t: PaymentConflict("AG-1", "2026-11", "PAY-1", "+30"), "DES holds another payment for the month"),
    ("ledger key reuse", lambda t: LedgerConflict("key"), "idempotency key reused for other content"),
    ("validation threshold", lambda t: InvalidShareExceeded("40% invalid"), "too many payroll rows invalid"),
    ("export unusable", lambda t: SnapshotStructureError("no rows"), "payroll export unusable"),
    ("period busy", lambda t: RunBusy("period 2026-11 is already being run"), "period already being run"),
    ("bulk load refused", lambda t: BulkLoadError("loading into payroll_lines failed at payroll row 7"), "store refused a payroll row"),
    ("invariant", lambda t: InvariantBroken("2 rows without an outcome"), "accounts do not add up"),
    ("obligation conflict", lambda t: ObligationConflict("paid 300, computes 360"), "obligation differs from a paid one"),
    ("approval amount mismatch", lambda t: TransferNotConfirmed("does not match"), "transfer confirmation refused"),
    ("sensor timeout", lambda t: airflow("AirflowSensorTimeout", "waited 6h"), "insurer did not answer in time"),
    ("transfer rejected", lambda t: TransferReportedNotMade("obligation #3: NOT made"), "transfer reported NOT made"),
    ("approval unanswered", lambda t: NoTransferConfirmation("obligation #3: no answer"), "no transfer confirmation"),
    ("more to map than allowed", lambda t: TooManyToMap("1514 payment obligations to confirm"), "more to map than Airflow allows"),
]


@pytest.mark.parametrize(("case", "make", "kind"), CASES, ids=[c[0] for c in CASES])
def test_each_kind_of_error_gets_its_own_runbook(case, make, kind, tmp_path):
    advice = advice_for(make(tmp_path))
    assert advice is not None and advice.kind == kind and len(advice.what_to_do) > 40


@pytest.mark.parametrize(
    "make",
    [lambda t: _raised(lambda: sqlite_missing_table(t)), lambda t: RuntimeError("something else"), lambda t: None,
     lambda t: airflow("AirflowFailException", "the transfer was reported NOT made")],  # the words alone are not the kind
)  # fmt: skip
def test_an_error_of_no_known_kind_keeps_the_tasks_own_advice(make, tmp_path):
    assert advice_for(make(tmp_path)) is None


class _TI:
    dag_id, task_id, run_id, log_url = "oks_monthly", "validate_personnel", "manual__2026-11-01", None


class _Task:
    doc_md = "Validates.\n\n**If it fails** the invalid share passed the threshold: read the Data Docs, fix payroll, re-run."


def test_a_database_outage_during_validation_is_not_answered_fix_payroll(smtp, webhook):
    OnCallNotifier().notify({"ti": _TI(), "task": _Task(), "exception": _raised(postgres_down)})
    (mail,) = smtp.messages
    assert mail["subject"] == "[OKS FAILED] oks_monthly.validate_personnel (manual__2026-11-01): OKS store unreachable"
    assert "What to do: (OKS store unreachable) The OKS store" in mail["body"] and "fix payroll" not in mail["body"]
    OnCallNotifier().notify({"ti": _TI(), "task": _Task(), "exception": RuntimeError("boom")})
    assert "fix payroll, re-run" in smtp.messages[1]["body"]  # no known kind: the task's own runbook
