"""The synthetic payroll generator: every planted defect is where the manifest says, every other
row is clean, the register tells the truth, and the same seed gives the same bytes."""

from __future__ import annotations

import json
import sqlite3
import tempfile
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from oks.payroll.columns import CONTRACT_COLUMNS, PAYROLL_COLUMNS, REQUIRED
from oks.payroll.synthetic import EXTRACTION_DEFECTS, IDENTITY_MISMATCH, ROW_DEFECTS, SyntheticPayroll, generate
from oks.payroll.synthetic_identity import ascii_fold
from oks.rules.eligibility import ELIGIBLE_CITIZENSHIP, assess_employee
from oks.rules.identity import InvalidIdentifier, normalize_iban, normalize_mobile, normalize_tckn
from oks.rules.parameters import available_years, parameters_for

from .synthetic_reading import (
    DEMO,
    Unreadable,
    manifest_json,
    read_contracts,
    read_defects,
    read_payroll,
    read_register,
    sqlite_rows,
)

FORMATS = ("sqlite", "csv", "xlsx")
PERIOD_START = date(2026, 10, 1)
BOUNDS = parameters_for(PERIOD_START).pek_bounds
NORMALIZERS = {"tckn": normalize_tckn, "iban": normalize_iban, "mobile": normalize_mobile}
PUBLIC = {"central_government", "local_government"}


@dataclass
class Dataset:
    out: Path
    meta: dict
    rows: list[dict]
    contracts: dict[str, dict]
    register: dict[str, dict]
    defects: list[dict]

    @property
    def defect_by_row(self) -> dict[int, dict]:
        return {d["row_no"]: d for d in self.defects}


def load(manifest) -> Dataset:
    out = manifest.out_dir
    contracts = {c["contract_no"]: c for c in read_contracts(out)}
    return Dataset(out, manifest_json(out), read_payroll(out), contracts, read_register(out), read_defects(out))


_loaded: dict[Path, Dataset] = {}


@pytest.fixture(params=FORMATS)
def dataset(request, demo_data) -> Dataset:
    manifest = demo_data(request.param)
    if manifest.out_dir not in _loaded:
        _loaded[manifest.out_dir] = load(manifest)
    return _loaded[manifest.out_dir]


# --- what is wrong with a row, judged by the project's rules -------------------------------------


def _code(normalize, value) -> str | None:
    try:
        normalize(value)
    except InvalidIdentifier as exc:
        return exc.code
    return None


def row_problems(row: dict, contracts: dict[str, dict]) -> dict[str, str]:
    """Field → problem, for everything validation must catch in one row (duplicates aside)."""
    problems = {name: "unreadable" for name, value in row.items() if isinstance(value, Unreadable)}
    for name in REQUIRED:
        if row[name] is None:
            problems[name] = "missing"
    for name, normalize in NORMALIZERS.items():
        if row[name] is not None and name not in problems:
            code = _code(normalize, row[name])
            if code:
                problems[name] = code
    if isinstance(row["pek"], Decimal) and isinstance(row["sgk_days"], int):
        low, high = BOUNDS(row["sgk_days"])
        if not low <= row["pek"] <= high:
            problems["pek"] = "out of bounds"
    contract = contracts.get(row["contract_no"])
    if row["contract_no"] is not None and (contract is None or contract["employer_vkn"] != row["employer_vkn"]):
        problems["contract_no"] = "unknown"
    return problems


def duplicate_rows(rows: list[dict]) -> dict[int, int]:
    """Row number of each later regular row repeating a person on a contract → the first one's."""
    first_seen, repeats = {}, {}
    for row_no, row in enumerate(rows, start=1):
        key = (row["tckn"], row["contract_no"], row["period"])
        if row["payment_kind"] == "regular" and None not in key:
            if key in first_seen:
                repeats[row_no] = first_seen[key]
            else:
                first_seen[key] = row_no
    return repeats


def all_problems(data: Dataset) -> dict[int, dict[str, str]]:
    problems = {}
    for row_no, row in enumerate(data.rows, start=1):
        found = row_problems(row, data.contracts)
        if found:
            problems[row_no] = found
    for row_no in duplicate_rows(data.rows):
        problems.setdefault(row_no, {})["tckn"] = "duplicate"
    return problems


