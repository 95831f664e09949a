"""Reading cells as Turkish payroll products write them."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from oks.payroll.columns import BY_NAME, canonical
from oks.payroll.parsing import CellError, parse_bool, parse_cell, parse_date, parse_money, parse_period, parse_rate

D = Decimal


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1.234,56", D("1234.56")),
        ("33.030,00", D("33030.00")),
        ("1.234.567,89", D("1234567.89")),
        ("1234,5", D("1234.50")),
        ("1234.56", D("1234.56")),
        ("1,234.56", D("1234.56")),
        ("1.234.567", D("1234567.00")),
        (" 52 340,75 TL", D("52340.75")),
        ("₺990", D("990.00")),
        (33030.1, D("33030.10")),  # an XLSX number cell
        (33030, D("33030.00")),
        (D("12.5"), D("12.50")),
        ("-5,00", D("-5.00")),  # negative is read; validation judges it
    ],
)
def test_money(raw, expected):
    assert parse_money(raw) == expected


@pytest.mark.parametrize(
    "raw",
    ["12.34.56,7", "on iki", "1,2,3", "NaN", "1.5e3x", True, "1e5", "1E+3", "3.3e4", "Infinity", "1.234.56", "1,23,456.00",
     "12,3456", "1234.", ",50", "--5", "1.234,567", "1000000000000", 1e15, "0x1F", "١٢٣"],
)  # fmt: skip
def test_money_refusals(raw):
    with pytest.raises(CellError) as caught:
        parse_money(raw)
    assert caught.value.code == "amount"


# One separator before exactly three digits is thirty-three thousand in Turkish and thirty-three in
# English: read either way it may move money a thousandfold, so it is refused, never guessed.
@pytest.mark.parametrize("raw", ["33.000", "33,000", "1.500", "12,345", "0,001", "33.000 TL"])
def test_money_that_could_be_thousands_or_decimals_is_refused(raw):
    with pytest.raises(CellError, match="ambiguous amount") as caught:
        parse_money(raw)
    assert caught.value.code == "amount_ambiguous"


@pytest.mark.parametrize(("raw", "expected"), [("33.000,00", D("33000")), ("33000", D("33000")), ("33.000.000", D("33000000")),
                                               ("1,234,567", D("1234567")), ("33,00", D("33")), ("33.0", D("33"))])  # fmt: skip
def test_money_written_unambiguously_is_read(raw, expected):
    assert parse_money(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("31.10.2026", date(2026, 10, 31)),
        ("2026-10-31", date(2026, 10, 31)),
        ("31/10/2026", date(2026, 10, 31)),
        ("05.01.1981", date(1981, 1, 5)),
        (datetime(2026, 10, 31, 0, 0), date(2026, 10, 31)),
        (date(2026, 10, 31), date(2026, 10, 31)),
    ],
)
def test_date(raw, expected):
    assert parse_date(raw) == expected


@pytest.mark.parametrize("raw", ["31.02.2026", "yok", "2026-13-01", "10/31/2026", "31.10.26"])
def test_date_refusals(raw):
    with pytest.raises(CellError) as caught:
        parse_date(raw)
    assert caught.value.code == "date"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("2026-10", "2026-10"), ("2026/10", "2026-10"), ("10.2026", "2026-10"), ("1/2026", "2026-01"), ("202610", "2026-10"),
     (date(2026, 10, 1), "2026-10")],
)  # fmt: skip
def test_period(raw, expected):
    assert parse_period(raw) == expected


@pytest.mark.parametrize("raw", ["2026-13", "Ekim 2026", "26-10", "1999-01"])
def test_period_refusals(raw):
    with pytest.raises(CellError):
        parse_period(raw)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("0.05", D("0.05")), ("0,05", D("0.05")), ("%5", D("0.05")), ("5%", D("0.05")), ("5", D("0.05")), ("%3,5", D("0.035")),
     (0.04, D("0.04"))],
)  # fmt: skip
def test_rate(raw, expected):
    assert parse_rate(raw) == expected


@pytest.mark.parametrize(("raw", "code"), [("1", "rate_ambiguous"), (1, "rate_ambiguous"), ("101", "rate"), ("%150", "rate"),
                                           ("-0.05", "rate"), ("5e-2", "rate"), ("%5%", "rate"), ("0.123456", "rate"),
                                           ("yüzde beş", "rate"), (True, "rate")])  # fmt: skip
def test_rate_refusals(raw, code):
    with pytest.raises(CellError) as caught:
        parse_rate(raw)
    assert caught.value.code == code


@given(st.decimals(min_value=0, max_value=1, places=5, allow_nan=False, allow_infinity=False))
def test_every_rate_written_as_a_percent_reads_back(rate):
    assert parse_rate(f"%{rate * 100:f}".rstrip("0").rstrip(".").replace(".", ",")) == rate


@given(st.text(max_size=12))
def test_money_and_rate_cells_either_read_or_refuse_with_a_reason(text):
    for parse in (parse_money, parse_rate):
        try:
            value = parse(text)
        except CellError as exc:
            assert exc.code and str(exc)
        else:
            assert value.is_finite()

@pytest.mark.parametrize(("raw", "expected"), [("Evet", True), ("HAYIR", False), ("Hayır", False), ("E", True), ("1", True), (0, False), ("x", True)])
def test_bool(raw, expected):
    assert parse_bool(raw) is expected


def test_blank_cells_are_none_and_identifiers_are_compacted():
    assert parse_cell(BY_NAME["exit_date"], "  ") is None
    assert parse_cell(BY_NAME["tckn"], "172 917 160-60") == "17291716060"
    assert parse_cell(BY_NAME["tckn"], 17291716060.0) == "17291716060"  # a spreadsheet number
    assert parse_cell(BY_NAME["iban"], "tr33 0006 1005") == "TR3300061005"
    assert parse_cell(BY_NAME["first_name"], "  Ayşe   Nur ") == "Ayşe Nur"
    assert parse_cell(BY_NAME["sgk_days"], "30") == 30


def test_turkish_and_english_headers_map_to_the_same_columns():
    assert canonical(["\ufeffTC KİMLİK NO", "tckn", "Ücret Ödeme Tarihi", "SGK GÜN", "Bilinmeyen"]) == [
        "tckn", "tckn", "wage_paid_on", "sgk_days", None,
    ]  # fmt: skip


@given(st.decimals(min_value=-10**9, max_value=10**9, places=2, allow_nan=False, allow_infinity=False))
def test_money_round_trips_through_the_turkish_format(amount):
    sign = "-" if amount < 0 else ""
    whole, _, cents = f"{abs(amount):.2f}".partition(".")
    grouped = f"{int(whole):,}".replace(",", ".")
    assert parse_money(f"{sign}{grouped},{cents}") == amount


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Faizsiz", "PARTICIPATION"), ("FAİZSİZ", "PARTICIPATION"), ("katılım", "PARTICIPATION"), ("Katılım Fonu", "PARTICIPATION"),
        ("PARTICIPATION", "PARTICIPATION"), ("Faizli", "STANDARD"), ("standart", "STANDARD"), ("STANDARD", "STANDARD"),
        ("  faizli ", "STANDARD"), ("", None),
        # Anything else stays as written, for validation to refuse by name: never a guessed fund.
        ("Faizsz", "Faizsz"), ("hisse", "hisse"),
    ],
)  # fmt: skip
def test_a_fund_preference_is_read_in_the_spellings_payroll_writes(raw, expected):
    assert parse_cell(BY_NAME["fund_preference"], raw) == expected
