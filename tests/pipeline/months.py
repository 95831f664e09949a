"""A month of payroll through the first pipeline steps, for tests of the later ones (and of the
orchestration, store and DAG code that reads what those steps leave behind).

A plain module, not a test module: test modules are never imported by other modules.
"""

from __future__ import annotations

from oks.payroll.sources import CsvSource, open_contract_master
from oks.pipeline.assess import assess_eligibility
from oks.pipeline.contribute import compute_contributions
from oks.pipeline.extract import extract_payroll, register_personnel
from tests.payroll_files import contract, write_contracts_csv, write_csv


def run_month(store, tmp_path, rows, contract_rows, run_key="r", period="2026-10"):
    """Payroll ``rows`` and a contract master written as files, extracted, employees registered; the run id."""
    payroll = write_csv(tmp_path / f"{run_key}.csv", rows)
    master = write_contracts_csv(tmp_path / f"{run_key}-contracts.csv", contract_rows)
    summary = extract_payroll(
        store, run_key=run_key, period=period, source=CsvSource(payroll), contracts_source=open_contract_master(master)
    )
    register_personnel(store, summary["run_id"])
    return summary["run_id"]


def month(store, tmp_path, rows, run_key="r"):
    """:func:`run_month` with the default contract, then assessed and contributed; the run id."""
    run_id = run_month(store, tmp_path, rows, [contract()], run_key=run_key)
    assess_eligibility(store, run_id)
    compute_contributions(store, run_id)
    return run_id
