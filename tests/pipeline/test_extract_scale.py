"""100,000 generated employees from SQLite and from CSV into PostgreSQL: every row accounted for.

Counted, not sampled: the staged lines and the malformed rows partition the source's row numbers
exactly, and the malformed rows are exactly the extraction-level defects the generator planted.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
import sqlalchemy as sa

from oks.payroll.columns import CONTRACT_COLUMNS
from oks.payroll.sources import SqlSource, open_contract_master, open_source, sql_params
from oks.payroll.synthetic import generate
from oks.pipeline.extract import extract_payroll
from oks.store import open_store

pytestmark = pytest.mark.postgres

EMPLOYEES = 100_000
SQL = Path(__file__).resolve().parents[2] / "include" / "sql"
EXTRACTION_DEFECTS = {"date_unparseable", "amount_unparseable", "key_missing"}


@pytest.fixture
def pg_store(postgres_schema_url):
    engine = open_store(postgres_schema_url)
    yield engine
    engine.dispose()


def counted(engine, run_id):
    with engine.connect() as conn:
        return conn.execute(
            sa.text(
                """
                SELECT
                  (SELECT COUNT(*) FROM payroll_lines WHERE run_id = :r) AS lines,
                  (SELECT COUNT(DISTINCT row_no) FROM quarantine WHERE run_id = :r AND stage = 'extract') AS malformed,
                  (SELECT COUNT(*) FROM payroll_lines p JOIN quarantine q ON q.run_id = p.run_id AND q.row_no = p.row_no
                    WHERE p.run_id = :r) AS both_places,
                  (SELECT MIN(row_no) FROM (SELECT row_no FROM payroll_lines WHERE run_id = :r
                                            UNION SELECT row_no FROM quarantine WHERE run_id = :r) u) AS first_row,
                  (SELECT MAX(row_no) FROM (SELECT row_no FROM payroll_lines WHERE run_id = :r
                                            UNION SELECT row_no FROM quarantine WHERE run_id = :r) u) AS last_row
                """
            ),
            {"r": run_id},
        ).one()


def planted(manifest) -> dict[int, str]:
    with open(manifest.defects, encoding="utf-8") as fh:
        return {int(d["row_no"]): d["field"] for d in csv.DictReader(fh) if d["defect"] in EXTRACTION_DEFECTS}


def quarantined_fields(engine, run_id) -> dict[int, set[str]]:
    found: dict[int, set[str]] = {}
    with engine.connect() as conn:
        for row_no, field in conn.execute(
            sa.text("SELECT row_no, field FROM quarantine WHERE run_id = :r AND stage = 'extract'"), {"r": run_id}
        ):
            found.setdefault(row_no, set()).add(field)
    return found


def test_100k_from_csv_into_postgres(pg_store, tmp_path):
    manifest = generate(tmp_path, employers=40, employees=EMPLOYEES, period="2026-10", seed=11, fmt="csv", encoding="cp1254")
    summary = extract_payroll(
        pg_store, run_key="csv-100k", period="2026-10",
        source=open_source(manifest.payroll), contracts_source=open_contract_master(manifest.contracts),
    )  # fmt: skip
    got = counted(pg_store, summary["run_id"])
    assert summary["rows_read"] == manifest.rows > EMPLOYEES
    assert got.lines + got.malformed == manifest.rows
    assert (got.both_places, got.first_row, got.last_row) == (0, 1, manifest.rows)
    expected = planted(manifest)
    assert len(expected) == sum(manifest.defect_counts[k] for k in EXTRACTION_DEFECTS) > 0
    found = quarantined_fields(pg_store, summary["run_id"])
    assert set(found) == set(expected)
    assert all(expected[row] in fields for row, fields in found.items())
    assert summary["contracts"] == manifest.contract_count


def test_100k_from_sqlite_into_postgres(pg_store, tmp_path):
    manifest = generate(tmp_path, employers=40, employees=EMPLOYEES, period="2026-10", seed=12, fmt="sqlite")
    payroll_db = f"sqlite:///{manifest.payroll}"
    params = sql_params("2026-10", None)
    summary = extract_payroll(
        pg_store, run_key="sqlite-100k", period="2026-10",
        source=SqlSource(payroll_db, (SQL / "payroll_extract.sql").read_text(encoding="utf-8"), params),
        contracts_source=SqlSource(
            payroll_db, (SQL / "contracts_extract.sql").read_text(encoding="utf-8"), {}, spec=CONTRACT_COLUMNS
        ),
    )  # fmt: skip
    got = counted(pg_store, summary["run_id"])
    assert summary["rows_read"] == manifest.rows > EMPLOYEES
    # typed source: nothing is malformed, every row is staged
    assert (got.lines, got.malformed, got.both_places, got.last_row) == (manifest.rows, 0, 0, manifest.rows)
    assert summary["contracts"] == manifest.contract_count
