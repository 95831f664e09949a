"""The suites as code: a readable, unambiguous catalogue that costs nothing to import."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter

from oks.payroll.columns import PAYROLL_COLUMNS, REQUIRED
from oks.quality.checks import CHECKS, PAYROLL, PERSONNEL, TABLE, RunFacts, checks_for, rule_name


def test_each_field_and_rule_names_one_check():
    # The quarantine says field + rule: that pair must lead back to exactly one check.
    pairs = Counter((c.field, c.rule) for c in CHECKS if c.field != TABLE)
    assert [pair for pair, n in pairs.items() if n > 1] == []


def test_the_catalogue_covers_the_contract():
    fields = {c.field for c in CHECKS}
    for column in ("tckn", "first_name", "last_name", "birth_date", "citizenship", "sgk_status", "hire_date", "exit_date",
                   "iban", "mobile", "email", "contract_no", "pek", "sgk_days", "wage_paid_on", "payment_kind"):  # fmt: skip
        assert column in fields, column
    levels = {c.name: c.level for c in CHECKS}
    assert levels["pek_within_limits"] == "warning"
    assert {c.suite for c in CHECKS} == {PERSONNEL, PAYROLL}
    assert all(c.description for c in CHECKS)
    # Every contract column is in one of the two column checks.
    typed = set()
    facts = RunFacts(run_id=1, period="2026-10")
    for check in CHECKS:
        if check.expectation == "ExpectPayrollColumnsPresentAndTyped":
            typed |= set(check.kwargs(facts, None)["columns"])
    assert typed == {c.name for c in PAYROLL_COLUMNS}
    # A column the contract requires, empty in every row, is a missing column.
    must_exist = {c.field for c in CHECKS if c.column_must_exist}
    assert must_exist <= set(REQUIRED) | {"mobile", "iban"}  # what DES needs of every person (Luca's pre-check)


def test_rule_names_are_gx_names():
    import great_expectations.expectations as gxe

    from oks.quality import expectations as custom

    for check in CHECKS:
        cls = getattr(custom, check.expectation, None) or getattr(gxe, check.expectation)
        assert cls.expectation_type == check.rule == rule_name(check.expectation)


def test_without_sgk_parameters_the_pek_limits_do_not_apply():
    names = {c.name for c in checks_for(RunFacts(run_id=1, period="2031-01"))}
    assert "pek_within_limits" not in names and "pek_in_range" in names


def test_importing_the_step_imports_neither_gx_nor_pandas():
    code = (
        "import sys, oks.pipeline.validate, oks.quality.checks, oks.quality.quarantine, oks.quality.gx_runtime;"
        "print(sorted(m for m in ('great_expectations', 'pandas') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
