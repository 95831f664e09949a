"""The hostile-payroll corpus (tests/data/hostile_cells.toml, and the file-level kinds below): every
row gets its stated outcome, the same on SQLite and PostgreSQL, and nothing personal reaches a
message, a summary or an error — whatever the defect."""

from __future__ import annotations

import json
import tomllib
import zipfile
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

from oks.payroll.sources import CsvSource, PayrollStructureError, open_contract_master, open_source
from oks.pipeline.assess import assess_eligibility
from oks.pipeline.contribute import compute_contributions
from oks.pipeline.extract import extract_payroll, register_personnel
from oks.pipeline.validate import validate_personnel
from oks.store.schema import contributions, payroll_lines, quarantine, runs
from tests.payroll_files import contract, person, write_contracts_csv, write_csv, write_xlsx

CASES = tomllib.loads((Path(__file__).parent / "data" / "hostile_cells.toml").read_text(encoding="utf-8"))["case"]
OTHER = {"employer_vkn": "9876543217", "employer_name": "Başka Lojistik Ltd. Şti.", "contract_no": "FB-2026-002"}
CONTRACTS = [contract(), contract(contract_no="FB-2026-002", employer_vkn=OTHER["employer_vkn"], insurer="FIBA")]
CONTROL = 2  # rows 1 and 2: a clean person of each employer


def corpus_rows() -> list[dict]:
    """Two clean rows (one per employer), then one row per case, person 10 onwards."""
    rows = [person(1), person(2, **OTHER)]
    for n, case in enumerate(CASES, start=10):
        row = person(n, **case.get("also", {}))
        row[case["field"]] = case["cell"]
        rows.append(row)
    return rows


def _run_corpus(store, tmp_path) -> dict:
    rows = corpus_rows()
    payroll = write_csv(tmp_path / "bordro.csv", rows)
    master = write_contracts_csv(tmp_path / "sozlesmeler.csv", CONTRACTS)
    summary = extract_payroll(store, run_key="corpus", period="2026-10", source=CsvSource(payroll), contracts_source=open_contract_master(master))
    run_id = summary["run_id"]
    validated = validate_personnel(store, run_id, data_docs_dir=tmp_path / "docs", invalid_share_threshold=1.0)
    register_personnel(store, run_id)
    assess_eligibility(store, run_id)
    computed = compute_contributions(store, run_id)
    with store.connect() as conn:
        lines = {r.row_no: r for r in conn.execute(sa.select(payroll_lines).where(payroll_lines.c.run_id == run_id))}
        decided = {r.row_no: r for r in conn.execute(
            sa.select(payroll_lines.c.row_no, contributions.c.outcome, contributions.c.reason, contributions.c.amount)
            .join(contributions, contributions.c.payroll_line_id == payroll_lines.c.id).where(payroll_lines.c.run_id == run_id)
        )}  # fmt: skip
        refused = {}
        for q in conn.execute(sa.select(quarantine).where(quarantine.c.run_id == run_id)):
            refused.setdefault(q.row_no, []).append(q)
        run_summary = conn.execute(sa.select(runs.c.summary).where(runs.c.id == run_id)).scalar_one()
    return {"rows": rows, "lines": lines, "decided": decided, "refused": refused, "summary": run_summary,
            "validated": validated, "computed": computed, "extracted": summary, "docs": tmp_path / "docs"}  # fmt: skip


def test_the_corpus_is_large_and_every_kind_is_distinct():
    kinds = [c["kind"] for c in CASES]
    assert len(kinds) == len(set(kinds)) and len(kinds) + len(FILE_KINDS) >= 100
    assert {c["expect"] for c in CASES} == {"contributed", "not_eligible", "outside_period", "quarantined"}