# --- the manifest --------------------------------------------------------------------------------


def test_manifest_counts_are_the_defects_file_and_the_share(dataset):
    meta, defects = dataset.meta, dataset.defects
    assert meta["rows"] == len(dataset.rows)
    kinds = ROW_DEFECTS + (EXTRACTION_DEFECTS if meta["format"] != "sqlite" else ())
    counted = Counter(d["defect"] for d in defects)
    assert meta["defects"] == {kind: counted[kind] for kind in (*kinds, IDENTITY_MISMATCH)}
    assert set(counted) <= {*kinds, IDENTITY_MISMATCH}
    assert all(counted[kind] >= 1 for kind in kinds), counted

    planted = sum(n for kind, n in counted.items() if kind != IDENTITY_MISMATCH)
    assert meta["defect_rows"] == planted
    assert abs(planted - DEMO["defect_share"] * meta["rows"]) <= 0.5  # the share, within rounding
    assert counted[IDENTITY_MISMATCH] == round(DEMO["identity_mismatch_share"] * DEMO["employees"])

    row_nos = [d["row_no"] for d in defects]
    assert row_nos == sorted(set(row_nos)), "one entry per row, in row order"
    assert 1 <= row_nos[0] and row_nos[-1] <= meta["rows"]


def test_every_planted_defect_is_in_its_row_and_field_and_nothing_else_is_wrong(dataset):
    problems = all_problems(dataset)
    for entry in dataset.defects:
        row = dataset.rows[entry["row_no"] - 1]
        found = problems.get(entry["row_no"], {})
        if entry["defect"] == IDENTITY_MISMATCH:
            assert found == {}, (entry, found)  # valid: only the insurer can tell
            continue
        assert set(found) == {entry["field"]}, (entry, found)  # exactly one defect, in the listed field
        CHECKS[entry["defect"]](row, entry, found[entry["field"]], dataset)
        if entry["field"] != "payroll_id":
            assert row["payroll_id"] == entry["payroll_id"]


def test_rows_outside_the_manifest_are_clean(dataset):
    listed = {d["row_no"] for d in dataset.defects if d["defect"] != IDENTITY_MISMATCH}
    dirty = {row_no: found for row_no, found in all_problems(dataset).items() if row_no not in listed}
    assert dirty == {}


def _check_tckn(row, entry, problem, data):
    assert problem == "checksum"


def _check_iban(row, entry, problem, data):
    assert problem == entry["detail"] and problem in {"checksum", "country", "reserved_digit"}


def _check_mobile(row, entry, problem, data):
    assert problem == "not_mobile" and row["mobile"].startswith(("0212", "0216", "0312", "0232", "0224", "0242"))


def _check_birth_date(row, entry, problem, data):
    assert problem == "missing" and row["birth_date"] is None


def _check_duplicate(row, entry, problem, data):
    first_no = int(entry["detail"].rsplit(" ", 1)[1])
    first = data.rows[first_no - 1]
    assert problem == "duplicate" and first_no < entry["row_no"]
    assert first == row and row["payment_kind"] == "regular"  # the same person exported twice
    assert first_no not in data.defect_by_row


def _check_pek(row, entry, problem, data):
    low, high = BOUNDS(row["sgk_days"])
    assert row["pek"] > high if entry["detail"] == "above the ceiling" else row["pek"] < low
    assert row["pek"] > 0


def _check_contract(row, entry, problem, data):
    assert problem == "unknown" and row["contract_no"] not in data.contracts
    assert row["contract_no"][:2] in {"AG", "AH", "FB"}  # well-formed, just not in the master


def _check_date(row, entry, problem, data):
    assert problem == "unreadable" and entry["field"] in {"birth_date", "hire_date", "wage_paid_on"}


def _check_amount(row, entry, problem, data):
    assert problem == "unreadable" and entry["field"] == "pek"


def _check_key(row, entry, problem, data):
    assert problem == "missing" and entry["field"] in {"tckn", "payroll_id", "contract_no"}


