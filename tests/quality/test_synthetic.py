"""End to end on generated payroll (``oks demo-data``): extraction plus validation quarantine exactly the
rows its defect manifest lists, each with the manifest's field and the expected rule, and nothing else.

Skipped until the synthetic generator (``oks.payroll.synthetic``) is in the package.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from datetime import date

import pytest
import sqlalchemy as sa

from oks.payroll.sources import CsvSource, open_contract_master
from oks.pipeline.extract import extract_payroll
from oks.pipeline.validate import validate_personnel
from oks.rules.parameters import parameters_for
from oks.store.schema import payroll_lines
from tests.quality.quarantined import quarantined

synthetic = pytest.importorskip("oks.payroll.synthetic", reason="the synthetic payroll generator is not in the package yet")

PERIOD = "2026-10"
PEK_LIMITS = "expect_pek_within_sgk_limits"

# defect kind → what the quarantine must say about its row: (stage, rule) — the field is the manifest's.
EXPECTED = {
    "tckn_checksum": ("validate", "expect_column_values_to_be_valid_tckn"),
    "iban_invalid": ("validate", "expect_column_values_to_be_valid_tr_iban"),
    "mobile_landline": ("validate", "expect_column_values_to_be_tr_mobile"),
    "birth_date_missing": ("validate", "expect_column_values_to_not_be_null"),
    "duplicate_person": ("validate", "expect_person_unique_per_contract_period_and_kind"),
    "contract_unknown": ("validate", "expect_column_values_to_be_known_contracts"),
    "date_unparseable": ("extract", "date"),
    "amount_unparseable": ("extract", "amount"),
    "key_missing": ("extract", "missing"),
    "pek_out_of_bounds": None,  # a warning: flagged, the row continues
    "identity_mismatch": None,  # valid data: only the insurer can tell
}


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo-data")
    manifest = synthetic.generate(out, employers=6, employees=3000, period=PERIOD, seed=20261, defect_share=0.05, fmt="csv")
    with open(manifest.defects, encoding="utf-8", newline="") as fh:
        defects = list(csv.DictReader(fh))
    return manifest, defects


def test_quarantine_equals_the_defect_manifest_row_by_row(store, generated, tmp_path):
    manifest, defects = generated
    assert set(EXPECTED) >= {d["defect"] for d in defects}
    extracted = extract_payroll(
        store, run_key="demo", period=PERIOD, source=CsvSource(manifest.payroll), contracts_source=open_contract_master(manifest.contracts)
    )
    run_id = extracted["run_id"]
    summary = validate_personnel(store, run_id, data_docs_dir=tmp_path / "docs", invalid_share_threshold=0.2)

    expected: dict[int, set] = defaultdict(set)
    warned: set[int] = set()
    for defect in defects:
        outcome = EXPECTED[defect["defect"]]
        if defect["defect"] == "pek_out_of_bounds":
            warned.add(int(defect["row_no"]))
        if outcome is not None:
            stage, rule = outcome
            expected[int(defect["row_no"])].add((stage, defect["field"], rule))

    _, records = quarantined(store, run_id)
    got: dict[int, set] = defaultdict(set)
    for record in records:
        got[record.row_no].add((record.stage, record.field, record.rule))
    for row_no in range(1, manifest.rows + 1):
        assert got.get(row_no, set()) == expected.get(row_no, set()), f"row {row_no}"

    # Warnings: the flagged rows are the planted ones (an independent check from the yearly
    # parameters), every one of them stays in the run, and the summary counts them.
    parameters = parameters_for(date(2026, 10, 1))
    with store.connect() as conn:
        lines = conn.execute(
            sa.select(payroll_lines.c.row_no, payroll_lines.c.pek, payroll_lines.c.sgk_days, payroll_lines.c.payment_kind).where(
                payroll_lines.c.run_id == run_id
            )
        ).all()
    outside = set()
    for line in lines:
        if 0 <= line.sgk_days <= 30 and line.pek >= 0:
            floor, ceiling = parameters.pek_bounds(line.sgk_days)
            if line.pek > ceiling or (line.payment_kind == "regular" and line.pek < floor):
                outside.add(line.row_no)
    assert outside == warned
    assert summary["warnings"] == {"pek": {PEK_LIMITS: len(warned)}}
    assert warned.isdisjoint(got)

    assert summary["quarantined_lines"] == len([r for r, faults in expected.items() if any(s == "validate" for s, _, _ in faults)])
    assert summary["extract_quarantined_rows"] == len([r for r, faults in expected.items() if any(s == "extract" for s, _, _ in faults)])
