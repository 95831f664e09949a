"""The employment lifecycle through the DES steps against the simulator, month after month: a changed
IBAN and mobile go to the insurer as an UPDATE once; a leaver's last month is paid and the person is
exited with the exit date payroll gave; a new hire who left within the month is enrolled and exited by
one list; a fund preference from payroll travels with the person."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
import time_machine

from oks.pipeline.assess import assess_eligibility
from oks.pipeline.status_sync import sync_insurer_status
from oks.rules.calendar import ISTANBUL
from oks.store.schema import contributions, employees, enrolments
from tests.payroll_files import CONTRACT, contract, person
from tests.pipeline.des_steps import register_file
from tests.pipeline.lifecycle_months import held, store_states, through_des
from tests.pipeline.months import run_month

OCT, NOV, DEC = ("2026-10", date(2026, 10, 30)), ("2026-11", date(2026, 11, 30)), ("2026-12", date(2026, 12, 31))


def _month(store, gateway, tmp_path, rows, when, run_key):
    """One month of the default contract through every step on its wage day: (run, list sent, answers, payments)."""
    period, wage_day = when
    month = through_des(store, gateway, tmp_path, rows, [contract()], period=period, wage_day=wage_day, run_key=run_key)
    return (month.run_id, month.listed.get(CONTRACT, {"list_id": None, "people": 0}), month.answered.get(CONTRACT, {}),
            month.paid.get(CONTRACT, {}))  # fmt: skip


def _states(store) -> dict[str, tuple]:
    return store_states(store)


def _held(sim) -> dict[str, dict]:
    return held(sim, CONTRACT)


def test_changes_go_as_one_update_leavers_are_exited_after_their_last_month_is_paid(store, gateway, sim, tmp_path):
    people = [person(n) for n in range(1, 5)]
    joiner_who_left = person(5, hire_date=date(2026, 11, 3), exit_date=date(2026, 11, 20), fund_preference="Faizsiz")
    sim.load_register(register_file(tmp_path, [*people, joiner_who_left]))

    _, listed, _, _ = _month(store, gateway, tmp_path, people, OCT, "oct")
    assert (listed["people"], listed.get("enrol"), listed.get("update"), listed.get("exit")) == (4, 4, None, None)

    # November: person 1 changed IBAN and mobile, person 2 left on the 14th, person 5 joined and left.
    changed = {**people[0], "mobile": "+905559998877", "iban": "TR330006100519786457841326"}
    leaver = {**people[1], "exit_date": date(2026, 11, 14), "pek": Decimal("20000.00"), "sgk_days": 14}
    nov = [changed, leaver, people[2], people[3], joiner_who_left]
    run_id, listed, answered, paid = _month(store, gateway, tmp_path, nov, NOV, "nov")
    assert (listed.get("enrol"), listed.get("update"), listed.get("exit")) == (1, 1, 2)
    assert (answered.get("updated"), answered.get("exited"), answered.get("enrolled")) == (1, 2, 1)
    held = _held(sim)
    assert (held[changed["tckn"]]["mobile"], held[changed["tckn"]]["iban"]) == ("+905559998877", "TR330006100519786457841326")
    assert (held[leaver["tckn"]]["state"], held[leaver["tckn"]]["exit_date"]) == ("LEFT", "2026-11-14")
    assert (held[joiner_who_left["tckn"]]["state"], held[joiner_who_left["tckn"]]["fund_kind"]) == ("LEFT", "PARTICIPATION")
    states = _states(store)
    assert states[leaver["tckn"]] == ("left", "left_employment", date(2026, 11, 14))
    assert states[joiner_who_left["tckn"]] == ("left", "left_employment", date(2026, 11, 20))
    # Both leavers' last contributions went to the insurer and were accepted.
    with store.connect() as conn:
        last = conn.execute(sa.select(employees.c.tckn, contributions.c.amount).join(employees, employees.c.id == contributions.c.employee_id)
                            .where(contributions.c.run_id == run_id, contributions.c.outcome == "contributed")).all()  # fmt: skip
    assert {t for t, amount in last if amount > 0} >= {leaver["tckn"], joiner_who_left["tckn"]}

    # A re-run of November sends nothing again; December sends no UPDATE for a record already sent.
    _, again, _, _ = _month(store, gateway, tmp_path, nov, NOV, "nov")
    assert again["list_id"] is None
    _, dec, _, _ = _month(store, gateway, tmp_path, [changed, people[2], people[3]], DEC, "dec")
    assert dec["list_id"] is None
    assert {t: p["state"] for t, p in _held(sim).items()} == {
        changed["tckn"]: "ACTIVE", leaver["tckn"]: "LEFT", people[2]["tckn"]: "ACTIVE", people[3]["tckn"]: "ACTIVE",
        joiner_who_left["tckn"]: "LEFT"}  # fmt: skip


def test_someone_missing_from_the_payroll_is_reported_never_exited_on_a_guess(store, gateway, sim, tmp_path):
    from oks.pipeline.report import publish_report
    from oks.privacy import mask_tckn

    people = [person(n) for n in range(11, 14)]
    sim.load_register(register_file(tmp_path, people))
    _month(store, gateway, tmp_path, people, OCT, "oct")
    run_id, listed, _, _ = _month(store, gateway, tmp_path, people[:2], NOV, "nov")  # person 13 absent, no exit date
    assert listed["list_id"] is None  # nothing to send: no EXIT without an exit date
    report = publish_report(store, run_id, out_dir=tmp_path / "report")
    page = (tmp_path / "report" / "report.html").read_text(encoding="utf-8")
    assert report["not_in_payroll"] == 1 and "left or missing? (1)" in page
    assert mask_tckn(people[2]["tckn"]) in page and people[2]["tckn"] not in page
    assert _states(store)[people[2]["tckn"]][0] == "enrolled" and _held(sim)[people[2]["tckn"]]["state"] == "ACTIVE"


def test_requests_made_at_the_employer_stop_deductions_and_reach_the_insurer_once(store, gateway, sim, tmp_path):
    import pytest

    from oks.store.requests import RequestRefused, record_request
    from oks.store.schema import employer_requests

    people = [person(n) for n in range(21, 24)]
    opts_out, pauses, stays = (p["tckn"] for p in people)
    sim.load_register(register_file(tmp_path, people))
    _month(store, gateway, tmp_path, people, OCT, "oct")

    with store.begin() as conn:
        first = record_request(conn, contract_no=CONTRACT, tckn=opts_out, kind="OPT_OUT", requested_on=date(2026, 11, 5), months=None, by="ops")
        again = record_request(conn, contract_no=CONTRACT, tckn=opts_out, kind="OPT_OUT", requested_on=date(2026, 11, 5), months=None, by="ops")
        record_request(conn, contract_no=CONTRACT, tckn=pauses, kind="PAUSE", requested_on=date(2026, 11, 10), months=2, by="ops")
    assert first.created and (again.id, again.created) == (first.id, False)
    with pytest.raises(RequestRefused, match=r"is enrolled: a RESUME request needs an enrolment that is paused") as refused, store.begin() as conn:
        record_request(conn, contract_no=CONTRACT, tckn=stays, kind="RESUME", requested_on=date(2026, 11, 10), months=None, by="ops")
    assert stays not in str(refused.value)  # masked

    sim.settings(insurer_delay=0)  # the insurer decides at once: the decision is read in the same sync
    run_id, _, _, _ = _month(store, gateway, tmp_path, people, NOV, "nov")
    with store.connect() as conn:
        outcomes = dict(conn.execute(sa.select(employees.c.tckn, contributions.c.reason).join(employees, employees.c.id == contributions.c.employee_id)
                                     .where(contributions.c.run_id == run_id)).all())  # fmt: skip
        requests = conn.execute(sa.select(employer_requests.c.kind, employer_requests.c.state, employer_requests.c.event_id)
                                .order_by(employer_requests.c.id)).all()  # fmt: skip
    assert (outcomes[opts_out], outcomes[pauses]) == ("opted_out", "paused") and outcomes[stays].startswith("enrolment_")
    assert [(r.kind, r.state, bool(r.event_id)) for r in requests] == [("OPT_OUT", "done", True), ("PAUSE", "done", True)]
    states = _states(store)
    assert (states[opts_out][0], states[pauses][0]) == ("opted_out", "paused")
    with store.connect() as conn:
        until = conn.execute(sa.select(enrolments.c.paused_until).join(employees, employees.c.id == enrolments.c.employee_id)
                             .where(employees.c.tckn == pauses)).scalar_one()  # fmt: skip
    assert until == date(2027, 1, 10)  # the two months asked for, not the law's longest pause
    assert {t: p["state"] for t, p in _held(sim).items()} == {opts_out: "OPTED_OUT", pauses: "PAUSED", stays: "ACTIVE"}
    from oks.orchestration.operations_view import people_page

    page = people_page(store)
    assert "OPT_OUT" in page and "PAUSE (2 mo.)" in page and page.count(">done<") == 2 and opts_out not in page
    assert len(client_events := gateway.read_events(CONTRACT).events) == 2 and {e.type for e in client_events} == {"OPTED_OUT", "PAUSED"}


def test_an_opt_out_that_reaches_back_over_a_deduction_becomes_a_refund_owed_escalated_until_paid(store, gateway, sim, tmp_path):
    from datetime import datetime

    from oks.pipeline.deadline_watch import watch_deadlines
    from oks.pipeline.report import publish_report
    from oks.privacy import mask_tckn
    from oks.rules.calendar import ISTANBUL, refund_deadline
    from oks.store.refunds import confirm_refund, open_refunds
    from oks.store.schema import alerts

    people = [person(n) for n in range(31, 33)]
    opts_out = people[0]["tckn"]
    sim.load_register(register_file(tmp_path, people))
    _month(store, gateway, tmp_path, people, OCT, "oct")  # both deducted and paid for October (wages of 30 October)
    # The insurer reports the opt-out late: effective 15 October, before the October wage.
    sim.event(CONTRACT, "OPTED_OUT", opts_out, effective_on="2026-10-15", notified_on="2026-11-05")
    run_id, _, _, _ = _month(store, gateway, tmp_path, people, NOV, "nov")
    with store.connect() as conn:
        (refund,) = open_refunds(conn)
        nov = dict(conn.execute(sa.select(employees.c.tckn, contributions.c.outcome).join(employees, employees.c.id == contributions.c.employee_id)
                                .where(contributions.c.run_id == run_id)).all())  # fmt: skip
    assert nov[opts_out] == "inactive"  # no November deduction
    assert (refund.tckn, refund.period, refund.amount, refund.wage_paid_on, refund.opted_out_on) == (
        opts_out, "2026-10", Decimal("1350"), date(2026, 10, 30), date(2026, 10, 15))  # 3% of 45,031.00, kuruş dropped
    assert refund.due_on == refund_deadline(refund.opted_out_on).due_on and refund.state == "due"  # counted from the stop

    page = publish_report(store, run_id, out_dir=tmp_path / "report")
    html = (tmp_path / "report" / "report.html").read_text(encoding="utf-8")
    assert page["refunds_owed"] == 1 and "Refunds owed to employees (1, 1,350.00 TL)" in html
    assert mask_tckn(opts_out) in html and opts_out not in html

    got = []
    due_morning = datetime.combine(refund.due_on, datetime.min.time(), tzinfo=ISTANBUL).replace(hour=9, minute=30)
    watch_deadlines(store, now=due_morning, senders={"email": got.append})
    (alert,) = [a for a in got if a.refund_id == refund.id]
    assert alert.subject.startswith(f"[OKS PAGE] refund #{refund.id} 2026-10: Due TODAY") and opts_out not in alert.body
    from oks.orchestration.operations_view import people_page

    before = people_page(store, now=due_morning.replace(hour=18))  # after the bank's close on the due day: overdue
    assert f"#{refund.id}" in before and "1,350.00" in before and "OVERDUE" in before
    assert mask_tckn(opts_out) in before and opts_out not in before
    with store.begin() as conn:
        assert confirm_refund(conn, refund.id, by="ops", bank_reference="EFT-9") is True
        assert confirm_refund(conn, refund.id, by="ops") is False
        assert conn.execute(sa.select(sa.func.count()).select_from(alerts).where(alerts.c.refund_id == refund.id)).scalar_one() == 1
    got.clear()
    after = watch_deadlines(store, now=due_morning, senders={"email": got.append})
    assert after["refunds_open"] == 0 and not [a for a in got if a.refund_id]


def test_people_who_ended_their_plan_while_employed_are_enrolled_again_on_notice_or_after_the_interval(store, gateway, sim, tmp_path):
    from oks.store.notices import import_notices

    people = [person(n) for n in range(41, 44)]
    on_notice, by_interval, rehired = (p["tckn"] for p in people)
    sim.load_register(register_file(tmp_path, people))
    _month(store, gateway, tmp_path, people, OCT, "oct")
    first_policies = {t: p["policy_no"] for t, p in _held(sim).items()}
    sim.event(CONTRACT, "OPTED_OUT", on_notice, effective_on="2026-11-02", notified_on="2026-11-03")
    sim.event(CONTRACT, "LEFT", by_interval, effective_on="2026-11-02", notified_on="2026-11-03")
    leaver = {**people[2], "exit_date": date(2026, 11, 10), "sgk_days": 10}
    _month(store, gateway, tmp_path, [people[0], people[1], leaver], NOV, "nov")
    states = _states(store)
    assert [states[t][0] for t in (on_notice, by_interval, rehired)] == ["opted_out", "left", "left"]

    # EGM's notice names the first; the third comes back to work with a new hire date; the second waits for the interval.
    with store.begin() as conn:
        imported = import_notices(conn, [(1, on_notice, CONTRACT, date(2026, 12, 1)), (2, rehired, CONTRACT, date(2026, 12, 1)),
                                         (3, people[1]["tckn"], "NO-SUCH", date(2026, 12, 1))], source="EGM", by="ops")  # fmt: skip
    assert (imported.imported, [row for row, _ in imported.refused]) == (2, [3])
    back = {**people[2], "hire_date": date(2026, 12, 1), "exit_date": None}
    run_id, listed, answered, _ = _month(store, gateway, tmp_path, [people[0], people[1], back], DEC, "dec")
    with store.connect() as conn:
        reasons = dict(conn.execute(sa.select(employees.c.tckn, contributions.c.reason).join(employees, employees.c.id == contributions.c.employee_id)
                                    .where(contributions.c.run_id == run_id)).all())  # fmt: skip
    assert (reasons[on_notice], reasons[by_interval], reasons[rehired]) == ("reenrolled_on_notice", "left", "rehired")
    assert (listed.get("enrol"), answered.get("enrolled")) == (2, 2)
    held = _held(sim)
    assert {t: held[t]["state"] for t in (on_notice, by_interval, rehired)} == {on_notice: "ACTIVE", by_interval: "LEFT", rehired: "ACTIVE"}
    assert held[on_notice]["policy_no"] != first_policies[on_notice]  # a new policy
    assert [_states(store)[t][0] for t in (on_notice, by_interval, rehired)] == ["enrolled", "left", "enrolled"]

    # The interval (one year here, as OKS_REENROLMENT_YEARS may set it) brings the second back, once.
    dec_2027 = ("2027-12", date(2027, 12, 31))
    rows = [{**r, "period": dec_2027[0], "wage_paid_on": dec_2027[1]} for r in (people[0], people[1], back)]
    with time_machine.travel(datetime(2027, 12, 31, 10, tzinfo=ISTANBUL), tick=True):
        run_id = run_month(store, tmp_path, rows, [contract()], run_key="dec27", period=dec_2027[0])
        sync_insurer_status(store, gateway)
        assess = assess_eligibility(store, run_id, reenrolment_years=1)
    assert assess["by_reason"].get("contributed:reenrolled_after_interval") == 1


def test_a_joiner_who_left_and_whose_enrolment_the_insurer_refused_is_one_rejection_not_two(store, gateway, sim, tmp_path, caplog):
    people = [person(1), person(2, hire_date=date(2026, 10, 5), exit_date=date(2026, 10, 20))]
    sim.load_register(register_file(tmp_path, people, mismatch={"P00002"}))

    with caplog.at_level("WARNING", logger="oks.pipeline.submission"):
        _, listed, answered, _ = _month(store, gateway, tmp_path, people, OCT, "oct")

    assert (listed.get("enrol"), listed.get("exit")) == (2, 1)
    assert (answered.get("enrolled"), answered.get("rejected"), answered.get("exit_of_refused_enrol")) == (1, 1, 1)
    assert "exit_refused" not in answered
    assert not [r for r in caplog.records if "refused the EXIT" in r.getMessage()]
    assert _states(store)[people[1]["tckn"]][:2] == ("rejected", "IDENTITY_MISMATCH")
