"""The employer's liabilities, month by month against the simulator (docs/rules.md), on both stores."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import sqlalchemy as sa

from oks.store.schema import contributions, quarantine
from tests.payroll_files import contract, person, write_contracts_csv, write_csv
from tests.pipeline.des_steps import register_file
from tests.pipeline.lifecycle_months import on
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


# --- scope never drops silently (docs/rules.md §2) -----------------------------------------------------------

OTHER = "1234567808"  # a second employer of the bureau


def _month_of(store, sim, tmp_path, rows, contract_rows, period, wage_day):
    key = f"{period}-{len(rows)}"
    month = MonthFiles(write_csv(tmp_path / f"payroll-{key}.csv", rows), write_contracts_csv(tmp_path / f"contracts-{key}.csv", contract_rows),
                       period)  # fmt: skip
    with on(wage_day), gateway_for(store, sim.url) as gateway:
        return run_period(store, gateway, month, senders={"outbox": outbox_sender(tmp_path / "outbox.jsonl")}, work_dir=tmp_path)


def _outcomes(store, run_id) -> dict[str, tuple[str, str]]:
    from oks.store.schema import employees

    with store.connect() as conn:
        return dict((t, (o, r)) for t, o, r in conn.execute(
            sa.select(employees.c.tckn, contributions.c.outcome, contributions.c.reason)
            .join(employees, employees.c.id == contributions.c.employee_id).where(contributions.c.run_id == run_id)))  # fmt: skip


def test_an_employer_without_a_headcount_is_quarantined_by_name_never_read_as_zero(store, sim, tmp_path):
    ours = [person(n, period="2026-11", wage_paid_on=WAGE) for n in range(1, 11)]
    theirs = [person(n, period="2026-11", wage_paid_on=WAGE, employer_vkn=OTHER, employer_name="Başka Lojistik Ltd.", employer_headcount=None,
                     contract_no="AG-2026-777") for n in (11, 12)]  # fmt: skip
    sim.load_register(register_file(tmp_path, [*ours, *theirs]))
    contracts = [contract(), contract(contract_no="AG-2026-777", employer_vkn=OTHER)]
    run_id = _month_of(store, sim, tmp_path, [*ours, *theirs], contracts, "2026-11", WAGE)
    outcomes = _outcomes(store, run_id)
    assert {outcomes[r["tckn"]] for r in theirs} == {("not_eligible", "employer_headcount_missing")}
    assert {outcomes[r["tckn"]][0] for r in ours} == {"contributed"}
    with store.connect() as conn:
        held = conn.execute(sa.select(quarantine.c.row_no, quarantine.c.field, quarantine.c.message)
                            .where(quarantine.c.run_id == run_id, quarantine.c.stage == "assess")).all()  # fmt: skip
    assert [(r.row_no, r.field) for r in held] == [(11, "employer_headcount"), (12, "employer_headcount")]
    assert all(OTHER in r.message and "Başka Lojistik" in r.message and "Çalışan Sayısı" in r.message for r in held)
    assert not any(theirs[0]["tckn"] in r.message for r in held)


def test_an_employer_once_in_scope_stays_in_when_it_shrinks_and_one_that_reaches_five_waits_for_january(store, sim, tmp_path):
    from oks.store.schema import employers

    shrinking = [person(n, period="2026-10", wage_paid_on=date(2026, 10, 30), employer_headcount=7) for n in range(1, 11)]
    growing = [person(n, period="2026-10", wage_paid_on=date(2026, 10, 30), employer_vkn=OTHER, employer_name="Başka Lojistik Ltd.",
                      employer_headcount=4, contract_no="AG-2026-777") for n in (11, 12)]  # fmt: skip
    sim.load_register(register_file(tmp_path, [*shrinking, *growing]))
    contracts = [contract(), contract(contract_no="AG-2026-777", employer_vkn=OTHER)]
    october = _outcomes(store, _month_of(store, sim, tmp_path, [*shrinking, *growing], contracts, "2026-10", date(2026, 10, 30)))
    assert {october[r["tckn"]][0] for r in shrinking} == {"contributed"}
    assert {october[r["tckn"]] for r in growing} == {("not_eligible", "employer_not_in_scope")}
    # November: the first employer is down to three; the second has reached six.
    nov = [{**r, "period": "2026-11", "wage_paid_on": WAGE, "employer_headcount": 3} for r in shrinking[:3]]
    nov += [{**r, "period": "2026-11", "wage_paid_on": WAGE, "employer_headcount": 6} for r in growing]
    new_hire = person(13, period="2026-11", wage_paid_on=WAGE, employer_headcount=3, hire_date=date(2026, 11, 2))
    sim.load_register(register_file(tmp_path, [*shrinking, *growing, new_hire]))
    november = _outcomes(store, _month_of(store, sim, tmp_path, [*nov, new_hire], contracts, "2026-11", WAGE))
    assert {november[r["tckn"]][0] for r in shrinking[:3]} == {"contributed"}
    assert november[new_hire["tckn"]][0] == "contributed"  # a new hire of an employer in scope since October: enrolled
    assert {november[r["tckn"]] for r in growing} == {("not_eligible", "employer_not_in_scope")}  # from next January's first wage
    with store.connect() as conn:
        facts = dict((v, (f, s)) for v, f, s in conn.execute(sa.select(employers.c.vkn, employers.c.first_reached_five_on, employers.c.in_scope_since)))
    assert facts[OTHER] == (date(2026, 11, 1), None)  # reached five in November, from payroll history
    assert facts["1234567890"][1] == date(2026, 10, 30)  # in scope since October's wage
    january = [{**r, "period": "2027-01", "wage_paid_on": date(2027, 1, 29), "employer_headcount": 6} for r in growing]
    later = _outcomes(store, _month_of(store, sim, tmp_path, january, contracts, "2027-01", date(2027, 1, 29)))
    assert {later[r["tckn"]][0] for r in growing} == {"contributed"}


# --- every stop stops the deduction (docs/rules.md §6) ------------------------------------------------------


def test_a_pause_asked_on_the_wage_day_after_the_deduction_was_made_is_refunded_counted_from_the_request(store, sim, tmp_path):
    from oks.pipeline.status_sync import sync_insurer_status
    from oks.rules.calendar import refund_deadline
    from oks.store.refunds import open_refunds
    from oks.store.requests import record_request

    staff = [person(n, period="2026-11", wage_paid_on=WAGE) for n in range(1, 11)]
    sim.load_register(register_file(tmp_path, staff))
    _month_of(store, sim, tmp_path, [{**r, "period": "2026-10", "wage_paid_on": date(2026, 10, 30)} for r in staff], [contract()], "2026-10",
              date(2026, 10, 30))  # fmt: skip
    november = _month_of(store, sim, tmp_path, staff, [contract()], "2026-11", date(2026, 11, 27))  # run before the wage day
    assert _outcomes(store, november)[staff[0]["tckn"]][0] == "contributed"
    with on(WAGE), store.begin() as conn:  # asked on the wage day itself: no deduction may be taken from that wage
        record_request(conn, contract_no="AG-2026-001", tckn=staff[0]["tckn"], kind="PAUSE", requested_on=WAGE, months=2, by="ops")
    december = [{**r, "period": "2026-12", "wage_paid_on": date(2026, 12, 31)} for r in staff]
    _month_of(store, sim, tmp_path, december, [contract()], "2026-12", date(2026, 12, 4))  # forwards the request
    sim.process()
    with on(date(2026, 12, 4)), gateway_for(store, sim.url) as gateway:
        sync_insurer_status(store, gateway)  # the insurer's PAUSED, effective the day asked
    with store.connect() as conn:
        (refund,) = open_refunds(conn)
    assert (refund.tckn, refund.period, refund.wage_paid_on, refund.reason) == (staff[0]["tckn"], "2026-11", WAGE, "deducted_after_pause")
    assert refund.due_on == refund_deadline(WAGE).due_on  # ten business days from the request, not from when we heard


# --- lateness is a state, with its cost (docs/rules.md §5) --------------------------------------------------


def test_a_transfer_confirmed_after_its_deadline_is_late_with_its_days_and_a_loss_claim(store, sim, tmp_path):
    from datetime import datetime

    from oks.pipeline.deadline_watch import watch_deadlines
    from oks.pipeline.obligations import confirm_payment
    from oks.rules.calendar import ISTANBUL
    from oks.store.loss_claims import enter_return, loss_claims_query
    from oks.store.obligations import owed
    from tests.cli_runner import oks as run_oks

    rows = [person(n, period="2026-10", wage_paid_on=date(2026, 10, 30)) for n in range(1, 11)]
    sim.load_register(register_file(tmp_path, rows))
    _month_of(store, sim, tmp_path, rows, [contract()], "2026-10", date(2026, 10, 30))
    (obligation,) = owed(store)
    assert obligation.due_on == date(2026, 11, 2)
    overdue = []
    watch_deadlines(store, now=datetime(2026, 11, 4, 9, 5, tzinfo=ISTANBUL), senders={"email": overdue.append})
    assert [a.level for a in overdue if a.level == "overdue"] == ["overdue"]  # paged daily while overdue
    confirm_payment(store, obligation_id=obligation.id, confirmed_by="ops", amount=obligation.amount, bank_reference="EFT-7",
                    paid_at=datetime(2026, 11, 5, 11, 0, tzinfo=ISTANBUL))  # fmt: skip
    (paid,) = owed(store, include_paid=True)
    assert (paid.state, paid.days_late) == ("late", 3)
    with store.connect() as conn:
        (claim,) = conn.execute(loss_claims_query()).all()
    assert (claim.obligation_id, claim.days_late, claim.amount, claim.loss, claim.state) == (obligation.id, 3, obligation.amount, None, "open")
    after = []
    watch_deadlines(store, now=datetime(2026, 11, 6, 9, 5, tzinfo=ISTANBUL), senders={"email": after.append})
    assert after == []  # the page stops; the record stays
    with store.begin() as conn:  # the insurer gives the fund's return over the three days: the loss follows, never guessed
        assert enter_return(conn, claim.id, percent=Decimal("0.12"), source="insurer", by="ops") == (obligation.amount * Decimal("0.0012")).quantize(Decimal("0.01"))
    listed = run_oks("obligations", "--all", "--store", store.url.render_as_string(hide_password=False))
    assert "late" in listed.stdout and "paid 3 day(s) late: loss claim" in listed.stdout
    claims = run_oks("loss-claims", "--store", store.url.render_as_string(hide_password=False))
    assert f"obligation #{obligation.id}" in claims.stdout and "3 day(s) late" in claims.stdout and "return 0.12000% (insurer)" in claims.stdout
