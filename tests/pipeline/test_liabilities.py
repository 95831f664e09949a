"""The employer's liabilities, month by month against the simulator (docs/rules.md), on both stores."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa

from oks.store.schema import contributions, quarantine
from tests.payroll_files import contract, person, write_contracts_csv, write_csv
from tests.pipeline.des_steps import register_file
from tests.pipeline.whole_month import MonthFiles, gateway_for, outbox_sender, run_period

WAGE = date(2026, 11, 30)


def test_a_person_without_an_iban_is_quarantined_with_the_reason_and_never_sent(store, sim, tmp_path):
    rows = [person(n, period="2026-11", wage_paid_on=WAGE) for n in range(1, 13)]  # one in twelve: under the invalid-share threshold
    rows[1] = {**rows[1], "iban": None}
    sim.load_register(register_file(tmp_path, rows))
    month = MonthFiles(write_csv(tmp_path / "payroll.csv", rows), write_contracts_csv(tmp_path / "contracts.csv", [contract()]), "2026-11")
    with gateway_for(store, sim.url) as gateway:
        run_id = run_period(store, gateway, month, senders={"outbox": outbox_sender(tmp_path / "outbox.jsonl")}, work_dir=tmp_path)
    with store.connect() as conn:
        held = conn.execute(sa.select(quarantine.c.row_no, quarantine.c.field, quarantine.c.message).where(quarantine.c.run_id == run_id)).all()
        contributed = conn.execute(sa.select(sa.func.count()).select_from(contributions)
                                   .where(contributions.c.run_id == run_id, contributions.c.outcome == "contributed")).scalar_one()  # fmt: skip
    assert [(r.row_no, r.field) for r in held] == [(2, "iban")]
    assert "insurer pays refunds and exits to it" in held[0].message and rows[1]["tckn"] not in held[0].message
    assert contributed == 11
    assert rows[1]["tckn"] not in {p["tckn"] for p in sim.policies()}  # never sent to the insurer
