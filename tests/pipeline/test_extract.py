"""Extraction into the run's snapshot: nothing lost, re-runs replace, master data upserted with history."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
import sqlalchemy as sa

from oks.payroll.sources import CsvSource, PayrollStructureError, SqlSource, open_contract_master, open_source, sql_params
from oks.pipeline.extract import extract_payroll, register_personnel
from oks.store.schema import contracts, employee_history, employees, employers, payroll_lines, quarantine, runs
from tests.payroll_files import CONTRACT, VKN, contract, person, write_contracts_csv, write_csv, write_xlsx


def snapshot(engine, run_id):
    with engine.connect() as conn:
        lines = {r.row_no: r for r in conn.execute(sa.select(payroll_lines).where(payroll_lines.c.run_id == run_id))}
        bad = conn.execute(sa.select(quarantine).where(quarantine.c.run_id == run_id).order_by(quarantine.c.row_no)).all()
    return lines, bad


# Rows 1–4 clean; 5 unparseable date; 6 unparseable amount; 7 empty key column; 8 two problems at once.
MIXED = [
    person(1),
    person(2, pek=Decimal("33030.99")),
    person(3, payment_kind="supplementary", pek=Decimal("12000.00")),
    person(4, exit_date=None, email="ayse@example.com"),
    person(5, wage_paid_on="31.02.2026"),
    person(6, pek="12.34.56,7"),
    person(7, tckn=""),
    person(8, birth_date="yok", sgk_days="otuz"),
]
EXPECTED_BAD = {(5, "wage_paid_on", "date"), (6, "pek", "amount"), (7, "tckn", "missing"), (8, "birth_date", "date"), (8, "sgk_days", "number")}


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-8", "cp1254"])
def test_csv_every_row_is_staged_or_recorded_with_its_reason(store, tmp_path, encoding):
    path = write_csv(tmp_path / "bordro.csv", MIXED, encoding=encoding)
    summary = extract_payroll(store, run_key="r1", period="2026-10", source=CsvSource(path))
    lines, bad = snapshot(store, summary["run_id"])

    assert sorted(lines) == [1, 2, 3, 4]
    assert {(q.row_no, q.field, q.rule) for q in bad} == EXPECTED_BAD
    assert set(lines).isdisjoint(q.row_no for q in bad)
    assert set(lines) | {q.row_no for q in bad} == set(range(1, len(MIXED) + 1))
    assert (summary["rows_read"], summary["lines"], summary["malformed_rows"]) == (8, 4, 4)
    # typed exactly, Turkish names intact whatever the file's encoding
    assert lines[2].pek == Decimal("33030.99") and lines[3].payment_kind == "supplementary"
    assert lines[1].last_name == "Çağlar" and lines[4].email == "ayse@example.com"
    # the quarantine names row and field, and never echoes a value
    assert all(q.stage == "extract" and q.message.startswith(f"row {q.row_no}, {q.field}:") for q in bad)
    assert not any(person(7)["payroll_id"] in q.message or "31.02.2026" in q.message for q in bad)


def test_xlsx_source_gives_the_same_snapshot(store, tmp_path):
    path = write_xlsx(tmp_path / "bordro.xlsx", MIXED)
    summary = extract_payroll(store, run_key="x1", period="2026-10", source=open_source(path))
    lines, bad = snapshot(store, summary["run_id"])
    assert sorted(lines) == [1, 2, 3, 4]
    assert {(q.row_no, q.field, q.rule) for q in bad} == EXPECTED_BAD
    assert lines[2].pek == Decimal("33030.99")  # a float cell read back exactly


def test_sql_source_with_employer_filter(store, tmp_path):
    payroll_db = f"sqlite:///{tmp_path / 'payroll.sqlite'}"
    rows = [person(1), person(2), person(3, employer_vkn="9999999999"), person(4, period="2026-09")]
    engine = sa.create_engine(payroll_db)
    with engine.begin() as conn:
        cols = list(rows[0])
        conn.exec_driver_sql(f"CREATE TABLE payroll ({', '.join(cols)})")
        conn.execute(
            sa.text(f"INSERT INTO payroll VALUES ({', '.join(':' + c for c in cols)})"),
            [{k: (str(v) if v is not None and not isinstance(v, (int, bool)) else v) for k, v in r.items()} for r in rows],
        )
    engine.dispose()
    query = (
        "SELECT * FROM payroll WHERE period = :period "
        "AND (:all_employers = 1 OR employer_vkn IN :employers) ORDER BY payroll_id"
    )
    source = SqlSource(payroll_db, query, sql_params("2026-10", [VKN]))
    summary = extract_payroll(store, run_key="s1", period="2026-10", source=source, employers=[VKN])
    lines, bad = snapshot(store, summary["run_id"])
    assert (summary["lines"], len(bad)) == (2, 0)
    assert {line.payroll_id for line in lines.values()} == {"P00001", "P00002"}


def test_rerun_replaces_the_snapshot(store, tmp_path):
    path = write_csv(tmp_path / "bordro.csv", MIXED)
    first = extract_payroll(store, run_key="same", period="2026-10", source=CsvSource(path))
    path = write_csv(tmp_path / "bordro.csv", MIXED[:3])  # payroll fixed and re-exported
    second = extract_payroll(store, run_key="same", period="2026-10", source=CsvSource(path))
    assert first["run_id"] == second["run_id"]
    lines, bad = snapshot(store, second["run_id"])
    assert (sorted(lines), bad) == ([1, 2, 3], [])
    with store.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(runs)).scalar_one() == 1


def test_rows_outside_the_period_are_counted_not_staged(store, tmp_path):
    path = write_csv(tmp_path / "bordro.csv", [person(1), person(2, period="2026-09")])
    summary = extract_payroll(store, run_key="p", period="2026-10", source=CsvSource(path))
    assert (summary["lines"], summary["outside_period"]) == (1, 1)


def test_payroll_of_another_month_says_which_months_it_holds(store, tmp_path):
    rows = [person(i, period="2026-11") for i in range(1, 6)] + [person(6, period="2026-10"), person(7, period="2026-11", pek="1.2.3")]
    path = write_csv(tmp_path / "bordro.csv", rows)
    with pytest.raises(PayrollStructureError) as caught:
        extract_payroll(store, run_key="x", period="2026-12", source=CsvSource(path))
    message = str(caught.value)
    assert "7 rows read, none for period 2026-12" in message
    assert "6 rows are of another period (5 for 2026-11, 1 for 2026-10)" in message
    assert "1 rows could not be read" in message and "empty extract" not in message
    with store.connect() as conn:
        state, summary = conn.execute(sa.select(runs.c.state, runs.c.summary)).one()
    assert state == "failed" and summary["extract"]["other_periods"] == {"2026-11": 5, "2026-10": 1}
    assert summary["message"] == message


@pytest.mark.parametrize(
    ("drop", "named"),
    [(("tckn",), "tckn (TC Kimlik No)"), (("pek", "wage_paid_on"), "pek (PEK), wage_paid_on (Ücret Ödeme Tarihi)")],
)
def test_a_missing_column_fails_naming_it(store, tmp_path, drop, named):
    path = write_csv(tmp_path / "bordro.csv", [person(1)], drop=drop)
    with pytest.raises(PayrollStructureError, match=re.escape(f"missing required column(s): {named}")):
        extract_payroll(store, run_key="m", period="2026-10", source=CsvSource(path))


def test_an_empty_extract_fails_clearly(store, tmp_path):
    path = write_csv(tmp_path / "bordro.csv", [])
    with pytest.raises(PayrollStructureError, match="no payroll rows at all for period 2026-10"):
        extract_payroll(store, run_key="e", period="2026-10", source=CsvSource(path))
    with store.connect() as conn:
        assert conn.execute(sa.select(runs.c.state)).scalar_one() == "failed"


def test_master_data_is_upserted_and_history_kept(store, tmp_path):
    contracts_csv = write_contracts_csv(tmp_path / "sozlesmeler.csv", [contract()])
    october = write_csv(tmp_path / "ekim.csv", [person(1), person(2)])
    first = extract_payroll(
        store, run_key="oct", period="2026-10", source=CsvSource(october), contracts_source=open_contract_master(contracts_csv)
    )
    assert register_personnel(store, first["run_id"]) == {"employees_upserted": 2, "employees_changed": 0}

    new_iban = person(99)["iban"]
    november = write_csv(
        tmp_path / "kasim.csv", [person(1, period="2026-11", iban=new_iban), person(2, period="2026-11"), person(3, period="2026-11")]
    )
    second = extract_payroll(
        store, run_key="nov", period="2026-11", source=CsvSource(november), contracts_source=open_contract_master(contracts_csv)
    )
    assert register_personnel(store, second["run_id"]) == {"employees_upserted": 3, "employees_changed": 1}
    # a re-run of November changes nothing further
    assert register_personnel(store, second["run_id"])["employees_changed"] == 0

    with store.connect() as conn:
        assert conn.execute(sa.select(employers.c.vkn, employers.c.headcount)).all() == [(VKN, 120)]
        assert conn.execute(sa.select(contracts.c.contract_no, contracts.c.insurer)).all() == [(CONTRACT, "AGESA")]
        current = conn.execute(sa.select(employees.c.iban).where(employees.c.payroll_id == "P00001")).scalar_one()
        old = conn.execute(sa.select(employee_history.c.iban, employee_history.c.run_id)).all()
    assert current == new_iban
    assert old == [(person(1)["iban"], second["run_id"])]


def test_a_broken_contract_master_stops_with_row_and_field(store, tmp_path):
    contracts_csv = write_contracts_csv(tmp_path / "sozlesmeler.csv", [contract(), contract(contract_no="X", starts_on="01/13/2019")])
    payroll = write_csv(tmp_path / "bordro.csv", [person(1)])
    with pytest.raises(PayrollStructureError, match=r"row 2, starts_on: not a date"):
        extract_payroll(store, run_key="c", period="2026-10", source=CsvSource(payroll), contracts_source=open_contract_master(contracts_csv))


@pytest.mark.parametrize(
    ("terms", "named"),
    [({"rate": Decimal("0.02")}, "row 1, rate: below the statutory 3%"),
     ({"fixed_amount": Decimal("-10.00")}, "row 1, fixed_amount: not a positive amount"),
     ({"rate": Decimal("0.05"), "fixed_amount": Decimal("500.00")}, "row 1, rate and fixed_amount: give one, not both")],
)  # fmt: skip
def test_contract_terms_that_would_short_every_employee_stop_the_run(store, tmp_path, terms, named):
    contracts_csv = write_contracts_csv(tmp_path / "sozlesmeler.csv", [contract(**terms)])
    payroll = write_csv(tmp_path / "bordro.csv", [person(1)])
    with pytest.raises(PayrollStructureError, match=re.escape(named)):
        extract_payroll(store, run_key="t", period="2026-10", source=CsvSource(payroll), contracts_source=open_contract_master(contracts_csv))


@pytest.mark.parametrize(("pek", "code"), [("33.000", "amount_ambiguous"), ("33,000", "amount_ambiguous"), ("3.3e4", "amount")])
def test_an_amount_that_could_be_misread_is_quarantined_not_read(store, tmp_path, pek, code):
    path = write_csv(tmp_path / "bordro.csv", [person(1), person(2, pek=pek)])
    summary = extract_payroll(store, run_key="a", period="2026-10", source=CsvSource(path))
    lines, bad = snapshot(store, summary["run_id"])
    assert sorted(lines) == [1]
    assert [(b.row_no, b.field, b.rule) for b in bad] == [(2, "pek", code)]
    assert bad[0].message.startswith("row 2, pek: ") and pek not in bad[0].message


# Text hygiene: what no name, number or code carries is refused per row, with its field, on both
# stores alike — and never left to PostgreSQL to refuse the whole load with the value in its message.
HOSTILE_TEXT = [
    ("first_name", "Ay\u200bşe", "invisible_character"),  # zero-width space
    ("last_name", "\u202eraglaÇ", "invisible_character"),  # right-to-left override
    ("last_name", "Çağ\u2066lar", "invisible_character"),  # bidi isolate
    ("first_name", "Ayşe\x00", "nul_character"),
    ("first_name", "Ay\x1bşe", "invisible_character"),  # ESC
    ("payroll_id", "P\ufeff1", "invisible_character"),  # a BOM inside a cell
    ("first_name", "A" * 101, "too_long"),
    ("sgk_status", "<img src=x onerror=alert(2)>", "too_long"),
    ("contract_no", "AG-" + "9" * 40, "too_long"),
    ("email", "a" * 250 + "@x.com", "too_long"),
]


def test_hostile_text_is_quarantined_with_its_field_on_either_store(store, tmp_path):
    rows = [person(1)] + [person(n + 2, **{field: value}) for n, (field, value, _) in enumerate(HOSTILE_TEXT)]
    path = write_csv(tmp_path / "bordro.csv", rows)
    summary = extract_payroll(store, run_key="h", period="2026-10", source=CsvSource(path))
    lines, bad = snapshot(store, summary["run_id"])
    assert sorted(lines) == [1]
    assert [(b.row_no, b.field, b.rule) for b in bad] == [(n + 2, f, code) for n, (f, _, code) in enumerate(HOSTILE_TEXT)]
    for record, (_, value, _) in zip(bad, HOSTILE_TEXT, strict=True):
        assert value not in record.message and "\x00" not in record.message


def test_turkish_letters_and_backslash_n_are_kept_exactly_on_either_store(store, tmp_path):
    rows = [person(1, first_name="Çiğdem Şükrü", last_name="İĞNEADA-ıöü"), person(2, first_name="\\N", last_name='O"Brien, ;x')]
    path = write_csv(tmp_path / "bordro.csv", rows)
    summary = extract_payroll(store, run_key="t", period="2026-10", source=CsvSource(path))
    lines, bad = snapshot(store, summary["run_id"])
    assert bad == []
    assert (lines[1].first_name, lines[1].last_name) == ("Çiğdem Şükrü", "İĞNEADA-ıöü")
    assert (lines[2].first_name, lines[2].last_name) == ("\\N", 'O"Brien, ;x')  # COPY's NULL marker stays text


@pytest.mark.postgres
def test_a_refused_bulk_load_names_the_table_and_row_never_the_value(postgres_schema_url):
    from oks.store import open_store
    from oks.store.bulk import BulkLoadError
    from oks.store.snapshot import insert_quarantine, start_run

    engine = open_store(postgres_schema_url)
    secret = "Çağlar 17291716060 +905321234567"
    try:
        with pytest.raises(BulkLoadError) as caught, engine.begin() as conn:
            run_id = start_run(conn, run_key="copy", period="2026-10")
            insert_quarantine(conn, [{"run_id": run_id, "row_no": n, "payroll_id": f"P{n}", "stage": "extract", "field": "x",
                                      "rule": "y", "message": secret * (40 if n == 7 else 1)} for n in (5, 7, 9)])  # fmt: skip
    finally:
        engine.dispose()
    message = str(caught.value)
    assert "into quarantine failed at payroll row 7, field message" in message
    assert "17291716060" not in message and "Çağlar" not in message and caught.value.__cause__ is None


def test_a_refused_bulk_load_is_a_bulk_load_error_on_either_store(store):
    from oks.store.bulk import BulkLoadError
    from oks.store.snapshot import insert_quarantine, start_run

    with pytest.raises(BulkLoadError) as caught, store.begin() as conn:
        run_id = start_run(conn, run_key="null", period="2026-10")
        insert_quarantine(conn, [{"run_id": run_id, "row_no": n, "payroll_id": f"P{n}", "stage": "extract", "field": "x",
                                  "rule": "y", "message": None if n == 7 else "Çağlar"} for n in (5, 7, 9)])  # fmt: skip
    message = str(caught.value)
    assert "into quarantine failed" in message and "Çağlar" not in message and caught.value.__cause__ is None
    if store.dialect.name == "postgresql":  # COPY says which line; SQLite's batch insert does not
        assert "at payroll row 7, field message" in message


def test_an_employer_vkn_with_a_wrong_check_digit_is_quarantined_not_a_new_employer(store, tmp_path):
    path = write_csv(tmp_path / "bordro.csv", [person(1), person(2, employer_vkn="1234567891")])
    summary = extract_payroll(store, run_key="v", period="2026-10", source=CsvSource(path))
    lines, bad = snapshot(store, summary["run_id"])
    assert sorted(lines) == [1] and [(b.row_no, b.field, b.rule) for b in bad] == [(2, "employer_vkn", "vkn_checksum")]
    with store.connect() as conn:
        assert conn.execute(sa.select(employers.c.vkn)).scalars().all() == [VKN]


@pytest.mark.parametrize(
    ("changes", "named"),
    [({"collection_iban": "TR330006100519786457841327"}, "row 1, collection_iban TR33********************27: checksum"),
     ({"collection_iban": "DE89370400440532013000"}, "row 1, collection_iban DE89****************00: country"),
     ({"employer_vkn": "1234567891"}, "row 1, employer_vkn: not a valid VKN")],
)  # fmt: skip
def test_the_insurers_account_and_the_employer_are_checked_before_anything_is_paid(store, tmp_path, changes, named):
    contracts_csv = write_contracts_csv(tmp_path / "sozlesmeler.csv", [contract(**changes)])
    payroll = write_csv(tmp_path / "bordro.csv", [person(1)])
    with pytest.raises(PayrollStructureError, match=re.escape(named)):
        extract_payroll(store, run_key="i", period="2026-10", source=CsvSource(payroll), contracts_source=open_contract_master(contracts_csv))


def test_an_employer_is_renamed_only_by_a_person(store, tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    path = write_csv(tmp_path / "bordro.csv", [person(1)])
    extract_payroll(store, run_key="n", period="2026-10", source=CsvSource(path))
    renamed = write_csv(tmp_path / "bordro2.csv", [person(1, employer_name="Yeni Unvan A.Ş.")])
    extract_payroll(store, run_key="n", period="2026-10", source=CsvSource(renamed))
    with store.connect() as conn:
        assert conn.execute(sa.select(employers.c.name)).scalar_one() == "Örnek Tekstil A.Ş."
    url = store.url.render_as_string(hide_password=False)
    result = subprocess.run([str(Path(sys.executable).parent / "oks"), "employer", "rename", VKN, "Yeni Unvan A.Ş.", "--by", "ops",
                             "--store", url], capture_output=True, text=True, timeout=60)  # fmt: skip
    assert result.returncode == 0, result.stderr
    with store.connect() as conn:
        assert conn.execute(sa.select(employers.c.name)).scalar_one() == "Yeni Unvan A.Ş."