def test_every_hostile_row_gets_its_stated_outcome_on_either_store(store, tmp_path):
    got = _run_corpus(store, tmp_path)
    wrong = []
    for n, case in enumerate(CASES, start=CONTROL + 1):
        outcome = _outcome(got, n)
        if outcome != _expected(case):
            wrong.append((case["kind"], _expected(case), outcome))
            continue
        if case["expect"] == "contributed" and "value" in case:
            read = getattr(got["lines"][n], case["field"])
            if not _same(read, case["value"]):
                wrong.append((case["kind"], f"read as {case['value']}", str(read)))
        if "amount" in case and got["decided"][n].amount != Decimal(case["amount"]):
            wrong.append((case["kind"], f"contribution {case['amount']}", str(got["decided"][n].amount)))
    assert wrong == [], "\n".join(map(str, wrong))
    # Every row read ended in exactly one place: a line with one decision, a quarantine, or another month.
    extracted = got["extracted"]
    staged, malformed = len(got["lines"]), extracted["malformed_rows"]
    assert extracted["rows_read"] == staged + malformed + extracted["outside_period"] == len(got["rows"])
    validated = {n for n, qs in got["refused"].items() if all(q.stage == "validate" for q in qs)}
    assert set(got["decided"]).isdisjoint(validated) and set(got["decided"]) | validated == set(got["lines"])
    assert _outcome(got, 1) == _outcome(got, 2) == ("contributed",)


def _same(read: object, stated: str) -> bool:
    if isinstance(read, Decimal):
        return read == Decimal(stated)
    return str(read) == stated


def _expected(case: dict) -> tuple:
    if case["expect"] == "quarantined":
        return ("quarantined", case["stage"], case["field"], tuple(sorted(case.get("rules") or [case["rule"]])))
    if case["expect"] == "not_eligible":
        return ("not_eligible", case["reason"])
    return (case["expect"],)


def _outcome(got: dict, row_no: int) -> tuple:
    refused = got["refused"].get(row_no)
    if refused:
        stages = {q.stage for q in refused}
        fields = {q.field for q in refused}
        return ("quarantined", "/".join(sorted(stages)), "/".join(sorted(fields)), tuple(sorted(q.rule for q in refused)))
    decided = got["decided"].get(row_no)
    if decided is None:
        return ("outside_period",) if row_no not in got["lines"] else ("undecided",)
    if decided.outcome == "not_eligible":
        return ("not_eligible", decided.reason)
    return (decided.outcome,)


@pytest.mark.postgres
def test_sqlite_and_postgresql_decide_every_row_alike(sqlite_url, postgres_schema_url, tmp_path):
    from oks.store import open_store

    decided = {}
    for name, url in (("sqlite", sqlite_url), ("postgresql", postgres_schema_url)):
        engine = open_store(url)
        (tmp_path / name).mkdir()
        try:
            got = _run_corpus(engine, tmp_path / name)
            decided[name] = {n: (_outcome(got, n), str(getattr(got["decided"].get(n), "amount", None))) for n in range(1, len(got["rows"]) + 1)}
        finally:
            engine.dispose()
    assert decided["sqlite"] == decided["postgresql"]


def _personal_values(rows) -> set[str]:
    values = set()
    for row in rows:
        for field in ("tckn", "iban", "mobile", "email", "first_name", "last_name"):
            value = row.get(field)
            if isinstance(value, str) and len(value) >= 5 and value.strip():
                values.add(value)
    return values


def test_no_personal_value_in_any_message_summary_or_data_docs(store, tmp_path):
    got = _run_corpus(store, tmp_path)
    personal = _personal_values(got["rows"])
    texts = [q.message for qs in got["refused"].values() for q in qs]
    texts += [json.dumps(got["summary"], ensure_ascii=False, default=str), json.dumps(got["validated"], ensure_ascii=False, default=str),
              json.dumps(got["computed"], ensure_ascii=False, default=str)]  # fmt: skip
    texts += [p.read_text(encoding="utf-8", errors="replace") for p in got["docs"].rglob("*") if p.is_file()]
    leaks = sorted({value for value in personal for text in texts if value in text})
    assert leaks == []


# --- file-level kinds: each a typed error naming the file and where, never a traceback ------------


def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines(keepends=True)


def _csv(tmp_path, rows=None) -> Path:
    return write_csv(tmp_path / "bordro.csv", rows or [person(n) for n in range(1, 6)], encoding="utf-8")


def _edit(path: Path, line: int, old: str, new: str) -> Path:
    lines = _lines(path)
    lines[line] = lines[line].replace(old, new, 1)
    path.write_text("".join(lines), encoding="utf-8")
    return path


