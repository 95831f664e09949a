"""The validation step on hand-made payrolls: each planted defect is quarantined with its field and
expectation, no clean row is, warnings do not stop a row, and only structure or a large invalid share
stops the run. Every test runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pytest
import sqlalchemy as sa

from oks.payroll.sources import PayrollStructureError
from oks.pipeline.validate import InvalidShareExceeded, SnapshotStructureError, validate_personnel
from oks.quality.batch import view_name
from oks.quality.gx_runtime import DOCS_MARKER
from oks.store.schema import runs
from oks.store.snapshot import start_run
from tests.payroll_files import contract, person
from tests.quality.quarantined import quarantined

TCKN = "expect_column_values_to_be_valid_tckn"
NOT_NULL = "expect_column_values_to_not_be_null"
IN_SET = "expect_column_values_to_be_in_set"
BETWEEN = "expect_column_values_to_be_between"
IBAN = "expect_column_values_to_be_valid_tr_iban"
MOBILE = "expect_column_values_to_be_tr_mobile"
EMAIL = "expect_column_values_to_match_regex"
FUTURE = "expect_column_values_to_not_be_in_the_future"
PLAUSIBLE = "expect_column_values_to_be_plausible_birth_dates"
EXIT = "expect_column_pair_values_a_to_be_greater_than_b"
CONTRACT = "expect_column_values_to_be_known_contracts"
UNIQUE = "expect_person_unique_per_contract_period_and_kind"
WAGE_DAY = "expect_wage_paid_within_period"
PEK_LIMITS = "expect_pek_within_sgk_limits"
LEFT_BEFORE = "expect_column_values_to_not_be_before_the_period"
OF_EMPLOYER = "expect_contract_of_the_rows_employer"
EMPLOYER_NAME = "expect_employer_name_as_in_master_data"
ONE_PERSON = "expect_one_person_per_tckn"


def _bad_tckn(n: int) -> str:
    good = person(n)["tckn"]
    return good[:-1] + str((int(good[-1]) + 3) % 10)


def _bad_iban(n: int) -> str:
    good = person(n)["iban"]
    return good[:2] + f"{(int(good[2:4]) + 1) % 97 + 2:02d}" + good[4:]


# (row as written, quarantine records expected for it). Period 2026-10: PEK floor 1,101.00 and
# ceiling 9,909.00 a day; regular wages may be paid 2026-10-01 … 2026-11-15.
CASES = [
    (person(1), set()),
    (person(2, tckn=_bad_tckn(2)), {("tckn", TCKN)}),
    (person(3, tckn="0" + person(3)["tckn"][1:]), {("tckn", TCKN)}),
    (person(4, first_name=None), {("first_name", NOT_NULL)}),
    (person(5, last_name=None), {("last_name", NOT_NULL)}),
    (person(6, birth_date=None), {("birth_date", NOT_NULL)}),
    (person(7, birth_date=date(2027, 1, 1)), {("birth_date", FUTURE)}),
    (person(8, birth_date=date(1901, 5, 5)), {("birth_date", PLAUSIBLE)}),
    (person(9, birth_date=date(2016, 5, 5)), {("birth_date", PLAUSIBLE)}),
    (person(10, citizenship="XX"), {("citizenship", IN_SET)}),
    (person(11, citizenship=None), {("citizenship", NOT_NULL)}),
    (person(12, citizenship="BLUE_CARD"), set()),
    (person(13, sgk_status="4d"), {("sgk_status", IN_SET)}),
    (person(14, sgk_status=None), {("sgk_status", NOT_NULL)}),
    (person(15, hire_date=None), {("hire_date", NOT_NULL)}),
    (person(16, exit_date=date(2019, 12, 31)), {("exit_date", EXIT), ("exit_date", LEFT_BEFORE)}),
    (person(17, exit_date=date(2026, 10, 15)), set()),
    (person(18, iban=_bad_iban(18)), {("iban", IBAN)}),
    (person(19, iban=person(19)["iban"][:9] + "1" + person(19)["iban"][10:]), {("iban", IBAN)}),
    (person(20, iban="DE89370400440532013000"), {("iban", IBAN)}),
    (person(21, iban=None), {("iban", NOT_NULL)}),  # the insurer pays refunds and exits to it
    (person(22, mobile="0212 555 12 34"), {("mobile", MOBILE)}),
    (person(23, mobile="+44 7911 123456"), {("mobile", MOBILE)}),
    (person(24, mobile=None), {("mobile", NOT_NULL)}),
    (person(25, mobile="0532 000 00 25"), set()),
    (person(26, email="ayse.caglar@"), {("email", EMAIL)}),
    (person(27, email="ayse.caglar@example.com"), set()),
    (person(28, contract_no="XX-0000-000"), {("contract_no", CONTRACT)}),
    (person(29), set()),
    (person(29, payroll_id="P90029"), {("tckn", UNIQUE)}),  # the same person's second regular line
    (person(29, payment_kind="supplementary", pek=Decimal("12000.00")), set()),  # a bonus beside it
    (person(30, pek=Decimal("-1.00")), {("pek", BETWEEN)}),
    (person(31, sgk_days=31), {("sgk_days", BETWEEN)}),
    (person(32, wage_paid_on=date(2026, 11, 16)), {("wage_paid_on", WAGE_DAY)}),
    (person(33, wage_paid_on=date(2026, 11, 15)), set()),
    (person(34, payment_kind="supplementary", pek=Decimal("5000.00"), wage_paid_on=date(2027, 1, 8)), set()),
    (person(35, payment_kind="supplementary", pek=Decimal("5000.00"), wage_paid_on=date(2026, 9, 30)), {("wage_paid_on", WAGE_DAY)}),
    (person(36, payment_kind="prim"), {("payment_kind", IN_SET)}),
    (person(37, borne_by="patron"), {("borne_by", IN_SET)}),
    (person(38, borne_by="employer"), set()),
    (person(70, fund_preference="Faizsz"), {("fund_preference", IN_SET)}),  # a typo: never a guessed fund
    (person(71, fund_preference="Katılım"), set()),
    (person(39, tckn=_bad_tckn(39), iban=_bad_iban(39)), {("tckn", TCKN), ("iban", IBAN)}),
    # Warnings: flagged, never quarantined.
    (person(40, pek=Decimal("1000.00")), set()),  # below the floor for 30 days
    (person(41, payment_kind="supplementary", pek=Decimal("400000.00")), set()),  # above the month's ceiling
    (person(42, pek=Decimal("33030.00")), set()),  # exactly the floor
    (person(43, pek=Decimal("297270.00")), set()),  # exactly the ceiling
    (person(44, pek=Decimal("16515.00"), sgk_days=15), set()),  # exactly the floor for 15 days
    # Amounts and rates that cannot be right: refused per row, with field and reason.
    (person(45, pek=Decimal("594541.00")), {("pek", BETWEEN)}),  # over twice the ceiling: a misread amount
    (person(46, pek=Decimal("594540.00")), set()),  # exactly twice the ceiling: only a warning
    (person(47, rate_override=Decimal("0.02")), {("rate_override", BETWEEN)}),  # below the statutory 3%
    (person(48, rate_override=Decimal("0.03")), set()),
    (person(49, rate_override="%100"), set()),
    (person(50, amount_override=Decimal("-5.00")), {("amount_override", BETWEEN)}),
    (person(51, amount_override=Decimal("0.00")), {("amount_override", BETWEEN)}),
    (person(52, pek=Decimal("40000.00"), amount_override=Decimal("40000.00")), {("amount_override", EXIT)}),
    (person(53, pek=Decimal("40000.00"), amount_override=Decimal("39999.99")), set()),
]
WARNED_ROWS = {42, 43, 46, 47}  # 1-based rows of persons 40, 41, 45 and 46


def test_every_defect_is_quarantined_with_its_field_and_rule_and_no_clean_row_is(store, stage, tmp_path):
    run_id = stage([row for row, _ in CASES])
    summary = validate_personnel(store, run_id, data_docs_dir=tmp_path / "docs", invalid_share_threshold=1.0)

    by_row, records = quarantined(store, run_id)
    expected = {row_no: faults for row_no, (_, faults) in enumerate(CASES, start=1) if faults}
    assert by_row == expected
    for record in records:
        assert record.stage == "validate"
        assert record.payroll_id == CASES[record.row_no - 1][0]["payroll_id"]
        assert record.message.startswith(f"row {record.row_no}, ")

    # counts only, and they agree with the quarantine
    failed = {}
    for faults in expected.values():
        for field, rule in faults:
            failed.setdefault(field, {}).setdefault(rule, 0)
            failed[field][rule] += 1
    assert summary["failed"] == failed
    assert summary["warnings"] == {"pek": {PEK_LIMITS: len(WARNED_ROWS)}}
    assert summary["lines"] == len(CASES)
    assert summary["quarantined_lines"] == len(expected)
    assert summary["valid_lines"] == len(CASES) - len(expected)
    assert summary["invalid_share"] == pytest.approx(len(expected) / len(CASES), abs=1e-6)
    assert summary["pek_limits"] | {"source": "?"} == {
        "checked": True, "period": "2026-10", "valid_from": "2026-01-01", "file": "2026.toml", "source": "?",
        "floor_daily": "1101.00", "ceiling_daily": "9909.00", "outside": len(WARNED_ROWS),
    }  # fmt: skip
    with store.connect() as conn:
        assert conn.execute(sa.select(runs.c.state).where(runs.c.id == run_id)).scalar_one() == "running"
        assert view_name(run_id) not in sa.inspect(conn).get_view_names()


def test_messages_name_the_reason_with_masked_values(store, stage, tmp_path):
    run_id = stage([person(1, tckn=_bad_tckn(1)), person(2, iban=_bad_iban(2)), person(3, mobile="0212 555 12 34"), person(4)])
    validate_personnel(store, run_id, data_docs_dir=tmp_path / "docs", invalid_share_threshold=1.0)
    _, records = quarantined(store, run_id)
    bad_tckn = _bad_tckn(1)
    assert [r.message for r in records] == [
        f"row 1, TCKN {bad_tckn[:3]}******{bad_tckn[-2:]}: checksum",
        "row 2, IBAN TR" + _bad_iban(2)[2:4] + "*" * 20 + "02: checksum",
        "row 3, mobile 02*******34: not_mobile",
    ]


def test_warnings_leave_the_row_in_the_run(store, stage, tmp_path):
    run_id = stage([person(1, pek=Decimal("100.00")), person(2)])
    summary = validate_personnel(store, run_id, data_docs_dir=tmp_path / "docs")
    assert summary["warnings"] == {"pek": {PEK_LIMITS: 1}}
    assert (summary["quarantined_lines"], summary["valid_lines"], summary["failed"]) == (0, 2, {})


def test_a_year_without_sgk_parameters_skips_the_pek_limits_only(store, stage, tmp_path):
    rows = [
        person(1, period="2031-03", wage_paid_on=date(2031, 3, 31), pek=Decimal("1.00")),
        person(2, period="2031-03", wage_paid_on=date(2031, 3, 31), sgk_days=40),
    ]
    run_id = stage(rows, period="2031-03")
    summary = validate_personnel(store, run_id, data_docs_dir=tmp_path / "docs", invalid_share_threshold=1.0)
    limits = summary["pek_limits"]
    assert (limits["checked"], limits["period"], limits["missing_file"]) == (False, "2031-03", "plugins/oks/rules/data/parameters/2031.toml")
    assert "not on file yet" in limits["reason"] and "re-run the period" in limits["reason"]
    assert summary["warnings"] == {}
    assert summary["failed"] == {"sgk_days": {BETWEEN: 1}}
    # The result stays with the run: the report, the run summary and `oks parameters` read it there.
    with store.connect() as conn:
        recorded = conn.execute(sa.select(runs.c.summary).where(runs.c.id == run_id)).scalar_one()
    assert recorded["validate"]["pek_limits"] == limits


# --- the run stops only for structure or a large invalid share ---------------------------------------


def test_a_csv_without_the_mobile_column_fails_naming_it(store, stage, tmp_path):
    run_id = stage([person(1), person(2)], drop=("mobile",))
    with pytest.raises(SnapshotStructureError, match=r"missing or empty in every row: mobile \(Cep Telefonu\)") as caught:
        validate_personnel(store, run_id, data_docs_dir=tmp_path / "docs")
    assert caught.value.summary["error"] == "structure"
    assert quarantined(store, run_id, stage="validate")[0] == {}  # not 2 rows × "mobile missing"
    with store.connect() as conn:
        assert conn.execute(sa.select(runs.c.state).where(runs.c.id == run_id)).scalar_one() == "failed"
    assert (tmp_path / "docs" / "index.html").is_file()  # operations can see what was found


def test_a_column_empty_in_every_row_fails_naming_it(store, stage, tmp_path):
    run_id = stage([person(1, birth_date=None), person(2, birth_date=None)])
    with pytest.raises(SnapshotStructureError, match=r"birth_date \(Doğum Tarihi\)"):
        validate_personnel(store, run_id, data_docs_dir=tmp_path / "docs")


def test_a_payroll_none_of_whose_contracts_is_known_fails_as_a_whole(store, stage, tmp_path):
    run_id = stage([person(1), person(2)], contracts=[contract(contract_no="AG-1999-999")])
    with pytest.raises(SnapshotStructureError, match="no contract number of the payroll is in the contract master"):
        validate_personnel(store, run_id, data_docs_dir=tmp_path / "docs")


def test_a_csv_without_a_required_column_fails_naming_it_before_validation(store, stage):
    # The extraction refuses it first: the pipeline as a whole names the column either way.
    with pytest.raises(PayrollStructureError, match=r"missing required column\(s\): birth_date \(Doğum Tarihi\)"):
        stage([person(1)], drop=("birth_date",))


def test_a_payroll_of_unreadable_rows_stops_at_extraction_naming_them(store, stage, tmp_path):
    with pytest.raises(PayrollStructureError, match=r"2 rows read, none for period 2026-10: 2 rows could not be read"):
        stage([person(1, wage_paid_on="31.02.2026"), person(2, pek="12.34.56,7")])
    with store.connect() as conn:
        state, summary = conn.execute(sa.select(runs.c.state, runs.c.summary)).one()
    assert state == "failed" and summary["extract"]["malformed_rows"] == 2


def test_an_empty_snapshot_fails_clearly(store, tmp_path):
    with store.begin() as conn:
        run_id = start_run(conn, run_key="empty", period="2026-10")
    with pytest.raises(SnapshotStructureError, match=r"empty extract, no payroll lines to validate"):
        validate_personnel(store, run_id, data_docs_dir=tmp_path / "docs")
    with store.connect() as conn:
        state, summary = conn.execute(sa.select(runs.c.state, runs.c.summary).where(runs.c.id == run_id)).one()
    assert state == "failed" and summary["error"] == "empty extract"


def test_the_run_stops_above_the_invalid_share_threshold(store, stage, tmp_path):
    rows = [person(n) for n in range(1, 9)] + [person(9, tckn=_bad_tckn(9)), person(10, wage_paid_on="31.02.2026")]
    run_id = stage(rows)
    # 2 of 10 rows invalid: one at validation, one at extraction.
    summary = validate_personnel(store, run_id, data_docs_dir=tmp_path / "a", invalid_share_threshold=0.2)
    assert (summary["invalid_share"], summary["extract_quarantined_rows"], summary["quarantined_lines"]) == (0.2, 1, 1)

    with pytest.raises(InvalidShareExceeded, match=r"2 of 10 payroll rows invalid \(20\.0%\), above the 15% threshold") as caught:
        validate_personnel(store, run_id, data_docs_dir=tmp_path / "b", invalid_share_threshold=0.15)
    assert caught.value.summary["failed"] == {"tckn": {TCKN: 1}}
    assert quarantined(store, run_id, stage="validate")[0] == {9: {("tckn", TCKN)}}  # recorded all the same
    with store.connect() as conn:
        assert conn.execute(sa.select(runs.c.state).where(runs.c.id == run_id)).scalar_one() == "failed"


def test_a_rerun_replaces_the_quarantine_and_the_data_docs(store, stage, tmp_path):
    run_id = stage([person(1, tckn=_bad_tckn(1))] + [person(n) for n in range(2, 12)])
    docs = tmp_path / "docs"
    first = validate_personnel(store, run_id, data_docs_dir=docs)
    second = validate_personnel(store, run_id, data_docs_dir=docs)
    assert first["failed"] == second["failed"] == {"tckn": {TCKN: 1}}
    assert len(quarantined(store, run_id)[1]) == 1
    assert (docs / DOCS_MARKER).is_file() and second["data_docs"] == str(docs / "index.html")
    assert len(list((docs / "validations").rglob("*.html"))) == 2  # this run's two suites, not four

    foreign = tmp_path / "not-ours"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep me")
    with pytest.raises(FileExistsError):
        validate_personnel(store, run_id, data_docs_dir=foreign)
    assert (foreign / "notes.txt").read_text() == "keep me"


def test_the_default_data_docs_folder_is_per_run_under_oks_home(store, stage, tmp_path, monkeypatch):
    monkeypatch.setenv("OKS_HOME", str(tmp_path / "home"))
    run_id = stage([person(1), person(2)])
    summary = validate_personnel(store, run_id)
    assert summary["data_docs"] == str(tmp_path / "home" / "data_docs" / f"run-{run_id}" / "index.html")
    assert (tmp_path / "home" / "data_docs" / f"run-{run_id}" / "index.html").is_file()


def test_the_summary_is_small_and_json(store, stage, tmp_path):
    run_id = stage([person(1, tckn=_bad_tckn(1)), person(2)])
    summary = validate_personnel(store, run_id, data_docs_dir=tmp_path / "docs", invalid_share_threshold=1.0)
    text = json.dumps(summary)
    assert len(text) < 2_000
    assert _bad_tckn(1) not in text and person(2)["tckn"] not in text


def test_a_check_that_cannot_run_stops_the_step_rather_than_passing(store, stage, tmp_path, monkeypatch):
    import dataclasses

    import oks.pipeline.validate as step
    from oks.quality.checks import CHECKS

    broken = dataclasses.replace(next(c for c in CHECKS if c.name == "first_name_present"), name="broken", field="no_such_column")
    monkeypatch.setattr(step, "checks_for", lambda facts: (*CHECKS, broken))
    run_id = stage([person(1), person(2)])
    with pytest.raises(RuntimeError, match="checks could not run: broken"):
        validate_personnel(store, run_id, data_docs_dir=tmp_path / "docs")
    assert quarantined(store, run_id)[0] == {}


@pytest.mark.postgres
def test_a_store_reached_through_a_unix_socket(postgres_schema_url, tmp_path):
    from sqlalchemy.engine import make_url

    from oks.payroll.sources import CsvSource, open_contract_master
    from oks.pipeline.extract import extract_payroll
    from oks.store import open_store
    from tests.payroll_files import write_contracts_csv, write_csv

    url = make_url(postgres_schema_url)
    socket_url = url.set(host=None, port=None).update_query_dict({"host": "/var/run/postgresql"})
    try:
        engine = open_store(socket_url.render_as_string(hide_password=False))
    except sa.exc.OperationalError:
        pytest.skip("no PostgreSQL Unix socket at /var/run/postgresql")
    try:
        payroll = write_csv(tmp_path / "bordro.csv", [person(1), person(2, tckn=_bad_tckn(2))])
        master = write_contracts_csv(tmp_path / "sozlesmeler.csv", [contract()])
        run_id = extract_payroll(engine, run_key="s", period="2026-10", source=CsvSource(payroll), contracts_source=open_contract_master(master))["run_id"]
        summary = validate_personnel(engine, run_id, data_docs_dir=tmp_path / "docs", invalid_share_threshold=1.0)
        assert summary["failed"] == {"tckn": {TCKN: 1}}
    finally:
        engine.dispose()


def test_data_docs_show_payroll_text_as_text_never_as_markup(store, stage, tmp_path):
    run_id = stage([person(1), person(2, contract_no="<script>alert(1)</script>"), person(3, citizenship="<b>bold</b>")])
    validate_personnel(store, run_id, data_docs_dir=tmp_path / "docs", invalid_share_threshold=1.0)
    pages = [p.read_text(encoding="utf-8", errors="replace") for p in (tmp_path / "docs").rglob("*.html")]
    assert pages and not any("<script>alert(1)" in page or "<b>bold" in page for page in pages)
    assert any("&lt;script&gt;alert(1)" in page for page in pages) and any("&lt;b&gt;bold" in page for page in pages)


OTHER_VKN = "9876543217"  # a valid VKN (check digit 7)


def test_master_data_is_never_trusted_blindly(store, stage, tmp_path):
    from oks.pipeline.extract import register_personnel

    contracts = [contract(), contract(contract_no="FB-2026-002", employer_vkn=OTHER_VKN, insurer="FIBA")]
    other = {"employer_vkn": OTHER_VKN, "employer_name": "Başka Lojistik Ltd. Şti.", "contract_no": "FB-2026-002"}
    # September: both employers known; person 5 works at the other employer.
    september = {"period": "2026-09", "wage_paid_on": date(2026, 9, 30)}
    first = stage([person(1, **september), person(5, **other, **september)], period="2026-09", contracts=contracts)
    validate_personnel(store, first, data_docs_dir=tmp_path / "d1", invalid_share_threshold=1.0)
    register_personnel(store, first)
    rows = [
        person(1),
        person(2, hire_date=date(2026, 11, 1)),  # hired after October: contributes nothing for it
        person(3, exit_date=date(2026, 9, 30)),  # left before October, yet a regular wage
        person(4, exit_date=date(2026, 9, 30), payment_kind="supplementary", pek=Decimal("5000.00")),  # arrears: fine
        person(6, contract_no="FB-2026-002"),  # the other employer's contract
        person(7, employer_name="Örnek Tekstil Sanayi A.Ş."),  # one row renaming the employer
        person(5, first_name="Mehmet"),  # person 5's TCKN, another name, at this employer: flagged
    ]
    run_id = stage(rows, contracts=contracts)
    summary = validate_personnel(store, run_id, data_docs_dir=tmp_path / "d2", invalid_share_threshold=1.0)
    by_row, records = quarantined(store, run_id)
    assert by_row == {
        2: {("hire_date", FUTURE)},
        3: {("exit_date", LEFT_BEFORE)},
        5: {("contract_no", OF_EMPLOYER)},
        6: {("employer_name", EMPLOYER_NAME)},
    }
    assert summary["warnings"] == {"tckn": {ONE_PERSON: 1}}
    messages = {r.row_no: r.message for r in records}
    assert "a contract of another employer" in messages[5] and "rename with `oks employer rename`" in messages[6]
    with store.connect() as conn:
        names = dict(conn.execute(sa.text("SELECT vkn, name FROM employers")).all())
    assert names[person(1)["employer_vkn"]] == "Örnek Tekstil A.Ş."  # one row did not rename it


def test_data_docs_render_without_internet_every_asset_a_local_copy(store, stage, tmp_path):
    import os
    import re

    run_id = stage([person(1, tckn=_bad_tckn(1)), person(2)])
    validate_personnel(store, run_id, data_docs_dir=tmp_path / "docs", invalid_share_threshold=1.0)
    pages = sorted((tmp_path / "docs").rglob("*.html"))
    assert len(pages) >= 3  # the index, the suites, the validation results
    for page in pages:
        text = page.read_text(encoding="utf-8")
        external = re.findall(r'(?:src="|<link[^>]*href=")(https?://[^"]+)"', text)
        assert external == [], (page.name, external)  # nothing loaded from a CDN
        for asset in re.findall(r'(?:src="|<link[^>]*href=")([^"#?]+\.(?:css|js|png))"', text):
            assert (page.parent / asset).is_file(), (page.name, asset)  # and every copy is there
        assert os.path.relpath(tmp_path / "docs" / "static", page.parent).replace(os.sep, "/") + "/oks-assets/bootstrap/bootstrap.min.css" in text
    fonts = tmp_path / "docs" / "static" / "oks-assets" / "fontawesome" / "webfonts"
    assert sorted(p.suffix for p in fonts.iterdir()) and all(p.suffix == ".woff2" for p in fonts.iterdir())
