"""The run report: counts that add up, payments to make, and nothing personal unmasked."""

from __future__ import annotations

import csv
from decimal import Decimal

from oks.pipeline.obligations import record_payment_obligations
from oks.pipeline.report import publish_report
from tests.payroll_files import person
from tests.pipeline.months import month


def test_report_counts_amounts_and_masks(store, tmp_path):
    rows = [
        person(1, pek=Decimal("40000")),
        person(2, pek=Decimal("50000")),
        person(3, citizenship="FOREIGN"),
        person(4, pek="bozuk"),  # malformed at extraction
    ]
    run_id = month(store, tmp_path, rows)
    record_payment_obligations(store, run_id)
    summary = publish_report(store, run_id, out_dir=tmp_path / "report", data_docs="/tmp/docs/index.html")

    assert (summary["contributed"], summary["not_eligible"], summary["malformed"]) == (2, 1, 1)
    assert Decimal(summary["amount"]) == Decimal("2700")
    with open(summary["summary_csv"], encoding="utf-8") as fh:
        (line,) = list(csv.DictReader(fh))
    assert (line["contract_no"], line["insurer"], line["contributed"], line["amount"]) == ("AG-2026-001", "AGESA", "2", "2700.00")

    page = (tmp_path / "report" / "report.html").read_text(encoding="utf-8")
    assert "<svg" in page and "2026-11-02" in page and "OKS AG-2026-001 2026-10 DUZENLI" in page
    assert "/tmp/docs/index.html" in page
    for r in rows:
        for field in ("tckn", "iban", "mobile"):
            assert str(r[field]) not in page
    quarantine = (tmp_path / "report" / "quarantine.csv").read_text(encoding="utf-8")
    assert "row 4, pek:" in quarantine and person(4)["tckn"] not in quarantine


def test_report_csvs_never_carry_a_live_formula(store, tmp_path):
    from oks.pipeline.assess import assess_eligibility
    from oks.pipeline.contribute import compute_contributions
    from tests.payroll_files import contract
    from tests.pipeline.months import run_month

    hostile = ["=HYPERLINK(\"http://x\",\"y\")", "+cmd|' /C calc'!A0", "-2+3", "@SUM(1)"]
    rows = [person(1)] + [person(n + 2, payroll_id=text[:40], pek="bozuk") for n, text in enumerate(hostile)]
    run_id = run_month(store, tmp_path, rows, [contract()])
    assess_eligibility(store, run_id)
    compute_contributions(store, run_id)
    summary = publish_report(store, run_id, out_dir=tmp_path / "report")
    for name in ("summary_csv", "quarantine_csv"):
        with open(summary[name], encoding="utf-8") as fh:
            for row in csv.reader(fh):
                assert not any(cell.startswith(("=", "+", "-", "@")) for cell in row), row
    with open(summary["quarantine_csv"], encoding="utf-8") as fh:
        ids = {row["payroll_id"] for row in csv.DictReader(fh)}
    assert ids == {"'" + text[:40] for text in hostile}
