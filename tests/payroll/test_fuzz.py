"""Fuzzing the readers: whatever a payroll cell or file holds, the answer is a value or a typed refusal
with a reason — never another exception, never the value echoed back."""

from __future__ import annotations

from datetime import date

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from oks.payroll.columns import PAYROLL_COLUMNS
from oks.payroll.parsing import CellError, parse_bool, parse_date, parse_int, parse_money, parse_period, parse_rate
from oks.payroll.sources import CsvSource, PayrollStructureError
from oks.pipeline.extract import type_row
from oks.rules.identity import InvalidIdentifier, normalize_iban, normalize_mobile, normalize_tckn

CELLS = st.one_of(
    st.text(max_size=40),
    st.text(alphabet="0123456789.,-+ %₺TLe", max_size=20),  # near-misses of numbers
    st.from_regex(r"[0-3]?\d[./-][01]?\d[./-]\d{2,4}", fullmatch=True),  # near-misses of dates
    st.integers(min_value=-(10**15), max_value=10**15),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
)


@given(CELLS)
def test_every_cell_parser_reads_or_refuses_with_a_reason(cell):
    for parse in (parse_money, parse_rate, parse_date, parse_period, parse_int, parse_bool):
        try:
            value = parse(cell)
        except CellError as exc:
            assert exc.code and str(exc)
        else:
            assert value is not None


@given(st.one_of(st.text(max_size=40), st.from_regex(r"(\+90|0090|0)?[ -]?5\d{2}[ -]?\d{3}[ -]?\d{2}[ -]?\d{2}", fullmatch=True),
                 st.from_regex(r"TR\d{2}[ ]?\d{4}[ ]?\d{4}[ ]?\d{4}[ ]?\d{4}[ ]?\d{4}[ ]?\d{2}", fullmatch=True),
                 st.from_regex(r"[1-9]\d{10}", fullmatch=True)))  # fmt: skip
def test_every_normalizer_gives_a_value_it_keeps_or_an_invalid_identifier(text):
    for normalize in (normalize_tckn, normalize_iban, normalize_mobile):
        try:
            value = normalize(text)
        except InvalidIdentifier as exc:
            assert exc.code and exc.message
        else:
            assert normalize(value) == value  # idempotent: a stored value reads back as itself


_NAMES = [c.name for c in PAYROLL_COLUMNS]


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(st.sampled_from(_NAMES), st.one_of(st.none(), st.text(max_size=30), st.from_regex(r"\d{6,12}", fullmatch=True))))
def test_a_row_of_anything_is_typed_or_refused_per_field_never_echoing_a_value(raw):
    typed, problems = type_row(raw)
    assert set(typed) | {field for field, _, _ in problems} <= set(_NAMES)
    for field, code, message in problems:
        assert code and message.startswith(f"{field}")
        value = raw.get(field)
        if isinstance(value, str) and value.isdigit() and len(value) >= 6:
            assert value not in message


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=600))
def test_a_file_of_any_bytes_is_rows_or_a_structure_error(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("fuzz") / "bordro.csv"
    path.write_bytes("TC Kimlik No;Adı;Soyadı\n".encode() + data)
    try:
        rows = list(CsvSource(path).rows())
    except PayrollStructureError as exc:
        assert "bordro.csv" in str(exc)
    else:
        assert all(isinstance(n, int) and isinstance(cells, dict) for n, cells in rows)


def test_the_fuzzed_date_grammar_still_reads_a_real_date():
    assert parse_date("31.10.2026") == date(2026, 10, 31)
