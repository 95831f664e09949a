"""Documentation that must follow the code: the payroll source contract, and docs that stand alone
(docs/architecture.md and docs/rules.md, every cited section present)."""

from __future__ import annotations

from pathlib import Path

from oks.payroll.columns import CONTRACT_COLUMNS, DEDUCTION_COLUMNS, PAYROLL_COLUMNS
from oks.pipeline.extract import KEY_FIELDS

ROOT = Path(__file__).resolve().parent.parent


def test_payroll_source_doc_lists_every_column_with_its_header():
    doc = (ROOT / "docs" / "payroll-source.md").read_text(encoding="utf-8")
    for column in (*PAYROLL_COLUMNS, *CONTRACT_COLUMNS, *DEDUCTION_COLUMNS):
        assert f"| `{column.name}` | {column.turkish} | {column.kind} |" in doc, column.name
    for key in KEY_FIELDS:
        assert f"| `{key}` |" in doc and "| key |" in doc


def test_readme_links_the_contract():
    assert "docs/payroll-source.md" in (ROOT / "README.md").read_text(encoding="utf-8")


def _tracked_text_files():
    import subprocess

    names = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    for name in names:
        path = ROOT / name
        if path.suffix in {".py", ".md", ".yaml", ".yml", ".toml", ".txt", ""} and path.is_file():
            yield name, path.read_text(encoding="utf-8", errors="replace")


def test_the_docs_stand_alone_no_file_cites_a_document_outside_the_repository():
    outside = [name for name, text in _tracked_text_files()
               if name != "tests/test_docs.py" and ("DESIGN.md" in text or "DOMAIN.md" in text)]  # fmt: skip
    assert outside == []


def test_every_cited_section_of_the_architecture_and_the_rules_exists():
    import re

    headings = {
        doc: set(re.findall(r"^## (\d+)\. ", (ROOT / "docs" / doc).read_text(encoding="utf-8"), flags=re.M))
        for doc in ("architecture.md", "rules.md")
    }
    cited = [(name, doc, section) for name, text in _tracked_text_files()
             for doc, section in re.findall(r"docs/(architecture\.md|rules\.md) §(\d+)", text)]  # fmt: skip
    assert len(cited) > 20
    assert [c for c in cited if c[2] not in headings[c[1]]] == []
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "docs/architecture.md" in readme and "docs/rules.md" in readme


def test_the_channels_doc_lists_every_field_of_the_submission_record():
    from oks.channels.record import FIELD_KINDS, FIELDS

    doc = (ROOT / "docs" / "channels.md").read_text(encoding="utf-8")
    for field in FIELDS:
        assert f"| `{field}` | {FIELD_KINDS[field]} |" in doc, field