CHECKS = {
    "tckn_checksum": _check_tckn,
    "iban_invalid": _check_iban,
    "mobile_landline": _check_mobile,
    "birth_date_missing": _check_birth_date,
    "duplicate_person": _check_duplicate,
    "pek_out_of_bounds": _check_pek,
    "contract_unknown": _check_contract,
    "date_unparseable": _check_date,
    "amount_unparseable": _check_amount,
    "key_missing": _check_key,
}


def test_every_defect_kind_has_a_check():
    assert set(CHECKS) == set(ROW_DEFECTS + EXTRACTION_DEFECTS)


# --- the identity register -----------------------------------------------------------------------


def _folded(name: str) -> str:
    return ascii_fold(name).lower()


def test_the_register_holds_every_person_and_mismatches_differ_exactly_as_listed(dataset):
    register, by_row = dataset.register, dataset.defect_by_row
    assert len(register) == dataset.meta["employees"]
    seen = set()
    for row_no, row in enumerate(dataset.rows, start=1):
        entry = by_row.get(row_no)
        if row["tckn"] not in register:
            assert entry and entry["field"] == "tckn", row_no  # a TCKN broken on purpose
            continue
        seen.add(row["tckn"])
        person = register[row["tckn"]]
        differs = {f for f in ("first_name", "last_name", "birth_date") if row[f] != person[f]}
        if entry and entry["defect"] == IDENTITY_MISMATCH:
            assert differs == {entry["field"]}, entry
            if entry["field"] == "birth_date":
                assert row["birth_date"] - person["birth_date"] == timedelta(days=int(entry["detail"].split()[0]))
            else:
                # Still different after case and Turkish-letter folding: not a spelling variant.
                assert _folded(row[entry["field"]]) != _folded(person[entry["field"]])
        elif entry and entry["field"] == "birth_date":
            assert differs == {"birth_date"}  # emptied or unreadable on purpose
        else:
            assert differs == set(), (row_no, differs)
    # Only people whose one row had its TCKN broken are missing from the payroll's valid TCKNs.
    broken = sum(1 for d in dataset.defects if d["field"] == "tckn" and d["defect"] != "duplicate_person")
    assert len(register) - len(seen) <= broken


# --- determinism ---------------------------------------------------------------------------------


def _files(out: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(out.iterdir())}


@pytest.mark.parametrize("fmt", FORMATS)
def test_the_same_seed_gives_the_same_bytes_whatever_the_chunk_size(fmt, tmp_path):
    args = {**DEMO, "employees": 150, "fmt": fmt}
    first = generate(tmp_path / "a", **{**args, "chunk_size": 1})
    generate(tmp_path / "b", **{**args, "chunk_size": 10_000})
    generate(tmp_path / "c", **{**args, "seed": args["seed"] + 1})
    a, b, c = _files(tmp_path / "a"), _files(tmp_path / "b"), _files(tmp_path / "c")
    assert set(a) == {first.payroll.name, first.contracts.name, "identity_register.csv", "defects.csv", "manifest.json"}
    assert a == b
    assert a[first.payroll.name] != c[first.payroll.name]
    assert a["identity_register.csv"] != c["identity_register.csv"]


def test_the_defect_share_does_not_change_the_people(tmp_path):
    # Separate random streams: more defects, same people (a test may vary one without the other).
    a = generate(tmp_path / "a", **{**DEMO, "employees": 120, "defect_share": 0.0})
    b = generate(tmp_path / "b", **{**DEMO, "employees": 120, "defect_share": 0.2})
    assert a.identity_register.read_bytes() == b.identity_register.read_bytes()


def test_chunks_stay_within_the_chunk_size():
    payroll = SyntheticPayroll(employers=3, employees=200, period="2026-10", seed=5, defect_share=0.1)
    sizes = [len(chunk.rows) for chunk in payroll.chunks(25)]
    assert sum(sizes) == payroll.rows
    assert max(sizes) <= 25 + 2  # a person's rows (regular, its copy, bonus) stay together


