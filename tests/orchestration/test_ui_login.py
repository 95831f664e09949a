"""The logins of `oks ui`: generated once per Airflow home, readable by the owner only, never the
same secret in two homes, the UI bound to loopback, approvals assigned to operations."""

from __future__ import annotations

import stat

from oks.orchestration.ui_login import ROLES, local_logins


def test_passwords_and_secret_are_generated_once_into_owner_only_files(tmp_path):
    first = local_logins(tmp_path)
    assert first.created and set(first.passwords) == set(ROLES)
    for path in (first.passwords_file, tmp_path / "oks_ui_jwt_secret"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    again = local_logins(tmp_path)
    assert not again.created and again.passwords == first.passwords and again.jwt_secret == first.jwt_secret
    other = local_logins(tmp_path / "other-home")
    assert other.jwt_secret != first.jwt_secret and other.passwords["admin"] != first.passwords["admin"]
    assert len(first.jwt_secret) >= 32 and all(len(p) >= 12 for p in first.passwords.values())


def test_a_user_added_later_gets_a_password_and_nobody_loses_theirs(tmp_path):
    first = local_logins(tmp_path)
    kept = {"admin": first.passwords["admin"]}
    first.passwords_file.write_text(__import__("json").dumps(kept), encoding="utf-8")
    again = local_logins(tmp_path)
    assert again.created and again.passwords["admin"] == kept["admin"] and set(again.passwords) == set(ROLES)


def test_the_environment_logs_in_and_assigns_the_approvals(tmp_path):
    env = local_logins(tmp_path).environment()
    assert env["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS"] == "False"
    assert env["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS"] == "admin:admin,ops:user,viewer:viewer"
    assert env["OKS_APPROVERS"] == "ops"


def test_approvals_are_assigned_to_the_approvers_named(monkeypatch):
    from oks.orchestration.operators import ConfirmBankTransferOperator, DecideCorrectionOperator

    monkeypatch.setenv("OKS_APPROVERS", "ops, bank-job")
    confirm = ConfirmBankTransferOperator(task_id="c", obligation_id=1, subject="s")
    decide = DecideCorrectionOperator(task_id="d", correction_id=1, subject="s")
    for op in (confirm, decide):
        assert [u["id"] for u in op.assigned_users] == ["ops", "bank-job"]
    monkeypatch.delenv("OKS_APPROVERS")
    assert not ConfirmBankTransferOperator(task_id="c", obligation_id=1, subject="s").assigned_users


def test_no_local_airflow_is_configured_all_admins_or_with_a_secret_from_code(tmp_path, monkeypatch):
    import os

    from oks.orchestration.local_run import configure_local_airflow

    dropped = ("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS", "AIRFLOW__API_AUTH__JWT_SECRET", "AIRFLOW_HOME")
    # A copy of the environment: what configure_local_airflow sets must not outlive this test.
    monkeypatch.setattr(os, "environ", {k: v for k, v in os.environ.items() if k not in dropped})
    configure_local_airflow(tmp_path / "airflow", tmp_path / "dags")
    assert "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS" not in os.environ
    assert "AIRFLOW__API_AUTH__JWT_SECRET" not in os.environ  # it comes from local_logins, per home
