"""The installed ``oks`` command, run as a user runs it: a separate process from the venv's bin."""

from __future__ import annotations

import json

import pytest

from tests.cli_runner import oks


def test_deadline_on_kurban_arife_skips_the_bayram():
    result = oks("deadline", "2026-05-26")
    assert result.returncode == 0, result.stderr
    assert "due on        2026-06-01 Monday" in result.stdout
    assert "cut-off       none" in result.stdout
    assert result.stdout.count("skipped") == 5


def test_deadline_json_with_half_day_cutoff_and_turkish_date():
    result = oks("deadline", "25.05.2026", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"wage_paid_on": "2026-05-25", "due_on": "2026-05-26", "cutoff": "12:00", "skipped": []}


def test_deadline_rejects_a_non_date():
    result = oks("deadline", "26/05/2026")
    assert result.returncode == 2
    assert "use 2026-05-26 or 26.05.2026" in result.stderr


@pytest.mark.parametrize(
    ("kind", "value", "stdout", "status"),
    [
        ("tckn", "172 917 160 60", "17291716060", 0),
        ("tckn", "17291716061", "checksum", 1),
        ("iban", "tr33 0006 1005 1978 6457 8413 26", "TR330006100519786457841326", 0),
        ("iban", "DE89370400440532013000", "country", 1),
        ("mobile", "0532 123 45 67", "+905321234567", 0),
        ("mobile", "0212 123 45 67", "not_mobile", 1),
    ],
)
def test_check_id(kind, value, stdout, status):
    result = oks("check-id", kind, value)
    assert (result.stdout.strip(), result.returncode) == (stdout, status)
    if status:
        compact = value.replace(" ", "")
        assert compact not in result.stderr  # the reason is shown masked


def test_help_lists_every_command():
    result = oks("--help")
    assert result.returncode == 0
    for command in ("deadline", "check-id", "demo", "parameters", "run-month"):
        assert command in result.stdout


def test_demo_shows_masked_people_and_a_deadline():
    result = oks("demo", "--wage-paid-on", "2026-05-25")
    assert result.returncode == 0, result.stderr
    assert "172******60" in result.stdout and "17291716060" not in result.stdout
    assert "due by 2026-05-26 Tuesday before 12:00" in result.stdout


def test_demo_on_a_year_not_on_file_computes_and_says_the_limits_are_unchecked():
    result = oks("demo", "--wage-paid-on", "2027-01-04")
    assert result.returncode == 0, result.stderr
    assert "PEK bounds for 2027-01: not checked" in result.stdout and "parameters/2027.toml" in result.stdout
    assert "statutory rate 3%" in result.stdout and "due by 2027-01-05 Tuesday" in result.stdout


def test_parameters_lists_the_files_and_the_periods_that_ran_without_limits(tmp_path):
    from oks.store import open_store
    from oks.store.snapshot import record_step, start_run

    url = f"sqlite:///{tmp_path / 'store.sqlite'}"
    engine = open_store(url)
    with engine.begin() as conn:
        for period, checked in (("2026-12", True), ("2027-01", False)):
            run_id = start_run(conn, run_key=f"{period}:all", period=period)
            limits = {"checked": True, "file": "2026.toml"} if checked else {
                "checked": False, "missing_file": "plugins/oks/rules/data/parameters/2027.toml", "reason": "not on file"}
            record_step(conn, run_id, "validate", {"pek_limits": limits})
    engine.dispose()
    result = oks("parameters", "--store", url)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "2026  2026.toml  in force from 2026-01-01" in out and "SGK Genelge 2026/2" in out
    assert "3.00% from 2017-01-01" in out and "4632" in out
    assert "runs validated without PEK limits (1):" in out
    assert "2027-01  run 2027-01:all (running): missing plugins/oks/rules/data/parameters/2027.toml" in out
    assert "2026-12  run" not in out


def test_a_request_made_at_the_employer_is_recorded_once_and_refused_where_the_enrolment_cannot_take_it(tmp_path):
    import sqlalchemy as sa

    from oks.store import open_store
    from oks.store.schema import employer_requests
    from tests.enrolled import enrolled_person

    store = f"sqlite:///{tmp_path / 'store.sqlite'}"
    engine = open_store(store)
    row = enrolled_person(engine, 1, "AG-9", "AG000000001")
    args = ("--contract", "AG-9", "--tckn", row["tckn"], "--on", "05.11.2026", "--by", "ops", "--store", store)
    first, again = oks("request", "opt-out", *args), oks("request", "opt-out", *args)
    assert first.returncode == 0 and "recorded by ops: opt-out of TCKN" in first.stdout and row["tckn"] not in first.stdout
    assert again.returncode == 0 and "was already recorded: nothing changed" in again.stdout
    resume = oks("request", "resume", *args)
    assert resume.returncode == 1 and "is enrolled: a RESUME request needs an enrolment that is paused" in resume.stdout
    pause = oks("request", "pause", *args)  # no months
    assert pause.returncode == 1 and "a pause needs its months" in pause.stdout
    stranger = oks("request", "leave", "--contract", "AG-9", "--tckn", "17291716060", "--on", "2026-11-05", "--by", "ops", "--store", store)
    assert stranger.returncode == 1 and "has no enrolment under contract AG-9" in stranger.stdout and "17291716060" not in stranger.stdout
    with engine.connect() as conn:
        assert conn.execute(sa.select(employer_requests.c.kind, employer_requests.c.state, employer_requests.c.recorded_by)).all() == [
            ("OPT_OUT", "recorded", "ops")]  # fmt: skip