# --- laws that hold for every seed ---------------------------------------------------------------


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(min_value=0, max_value=2**32),
    fmt=st.sampled_from(("sqlite", "csv")),
    employees=st.integers(min_value=1, max_value=90),
    defect_share=st.sampled_from((0.0, 0.05, 0.2, 0.5)),
    chunk_size=st.integers(min_value=1, max_value=40),
)
def test_for_any_seed_no_defect_is_unlisted_and_every_listed_one_is_there(seed, fmt, employees, defect_share, chunk_size):
    with tempfile.TemporaryDirectory() as tmp:
        manifest = generate(
            Path(tmp),
            employers=min(3, employees),
            employees=employees,
            period="2026-10",
            seed=seed,
            defect_share=defect_share,
            identity_mismatch_share=0.1,
            fmt=fmt,
            encoding="cp1254",
            chunk_size=chunk_size,
        )
        data = load(manifest)
        problems = all_problems(data)
        listed = {d["row_no"]: d for d in data.defects if d["defect"] != IDENTITY_MISMATCH}
        assert set(problems) == set(listed)
        assert all(set(problems[n]) == {d["field"]} for n, d in listed.items())
        assert abs(len(listed) - defect_share * manifest.rows) <= 0.5
        assert len(data.register) == employees


# --- the formats ---------------------------------------------------------------------------------


def test_sqlite_tables_have_exactly_the_canonical_columns_and_exact_types(demo_data):
    manifest = demo_data("sqlite")
    with sqlite3.connect(manifest.payroll) as conn:
        payroll = [r[1] for r in conn.execute("PRAGMA table_info(payroll)")]
        contracts = [r[1] for r in conn.execute("PRAGMA table_info(contracts)")]
        types = conn.execute(
            "SELECT DISTINCT typeof(pek), typeof(birth_date), typeof(voluntary), typeof(sgk_days), period FROM payroll "
            "WHERE birth_date IS NOT NULL"
        ).fetchall()
        pek_texts = [r[0] for r in conn.execute("SELECT pek FROM payroll")]
    assert payroll == [c.name for c in PAYROLL_COLUMNS]
    assert contracts == [c.name for c in CONTRACT_COLUMNS]
    assert types == [("text", "text", "integer", "integer", "2026-10")]
    assert all(len(text.rsplit(".", 1)[1]) == 2 for text in pek_texts)  # '33030.00': kuruş kept


def test_the_extract_query_filters_employers_and_keeps_the_manifest_order(demo_data):
    manifest = demo_data("sqlite")
    everything = sqlite_rows(manifest.payroll, "2026-10")
    vkns = sorted({row["employer_vkn"] for row in everything})
    chosen = [vkns[1], vkns[-1]]
    some = sqlite_rows(manifest.payroll, "2026-10", chosen)
    assert some == [row for row in everything if row["employer_vkn"] in chosen]
    assert sqlite_rows(manifest.payroll, "2026-11") == []
    for entry in read_defects(manifest.out_dir):  # row numbers refer to the query's order
        assert everything[entry["row_no"] - 1]["payroll_id"] == entry["payroll_id"]


@pytest.mark.parametrize(("encoding", "starts"), [("utf-8", "İşveren".encode()), ("utf-8-sig", b"\xef\xbb\xbf"), ("cp1254", "İşveren".encode("cp1254"))])
def test_csv_in_each_encoding_reads_back_with_turkish_formats(demo_data, encoding, starts):
    manifest = demo_data("csv", encoding=encoding, employees=120)
    raw = manifest.payroll.read_bytes()
    assert raw.startswith(starts)
    text = raw.decode(encoding)
    if encoding == "cp1254":
        with pytest.raises(UnicodeDecodeError):
            raw.decode("utf-8")
    header = text.lstrip("\ufeff").split("\r\n", 1)[0]
    assert header.split(";") == [c.turkish for c in PAYROLL_COLUMNS]
    rows = read_payroll(manifest.out_dir)  # the strict reader: 1.234,56 · 31.10.2026 · Evet/Hayır · %5
    reference = read_payroll(demo_data("csv", encoding="utf-8", employees=120).out_dir)
    assert rows == reference
    assert any(isinstance(r["pek"], Decimal) and r["pek"] >= 1000 for r in rows)
    assert {r["has_oks_certificate"] for r in rows} == {True, False}
    contracts_header = manifest.contracts.read_bytes().decode(encoding).lstrip("\ufeff").split("\r\n", 1)[0]
    assert contracts_header.split(";") == [c.turkish for c in CONTRACT_COLUMNS]


