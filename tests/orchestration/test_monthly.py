"""The monthly glue's rules that a trigger form leans on: which month a run without a period takes
(across dates, frozen), and a run with no payroll source failing first, naming the connection."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
import time_machine

from oks.orchestration.monthly import resolve_period


@pytest.mark.parametrize(
    ("params", "logical_date", "now", "period"),
    [
        ({"period": "2026-11"}, None, "2026-12-02T06:00:00Z", "2026-11"),
        ({"period": " 2027-02 "}, None, "2026-12-02T06:00:00Z", "2027-02"),
        ({}, "2026-11-25T04:00:00Z", "2026-12-02T06:00:00Z", "2026-11"),  # a scheduled run: its own month
        ({"period": ""}, None, "2026-12-02T06:00:00Z", "2026-12"),  # a manual run: the current month
        ({"period": None}, None, "2026-12-31T21:30:00Z", "2027-01"),  # 00:30 on 1 January in Istanbul
        ({}, "2027-02-28T21:00:00Z", "2027-03-05T06:00:00Z", "2027-03"),  # midnight in Istanbul is March
        ({}, None, "2028-02-29T12:00:00Z", "2028-02"),
        ({}, None, "2030-06-30T20:59:59Z", "2030-06"),
    ],
)
def test_a_run_without_a_period_takes_the_month_of_its_date_in_istanbul(params, logical_date, now, period):
    logical = datetime.fromisoformat(logical_date.replace("Z", "+00:00")) if logical_date else None
    with time_machine.travel(datetime.fromisoformat(now.replace("Z", "+00:00")), tick=False):
        assert resolve_period(params, logical) == period


@pytest.mark.parametrize("bad", ["2026-13", "2026-00", "26-11", "2026/11", "Kasım 2026", "2026-1"])
def test_a_period_that_is_not_a_month_is_refused_saying_the_form(bad):
    with pytest.raises(ValueError, match=r"period must be a month as YYYY-MM, e.g. 2026-11"):
        resolve_period({"period": bad}, None, now=datetime(2026, 12, 2, tzinfo=timezone.utc))


def test_a_run_with_no_payroll_source_fails_first_naming_the_connection(tmp_path, monkeypatch):
    from oks.orchestration import monthly

    monkeypatch.setenv("OKS_STORE_URL", f"sqlite:///{tmp_path / 'store.sqlite'}")
    monkeypatch.delenv("OKS_PAYROLL_SOURCE", raising=False)
    monkeypatch.delenv("AIRFLOW_CONN_OKS_PAYROLL", raising=False)
    with pytest.raises(ValueError, match=r"no payroll source: set the Airflow connection oks_payroll"):
        monthly.extract({"period": None, "payroll_source": None, "employers": None}, datetime(2026, 11, 25, 4, tzinfo=timezone.utc))


@pytest.mark.parametrize(
    ("now", "newest", "count"),
    [("2026-12-02T06:00:00Z", "2027-12", 132), ("2026-12-31T21:30:00Z", "2028-01", 133), ("2017-01-01T00:00:00Z", "2018-01", 13),
     ("2035-06-15T12:00:00Z", "2036-06", 234)],
)  # fmt: skip
def test_the_form_offers_every_month_from_2017_to_a_year_ahead_in_istanbul(now, newest, count):
    from oks.orchestration.monthly import selectable_periods

    choices = selectable_periods(datetime.fromisoformat(now.replace("Z", "+00:00")))
    assert next(iter(choices)) == newest and list(choices)[-1] == "2017-01" and len(choices) == count
    assert all(resolve_period({"period": p}, None) == p for p in choices)