def _bytes(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _xlsx_without_sheet_data(tmp_path) -> Path:
    path = write_xlsx(tmp_path / "bordro.xlsx", [person(1)])
    with zipfile.ZipFile(path) as z:
        members = {name: z.read(name) for name in z.namelist() if not name.startswith("xl/worksheets/")}
    with zipfile.ZipFile(path, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    return path


FILE_KINDS = {
    "empty_file": (lambda t: _bytes(t / "bordro.csv", b""), r"empty file \(no header row\)"),
    "blank_lines_only": (lambda t: _bytes(t / "bordro.csv", b"\r\n\r\n  \r\n"), r"empty file \(no header row\)"),
    "header_only": (lambda t: write_csv(t / "bordro.csv", []), r"no payroll rows at all for period 2026-10"),
    "required_column_missing": (lambda t: write_csv(t / "bordro.csv", [person(1)], drop=("tckn",)), r"missing required column\(s\): tckn"),
    "duplicate_header": (lambda t: _edit(_edit(_csv(t), 0, "Adı", "Adı;TC Kimlik No"), 1, ";Ayşe;", ";Ayşe;10000000146;"),
                         r"columns \d+ and \d+ both mean tckn"),
    "unbalanced_quote": (lambda t: _edit(_csv(t), 2, ";Ayşe;", ';"Ayşe;'), r"line 3: .*(unbalanced quote|not valid CSV)"),
    "stray_quote_in_a_cell": (lambda t: _edit(_csv(t), 2, ";Ayşe;", ';"Ay"şe;'), r"line 3: not valid CSV"),
    "mixed_encodings": (lambda t: _bytes(t / "bordro.csv", _csv(t).read_bytes() + "Çağlar".encode("cp1254") + b"\r\n"),
                        r"line 7 is not UTF-8 while .* mixes encodings"),
    "undefined_cp1254_byte": (lambda t: _bytes(t / "bordro.csv", write_csv(t / "x.csv", [person(1, first_name="Şule")], encoding="cp1254")
                                               .read_bytes().replace(b"\xdeule", b"\x81ule")), r"line 2 is not readable as cp1254"),
    "cell_over_the_csv_field_limit": (lambda t: _edit(_csv(t), 1, ";Ayşe;", ";" + "A" * 200_000 + ";"), r"field larger than field limit"),
    "binary_file": (lambda t: _bytes(t / "bordro.csv", b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4), r"(not UTF-8|not readable|empty file|not valid CSV|missing required column)"),
    "not_a_workbook": (lambda t: _bytes(t / "bordro.xlsx", b"PK\x03\x04 not really"), r"not a readable Excel workbook"),
    "workbook_without_sheet_data": (_xlsx_without_sheet_data, r"(not a readable Excel workbook|the workbook is damaged|has no sheet)"),
    "every_row_of_another_month": (lambda t: write_csv(t / "bordro.csv", [person(n, period="2026-09") for n in range(1, 4)]),
                                   r"3 rows read, none for period 2026-10: 3 rows are of another period \(3 for 2026-09\)"),
    "every_row_unreadable": (lambda t: write_csv(t / "bordro.csv", [person(1, pek="x"), person(2, birth_date="y")]),
                             r"2 rows read, none for period 2026-10: 2 rows could not be read"),
    "unknown_file_type": (lambda t: _bytes(t / "bordro.pdf", b"%PDF-1.4"), r"unknown payroll file type '.pdf'"),
}


@pytest.mark.parametrize("kind", sorted(FILE_KINDS))
def test_a_broken_file_is_refused_with_a_typed_error_naming_where(store, tmp_path, kind):
    build, message = FILE_KINDS[kind]
    path = build(tmp_path)
    master = write_contracts_csv(tmp_path / "sozlesmeler.csv", [contract()])
    with pytest.raises(PayrollStructureError, match=message) as caught:
        extract_payroll(store, run_key=f"file-{kind}", period="2026-10", source=open_source(path), contracts_source=open_contract_master(master))
    assert path.name in str(caught.value) or "rows read" in str(caught.value)
    for value in _personal_values([person(n) for n in range(1, 6)]):
        assert value not in str(caught.value)
