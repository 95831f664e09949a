"""Fixtures for the validation step: a migrated store, and payroll staged through the real extraction."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from oks.payroll.sources import CsvSource, open_contract_master
from oks.pipeline.extract import extract_payroll
from oks.store.schema import quarantine
from tests.payroll_files import contract, write_contracts_csv, write_csv


@pytest.fixture
def stage(store, tmp_path):
    """Write ``rows`` as a Turkish payroll CSV, extract it with a contract master; return the run id."""
    counter = iter(range(1, 1000))

    def _stage(rows, *, period="2026-10", contracts=None, drop=()) -> int:
        n = next(counter)
        payroll = write_csv(tmp_path / f"bordro-{n}.csv", rows, drop=drop)
        master = write_contracts_csv(tmp_path / f"sozlesmeler-{n}.csv", contracts or [contract()])
        summary = extract_payroll(
            store, run_key=f"run-{n}", period=period, source=CsvSource(payroll), contracts_source=open_contract_master(master)
        )
        return summary["run_id"]

    return _stage


def quarantined(engine, run_id, stage=None):
    """{row_no: {(field, rule), …}} of the run's quarantine, and the records themselves."""
    query = sa.select(quarantine).where(quarantine.c.run_id == run_id).order_by(quarantine.c.row_no, quarantine.c.field)
    if stage:
        query = query.where(quarantine.c.stage == stage)
    with engine.connect() as conn:
        records = conn.execute(query).all()
    by_row: dict[int, set] = {}
    for record in records:
        by_row.setdefault(record.row_no, set()).add((record.field, record.rule))
    return by_row, records