def test_xlsx_has_date_and_number_cells_and_the_same_rows_as_csv(demo_data):
    from openpyxl import load_workbook

    manifest = demo_data("xlsx")
    workbook = load_workbook(manifest.payroll, read_only=True)
    try:
        assert workbook.sheetnames == ["payroll", "contracts"]
        sheet = workbook["payroll"]
        header, first = [row for _, row in zip(range(2), sheet.iter_rows(), strict=False)]
        assert [c.value for c in header] == [c.turkish for c in PAYROLL_COLUMNS]
        cells = {column.name: cell for column, cell in zip(PAYROLL_COLUMNS, first, strict=False)}  # empty cells at the end left out
        assert isinstance(cells["hire_date"].value, datetime) and cells["hire_date"].number_format == "DD.MM.YYYY"
        assert isinstance(cells["pek"].value, (int, float)) and cells["pek"].number_format == "#,##0.00"
        assert isinstance(cells["tckn"].value, str) and isinstance(cells["payroll_id"].value, str)
    finally:
        workbook.close()
    csv_twin = demo_data("csv")
    assert read_payroll(manifest.out_dir) == read_payroll(csv_twin.out_dir)
    assert read_contracts(manifest.out_dir) == read_contracts(csv_twin.out_dir)


def test_the_projects_own_readers_read_clean_rows_and_refuse_the_planted_cells(demo_data):
    from oks.payroll.columns import BY_NAME
    from oks.payroll.parsing import CellError, parse_cell
    from oks.payroll.sources import open_source

    for fmt in ("csv", "xlsx"):
        manifest = demo_data(fmt)
        unreadable = {
            (d["row_no"], d["field"]) for d in read_defects(manifest.out_dir) if d["defect"] in {"date_unparseable", "amount_unparseable"}
        }
        refused = set()
        for row_no, raw in open_source(manifest.payroll).rows():
            for name, value in raw.items():
                try:
                    parse_cell(BY_NAME[name], value)
                except CellError:
                    refused.add((row_no, name))
        assert refused == unreadable, fmt


# --- realism -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def bureau(demo_data) -> Dataset:
    """A larger bureau (sqlite, few defects) for the shape of the population."""
    return load(demo_data("sqlite", employers=25, employees=4000, seed=3, defect_share=0.01, chunk_size=1000))


def _clean_rows(data: Dataset) -> list[dict]:
    return [row for n, row in enumerate(data.rows, start=1) if n not in data.defect_by_row]


def test_births_cluster_around_the_45_year_boundary_on_both_sides(bureau):
    boundary = date(1981, 1, 1)  # 45 completed on 2026-01-01, the reference day for 2026
    near = [row for row in _clean_rows(bureau) if abs((row["birth_date"] - boundary).days) <= 30]
    assert len(near) >= 0.08 * len(bureau.rows)
    outcomes = Counter(
        assess_employee(birth_date=r["birth_date"], citizenship="TR", sgk_status="4a", inclusion_date=PERIOD_START).reason
        for r in near
    )
    assert outcomes["eligible"] > 20 and outcomes["age"] > 20
    assert {boundary - timedelta(days=1), boundary, boundary + timedelta(days=1)} <= {r["birth_date"] for r in near}


def test_population_mix_statuses_and_citizenship(bureau):
    rows = _clean_rows(bureau)
    sectors = {r["employer_vkn"]: r["employer_sector"] for r in rows}
    citizenship = Counter(r["citizenship"] for r in rows)
    status = Counter(r["sgk_status"] for r in rows)
    assert citizenship["TR"] > 0.9 * len(rows) and citizenship["BLUE_CARD"] > 0 and citizenship["FOREIGN"] > 0
    assert status["4a"] > status["4c"] > 0 and status["4b"] > 0
    assert all(sectors[r["employer_vkn"]] in PUBLIC for r in rows if r["sgk_status"] == "4c")
    assert PUBLIC & set(sectors.values()) and "private" in sectors.values()
    foreign = [r for r in rows if r["citizenship"] == "FOREIGN"]
    assert all(r["tckn"].startswith("99") for r in foreign)  # yabancı kimlik numarası
    assert not any(r["tckn"].startswith("99") for r in rows if r["citizenship"] != "FOREIGN")
    assert all(r["citizenship"] in ELIGIBLE_CITIZENSHIP | {"FOREIGN"} for r in rows)
    names = "".join(r["first_name"] + r["last_name"] for r in rows)
    assert set("çğıİöşüÇÖŞÜ") <= set(names)


