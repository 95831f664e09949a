"""`oks obligations` and `oks confirm-payment` from the installed command, on a real store file."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from oks.pipeline.obligations import record_payment_obligations
from oks.store import open_store
from tests.cli_runner import oks
from tests.payroll_files import person
from tests.pipeline.months import month


@pytest.fixture
def store_file(tmp_path):
    url = f"sqlite:///{tmp_path / 'store.sqlite'}"
    engine = open_store(url)
    run_id = month(engine, tmp_path, [person(1, pek=Decimal("40000")), person(2, pek=Decimal("45000"))])
    record_payment_obligations(engine, run_id)
    engine.dispose()
    return url


def test_list_then_confirm_a_payment(store_file):
    listed = oks("obligations", "--json", "--store", store_file)
    assert listed.returncode == 0, listed.stderr
    (obligation,) = json.loads(listed.stdout)
    assert (obligation["amount"], obligation["due_on"], obligation["state"]) == ("2550.00", "2026-11-02", "due")

    short = oks("confirm-payment", "--contract", "AG-2026-001", "--period", "2026-10", "--amount", "2.500,00", "--by", "ops", "--store", store_file)
    assert short.returncode == 2 and "does not match the 2,550.00 TL owed" in short.stderr

    done = oks("confirm-payment", "--obligation", str(obligation["id"]), "--amount", "2550", "--by", "bank-statement-job", "--store", store_file)
    assert done.returncode == 0, done.stderr
    assert "its deadline alerts stop" in done.stdout
    assert oks("obligations", "--store", store_file).stdout.strip() == "no open payment obligations"
    assert "paid" in oks("obligations", "--all", "--store", store_file).stdout


def test_confirm_needs_a_target(store_file):
    result = oks("confirm-payment", "--by", "ops", "--store", store_file)
    assert result.returncode == 2 and "one of the arguments --obligation --contract is required" in result.stderr


def test_the_home_is_oks_home_else_the_checkouts_else_the_users(tmp_path, monkeypatch):
    from pathlib import Path

    from oks.store import oks_home

    checkout = tmp_path / "oks-pipeline"
    (checkout / "dags").mkdir(parents=True)
    (checkout / "dags" / "oks_monthly.py").write_text("", encoding="utf-8")
    (checkout / "Makefile").write_text("", encoding="utf-8")
    (checkout / "docs" / "deep").mkdir(parents=True)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.delenv("OKS_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "user"))
    assert oks_home(checkout) == checkout / ".oks"  # what `make run` uses: a plain shell reads the same store
    assert oks_home(checkout / "docs" / "deep") == checkout / ".oks"
    assert oks_home(elsewhere) == Path(tmp_path / "user" / ".oks")
    monkeypatch.setenv("OKS_HOME", str(tmp_path / "chosen"))
    assert oks_home(checkout) == tmp_path / "chosen"
