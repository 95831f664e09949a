"""Payment obligations: one per contract, period, kind and wage day; never changed silently once paid."""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal

import pytest
import sqlalchemy as sa

from oks.pipeline.assess import assess_eligibility
from oks.pipeline.contribute import compute_contributions
from oks.pipeline.obligations import ObligationConflict, confirm_payment, record_payment_obligations
from oks.rules.calendar import ISTANBUL
from oks.store.schema import payment_obligations
from tests.payroll_files import contract, person
from tests.pipeline.months import month, run_month

D = Decimal


def test_one_obligation_per_kind_and_wage_day_with_statutory_deadlines(store, tmp_path):
    rows = [
        person(1, pek=D("40000"), wage_paid_on=date(2026, 5, 25)),  # white collar: due on Kurban arife, 12:00
        person(2, pek=D("50000"), wage_paid_on=date(2026, 5, 25)),
        person(3, pek=D("30000"), wage_paid_on=date(2026, 5, 29)),  # blue collar paid in the bayram: due 1 June
        person(1, pek=D("10000"), payment_kind="supplementary", wage_paid_on=date(2026, 5, 25)),
    ]
    rows = [{**r, "period": "2026-05"} for r in rows]
    run_id = run_month(store, tmp_path, rows, [contract()], period="2026-05")
    assess_eligibility(store, run_id)
    compute_contributions(store, run_id)
    instructions = record_payment_obligations(store, run_id)
    got = {(i.payment_kind, i.wage_paid_on): (i.amount, i.due_on, i.cutoff, i.reference) for i in instructions}
    assert got == {
        ("regular", date(2026, 5, 25)): (D("2700"), date(2026, 5, 26), time(12, 0), "OKS AG-2026-001 2026-05 DUZENLI"),
        ("regular", date(2026, 5, 29)): (D("900"), date(2026, 6, 1), None, "OKS AG-2026-001 2026-05 DUZENLI"),
        ("supplementary", date(2026, 5, 25)): (D("300"), date(2026, 5, 26), time(12, 0), "OKS AG-2026-001 2026-05 ARA ODEME"),
    }
    text = instructions[0].as_text()
    assert "TR330006100519786457841326" in text and "before 12:00" in text


def test_rerun_keeps_the_obligation_and_a_paid_one_is_never_changed_silently(store, tmp_path):
    run_id = month(store, tmp_path, [person(1, pek=D("40000"))])
    (first,) = record_payment_obligations(store, run_id)
    (again,) = record_payment_obligations(store, run_id)
    assert again.obligation_id == first.obligation_id

    with pytest.raises(ValueError, match="does not match the 1,200.00 TL owed"):
        confirm_payment(store, obligation_id=first.obligation_id, confirmed_by="ops", amount=D("1000"))
    on_time = datetime(2026, 11, 2, 10, 0, tzinfo=ISTANBUL)  # the due day: paid, not late, whatever today is
    assert confirm_payment(store, contract_no="AG-2026-001", period="2026-10", confirmed_by="ops", amount=D("1200"), paid_at=on_time) == [
        first.obligation_id
    ]
    assert confirm_payment(store, obligation_id=first.obligation_id, confirmed_by="ops") == [first.obligation_id]  # twice: harmless

    run_id = month(store, tmp_path, [person(1, pek=D("50000"))], run_key="r")  # payroll changed after payment
    with pytest.raises(ObligationConflict, match="is paid for 1200.00 TL but this run computes 1500.00 TL"):
        record_payment_obligations(store, run_id)
    with store.connect() as conn:
        row = conn.execute(sa.select(payment_obligations)).one()
    assert (row.state, row.amount, row.confirmed_by) == ("paid", D("1200.00"), "ops")


def test_confirming_an_unknown_obligation_is_an_error(store):
    with pytest.raises(LookupError, match="no payment obligation for X 2026-10 regular"):
        confirm_payment(store, contract_no="X", period="2026-10", confirmed_by="ops")