def test_hires_exits_and_leave_prorate_days_and_pek(bureau):
    end = date(2026, 10, 31)
    for row in _clean_rows(bureau):
        first = max(row["hire_date"], PERIOD_START)
        last = row["exit_date"] or end
        assert PERIOD_START <= last <= end and row["hire_date"] <= last
        if first == PERIOD_START and last == end:
            assert 5 <= row["sgk_days"] <= 30  # a whole month is 30 days, fewer on leave
        else:
            assert row["sgk_days"] == min(30, (last - first).days + 1)
        assert row["hire_date"] >= date(row["birth_date"].year + 18, 1, 1)
    rows = _clean_rows(bureau)
    assert sum(r["hire_date"] >= PERIOD_START for r in rows) > 50
    assert sum(r["exit_date"] is not None for r in rows) > 30
    assert sum(r["sgk_days"] < 30 and r["exit_date"] is None and r["hire_date"] < PERIOD_START for r in rows) > 30
    floor_paid = [r for r in rows if r["pek"] == BOUNDS(r["sgk_days"])[0]]
    assert len(floor_paid) > 0.2 * len(rows)  # many at the minimum wage, prorated by days
    assert any(r["pek"] == BOUNDS(r["sgk_days"])[1] for r in rows)  # and some at the ceiling


def test_bonuses_are_supplementary_rows_beside_the_regular_one(bureau):
    by_person = defaultdict(list)
    for row in _clean_rows(bureau):
        by_person[(row["employer_vkn"], row["payroll_id"])].append(row)
    pairs = [rows for rows in by_person.values() if len(rows) == 2]
    assert len(pairs) > 300
    for regular, bonus in pairs:
        assert (regular["payment_kind"], bonus["payment_kind"]) == ("regular", "supplementary")
        assert regular["tckn"] == bonus["tckn"] and regular["contract_no"] == bonus["contract_no"]
        assert regular["pek"] + bonus["pek"] <= BOUNDS(regular["sgk_days"])[1]  # the month's ceiling holds


def test_contracts_insurers_pay_days_and_overrides(bureau):
    contracts = bureau.contracts.values()
    per_employer = Counter(c["employer_vkn"] for c in contracts)
    assert set(per_employer.values()) == {1, 2, 3}
    assert {c["insurer"] for c in contracts} == {"AGESA", "ANADOLU", "FIBA"}
    assert all(c["starts_on"] < PERIOD_START and normalize_iban(c["collection_iban"]) for c in contracts)
    rows = _clean_rows(bureau)
    assert all(bureau.contracts[r["contract_no"]]["employer_vkn"] == r["employer_vkn"] for r in rows)
    used = Counter(r["contract_no"] for r in rows)
    assert sum(1 for n in per_employer.values() if n > 1) and len(used) > len(per_employer)
    wage_days = {r["wage_paid_on"] for r in rows if r["payment_kind"] == "regular"}
    assert len(wage_days) > 4 and all(date(2026, 10, 15) <= d <= date(2026, 11, 15) for d in wage_days)
    assert date(2026, 10, 28) in wage_days  # the half-day eve of Republic Day
    assert all(d.weekday() < 5 for d in wage_days)
    assert any(r["rate_override"] for r in rows) and any(r["amount_override"] for r in rows)
    assert not any(r["rate_override"] and r["amount_override"] for r in rows)
    assert all(r["rate_override"] >= Decimal("0.03") for r in rows if r["rate_override"])
    assert {r["borne_by"] for r in rows} == {None, "employee", "employer"}
    emails = [r["email"] for r in rows if r["email"]]
    assert 0.3 * len(rows) < len(emails) < 0.5 * len(rows)
    assert all(e.isascii() and e.rsplit("@", 1)[1] in {"example.com", "example.net", "example.org"} for e in emails)
    headcounts = {r["employer_vkn"]: (r["employer_sector"], r["employer_headcount"]) for r in rows}
    assert all(isinstance(n, int) and n >= 0 for _, n in headcounts.values())


