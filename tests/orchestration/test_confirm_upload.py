"""confirm_upload: Approve marks the contract's files of the month uploaded; Reject and a timeout fail
without retry (on-call is paged) unless the upload was confirmed meanwhile; confirmed in a shell,
nothing is asked; the requests name the files, never a person."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from airflow.sdk.exceptions import AirflowFailException

from oks.orchestration.operators import ConfirmUploadOperator
from oks.pipeline.assess import assess_eligibility
from oks.pipeline.contribute import compute_contributions
from oks.pipeline.file_channel import plan_upload_confirmations, write_insurer_files
from oks.store.channels import confirm_upload, files_to_upload
from tests.payroll_files import CONTRACT, contract, person
from tests.pipeline.months import run_month


@pytest.fixture
def written(tmp_path, monkeypatch):
    from oks.orchestration.resources import store_engine

    monkeypatch.setenv("OKS_STORE_URL", f"sqlite:///{tmp_path / 'store.sqlite'}")
    engine = store_engine()
    rows = [person(1), person(2)]
    run_id = run_month(engine, tmp_path, rows, [contract(insurer="VAKIF")])
    assess_eligibility(engine, run_id)
    compute_contributions(engine, run_id)
    write_insurer_files(engine, run_id, [CONTRACT], outbox=tmp_path / "outbox")
    return engine, run_id, rows


def operator():
    return ConfirmUploadOperator(task_id="confirm_upload", contract_no=CONTRACT, period="2026-10", subject="upload")


def answer(option):
    return {"chosen_options": [option], "params_input": {}, "responded_at": datetime.now(UTC), "responded_by_user": {"id": "7", "name": "ops"}}


def _waiting(engine):
    with engine.connect() as conn:
        return len(files_to_upload(conn, contract_no=CONTRACT, period="2026-10"))


def test_the_request_names_the_files_to_upload_and_no_person(written, tmp_path):
    engine, run_id, rows = written
    (request,) = plan_upload_confirmations(engine, run_id, outbox=tmp_path / "outbox")
    assert (request["contract_no"], request["period"]) == (CONTRACT, "2026-10")
    assert "Upload 2 file(s) of AG-2026-001 (2026-10) to VAKIF's portal" == request["subject"]
    assert "VAKIF_AG-2026-001_2026-10_personnel.xlsx" in request["body"] and "contribution.xlsx" in request["body"]
    assert all(r["tckn"] not in request["body"] and r["last_name"] not in request["body"] for r in rows)


def test_approve_marks_the_files_uploaded_and_nothing_is_asked_again(written, tmp_path):
    engine, run_id, _ = written
    assert _waiting(engine) == 2
    assert operator().execute_complete({}, answer("Approve"))["files"] == 2
    assert _waiting(engine) == 0 and plan_upload_confirmations(engine, run_id, outbox=tmp_path / "outbox") == []
    assert operator().execute({})["already_confirmed"] is True


def test_reject_and_timeout_fail_without_retry_unless_confirmed_meanwhile(written):
    engine, _, _ = written
    with pytest.raises(AirflowFailException, match="were not uploaded — upload them now"):
        operator().execute_complete({}, answer("Reject"))
    timeout = {"error": "timed out", "error_type": "timeout"}
    with pytest.raises(AirflowFailException, match="were not uploaded"):
        operator().execute_complete({}, timeout)
    with engine.begin() as conn:
        assert confirm_upload(conn, contract_no=CONTRACT, period="2026-10") == 2
    assert operator().execute_complete({}, timeout)["already_confirmed"] is True
