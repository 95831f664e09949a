"""Fixtures for the validation step: a migrated store, and payroll staged through the real extraction."""

from __future__ import annotations

import pytest

from oks.payroll.sources import CsvSource, open_contract_master
from oks.pipeline.extract import extract_payroll
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