def test_arguments_are_checked_before_anything_is_written(tmp_path):
    cases = [
        ({"employees": 2, "employers": 3}, "employees"),
        ({"defect_share": 0.7}, "defect_share"),
        ({"identity_mismatch_share": 0.5}, "identity_mismatch_share"),
        ({"fmt": "parquet"}, "format"),
        ({"encoding": "latin-1"}, "encoding"),
        ({"period": "2026/10"}, "YYYY-MM"),
        ({"chunk_size": 0}, "chunk_size"),
        ({"period": "2026-10", "wage_days": [date(2026, 9, 30)]}, "outside 2026-10-01 – 2026-11-15"),
        ({"period": "2026-10", "wage_days": [date(2026, 11, 16)]}, "outside 2026-10-01 – 2026-11-15"),
    ]
    for overrides, message in cases:
        with pytest.raises(ValueError, match=message):
            generate(tmp_path / "out", **{**DEMO, **overrides})
    assert not (tmp_path / "out").exists()


def test_a_year_not_yet_published_gets_wages_on_the_nearest_scale_and_says_so(tmp_path):
    # Test data must exist for any month (the demo runs on any date); validation never assumes.
    later = max(available_years()) + 1
    manifest = generate(tmp_path / "later", **{**DEMO, "period": f"{later}-01"})
    same = generate(tmp_path / "same", **{**DEMO, "period": f"{later - 1}-01"})
    assert manifest.wage_scale_assumed_from == later - 1 and same.wage_scale_assumed_from is None
    document = json.loads(manifest.manifest.read_text(encoding="utf-8"))
    assert f"SGK parameters for {later} are not on file" in document["wage_scale"]
    assert "wage_scale" not in json.loads(same.manifest.read_text(encoding="utf-8"))


def test_wage_days_given_are_the_contracts_pay_days_in_turn(tmp_path):
    days = [date(2026, 12, 31), date(2027, 1, 2), date(2027, 1, 4)]  # New Year's Eve, a Saturday, a Monday
    manifest = generate(tmp_path, **{**DEMO, "period": "2026-12", "employers": 4, "fmt": "csv", "wage_days": days})
    plan = SyntheticPayroll(**{k: v for k, v in DEMO.items() if k in ("employers", "employees", "seed")} | {"employers": 4},
                            period="2026-12", wage_days=days)  # fmt: skip
    assert [c.wage_paid_on for c in plan.contracts] == [days[i % 3] for i in range(len(plan.contracts))]
    used = {c.wage_paid_on for c in plan.contracts}
    written = {r["wage_paid_on"] for r in read_payroll(manifest.out_dir) if r["payment_kind"] == "regular" and isinstance(r["wage_paid_on"], date)}
    assert written == used  # (a planted unreadable date is no day at all)
    assert json.loads(manifest.manifest.read_text(encoding="utf-8"))["wage_days"] == sorted(d.isoformat() for d in used)
    # the rest of the payroll is the same as without them: the draw still happens
    drawn = SyntheticPayroll(**{k: v for k, v in DEMO.items() if k in ("employers", "employees", "seed")} | {"employers": 4}, period="2026-12")
    assert [c.contract_no for c in drawn.contracts] == [c.contract_no for c in plan.contracts]


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_failed_run_leaves_no_file_that_looks_finished(tmp_path, monkeypatch, fmt):
    from oks.payroll import synthetic_rows

    real, calls = synthetic_rows.PersonFactory.person, []

    def failing(self, *args, **kwargs):
        calls.append(1)
        if len(calls) > 50:
            raise RuntimeError("disk full")
        return real(self, *args, **kwargs)

    monkeypatch.setattr(synthetic_rows.PersonFactory, "person", failing)
    with pytest.raises(RuntimeError, match="disk full"):
        generate(tmp_path, **{**DEMO, "employees": 100, "chunk_size": 10, "fmt": fmt})
    assert list(tmp_path.iterdir()) == []