def test_the_deduction_list_is_written_for_payroll_and_differences_exit_three_masked(tmp_path):
    from decimal import Decimal

    from oks.pipeline.deductions import read_deduction_list
    from oks.store import open_store
    from tests.payroll_files import person
    from tests.pipeline.months import month

    store = f"sqlite:///{tmp_path / 'store.sqlite'}"
    rows = [person(1, payroll_deduction=Decimal("1350.00")), person(2, payroll_deduction=Decimal("1000.00"))]
    run_id = month(open_store(store), tmp_path, rows)
    out = tmp_path / "for-payroll.csv"

    result = oks("deductions", "--run", str(run_id), "--out", str(out), "--store", store)

    assert result.returncode == 3, result.stderr
    assert f"2 deduction(s) written to {out}" in result.stdout
    assert "P00002" in result.stdout and "payroll deducts 1,000.00, the contribution is 1,350.00" in result.stdout
    assert "P00001 " not in result.stdout and rows[1]["tckn"] not in result.stdout and "Ayşe" not in result.stdout
    assert [d.payroll_id for d in read_deduction_list(out)] == ["P00001", "P00002"]
    assert oks("deductions", "--run", "999", "--store", store).returncode == 1


def test_an_operator_switches_a_month_to_the_file_channel_recorded_and_refused_once_the_other_holds_it(tmp_path):
    from oks.store import open_store
    from oks.store.channels import record_file_payment
    from tests.payroll_files import CONTRACT, contract, person
    from tests.pipeline.months import run_month

    store = f"sqlite:///{tmp_path / 'store.sqlite'}"
    engine = open_store(store)
    run_month(engine, tmp_path, [person(1)], [contract()])
    common = ("--contract", CONTRACT, "--period", "2026-10", "--store", store)

    shown = oks("channel", "show", *common)
    assert shown.returncode == 0 and f"contract {CONTRACT} 2026-10: goes by DES; no REGULAR payment made yet" in shown.stdout
    switched = oks("channel", "switch", "--to", "file", "--by", "ops", "--reason", "DES down on the due day", *common)
    assert switched.returncode == 0 and "switched by ops (DES down on the due day): goes by FILE" in switched.stdout
    assert oks("channel", "switch", "--to", "des", *common).returncode == 2  # who and why are required
    with engine.begin() as conn:
        record_file_payment(conn, contract_no=CONTRACT, period="2026-10", payment_kind="REGULAR", file_name="f.csv", content_hash="h")
    back = oks("channel", "switch", "--to", "des", "--by", "ops", "--reason", "DES is back", *common)
    assert back.returncode == 1 and "refused: contract" in back.stdout and "already held by FILE" in back.stdout
    uploaded = oks("confirm-upload", "--contract", CONTRACT, "--period", "2026-10", "--by", "ops", "--store", store)
    assert uploaded.returncode == 0 and "1 file(s) confirmed uploaded by ops" in uploaded.stdout
    assert oks("confirm-upload", "--contract", CONTRACT, "--period", "2026-10", "--by", "ops", "--store", store).returncode == 1


def test_a_file_channel_insurers_policy_numbers_are_imported_by_row(tmp_path):
    from oks.pipeline.assess import assess_eligibility
    from oks.pipeline.contribute import compute_contributions
    from oks.pipeline.file_channel import write_insurer_files
    from oks.store import open_store
    from tests.payroll_files import CONTRACT, contract, person
    from tests.pipeline.months import run_month

    store = f"sqlite:///{tmp_path / 'store.sqlite'}"
    engine = open_store(store)
    rows = [person(1), person(2)]
    run_id = run_month(engine, tmp_path, rows, [contract(insurer="VAKIF")])
    assess_eligibility(engine, run_id)
    compute_contributions(engine, run_id)
    write_insurer_files(engine, run_id, [CONTRACT], outbox=tmp_path / "outbox")
    answer = tmp_path / "vakif-answer.csv"
    answer.write_text(f"TC Kimlik No;Poliçe No\n{rows[0]['tckn']};VK-1\n{rows[1]['tckn']};\n12345678901;VK-3\n", encoding="utf-8")

    result = oks("import-policies", str(answer), "--contract", CONTRACT, "--by", "ops", "--store", store)

    assert result.returncode == 1, result.stderr
    assert "row 2: not imported: policy_no: empty" in result.stdout  # data rows counted from 1, as in the quarantine
    assert "row 3: not imported: TCKN 123******01: check digits do not match" in result.stdout
    assert f"{CONTRACT}: 1 policy number(s) recorded by ops, 0 already on file, 2 refused" in result.stdout
    assert rows[0]["tckn"] not in result.stdout and "12345678901" not in result.stdout
