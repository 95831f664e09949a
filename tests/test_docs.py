"""Documentation that must follow the code: the payroll source contract."""

from __future__ import annotations

from pathlib import Path

from oks.payroll.columns import CONTRACT_COLUMNS, PAYROLL_COLUMNS
from oks.pipeline.extract import KEY_FIELDS

ROOT = Path(__file__).resolve().parent.parent


def test_payroll_source_doc_lists_every_column_with_its_header():
    doc = (ROOT / "docs" / "payroll-source.md").read_text(encoding="utf-8")
    for column in (*PAYROLL_COLUMNS, *CONTRACT_COLUMNS):
        assert f"| `{column.name}` | {column.turkish} | {column.kind} |" in doc, column.name
    for key in KEY_FIELDS:
        assert f"| `{key}` |" in doc and "| key |" in doc


def test_readme_links_the_contract():
    assert "docs/payroll-source.md" in (ROOT / "README.md").read_text(encoding="utf-8")
