"""The whole employment lifecycle over six consecutive months of a generated payroll, every pipeline
step against the simulator, each month on its own wage day (docs/rules.md §6):

July: everyone eligible is enrolled — among them someone who opted out in 2023, re-enrolled now that the
interval has passed. August: an IBAN changes; a leaver's last month is paid and they are exited. After
it, the insurer reports an opt-out inside the window that reaches back over August's deduction.
September: a mobile changes; a new hire; the late opt-out becomes a refund owed; a pause asked at the
employer is forwarded. October: an opt-out asked at the employer after the window is forwarded; two
more hires. November: an opt-out at the insurer after its window (no refund); the September hire
leaves; the pause has ended by itself. December: a quiet month.

At the end, the insurer's view of every policy equals the store's, person by person.
"""

from __future__ import annotations

import calendar
from datetime import date

import sqlalchemy as sa

from oks.payroll.synthetic import generate
from oks.store.refunds import open_refunds
from oks.store.requests import record_request
from oks.store.schema import contributions, employees, employer_requests
from tests.payroll.synthetic_reading import read_contracts, read_payroll
from tests.payroll_files import person
from tests.pipeline.lifecycle_months import held, insurer_view, on, store_states, store_view, through_des


def _last_day(period: str) -> date:
    year, month = int(period[:4]), int(period[5:])
    return date(year, month, calendar.monthrange(year, month)[1])


def _reasons(store, run_id: int) -> dict[str, str]:
    with store.connect() as conn:
        return dict(conn.execute(sa.select(employees.c.tckn, contributions.c.reason)
                                 .join(employees, employees.c.id == contributions.c.employee_id)
                                 .where(contributions.c.run_id == run_id, contributions.c.payment_kind == "regular")).all())  # fmt: skip


def test_six_months_of_the_employment_lifecycle_end_with_the_insurer_holding_what_the_store_holds(store, gateway, sim, tmp_path):
    manifest = generate(tmp_path / "generated", employers=1, employees=40, period="2026-07", seed=21, fmt="csv", defect_share=0,
                        identity_mismatch_share=0)  # fmt: skip
    # The contracts run since 2019: the returning person's 2023 months are under them too.
    contract_rows = [{**c, "starts_on": min(c["starts_on"], date(2019, 1, 1))} for c in read_contracts(manifest.out_dir)]
    generated = [r for r in read_payroll(manifest.out_dir)]
    first = generated[0]
    # Someone who opted out in 2023 and is still on payroll: re-enrolled once the interval (3 years) has passed.
    returning = person(900, employer_vkn=first["employer_vkn"], employer_name=first["employer_name"], contract_no=first["contract_no"],
                       employer_headcount=first["employer_headcount"], hire_date=date(2020, 3, 1))  # fmt: skip
    hires = {n: person(n, employer_vkn=first["employer_vkn"], employer_name=first["employer_name"], contract_no=first["contract_no"],
                       employer_headcount=first["employer_headcount"]) for n in (901, 902, 903)}  # fmt: skip
    register = tmp_path / "register.csv"
    register.write_text(manifest.identity_register.read_text(encoding="utf-8") + "".join(
        f"{p['tckn']},{p['first_name']},{p['last_name']},{p['birth_date'].isoformat()}\n" for p in (returning, *hires.values())),
        encoding="utf-8")  # fmt: skip
    sim.load_register(register)

    def month(period: str, rows: list[dict], key: str):
        return through_des(store, gateway, tmp_path, rows, contract_rows, period=period, wage_day=_last_day(period), run_key=key)

    # 2023: the returning person is enrolled, then opts out within the window.
    month("2023-04", [returning], "2023-04")
    sim.event(returning["contract_no"], "OPTED_OUT", returning["tckn"], effective_on="2023-05-10", notified_on="2023-05-11")
    month("2023-05", [returning], "2023-05")
    assert store_states(store)[returning["tckn"]][0] == "opted_out"
    old_policy = held(sim)[returning["tckn"]]["policy_no"]

    # July 2026: the generated payroll (its joiners and leavers of the month among it) and the returning person.
    july = month("2026-07", [*generated, returning], "2026-07")
    assert _reasons(store, july.run_id)[returning["tckn"]] == "reenrolled_after_interval"
    assert held(sim)[returning["tckn"]]["policy_no"] != old_policy  # enrolled again: a new policy
    states = store_states(store)
    regular = [r for r in generated if r["payment_kind"] == "regular" and not r["exit_date"]]  # still employed after July
    staying = [r for r in regular if states.get(r["tckn"], ("",))[0] == "enrolled"]
    a, b, c, e, f, g, h = staying[:7]
    base = {r["tckn"]: dict(r) for r in regular}
    base[returning["tckn"]] = returning

    # August: A's IBAN changes; C leaves on the 14th (paid for August, then exited).
    base[a["tckn"]]["iban"] = "TR330006100519786457841326"
    aug_rows = [*base.values()]
    aug_rows[list(base).index(c["tckn"])] = {**base[c["tckn"]], "exit_date": date(2026, 8, 14)}
    august = month("2026-08", aug_rows, "2026-08")
    assert _reasons(store, august.run_id)[c["tckn"]].startswith("enrolment_")  # C's last month: paid
    del base[c["tckn"]]
    # The insurer reports E's opt-out late: effective 5 August, before August's wage — inside E's window.
    sim.event(e["contract_no"], "OPTED_OUT", e["tckn"], effective_on="2026-08-05", notified_on="2026-09-02")
    with on(date(2026, 9, 3)), store.begin() as conn:  # G asks the employer for a two-month pause
        record_request(conn, contract_no=g["contract_no"], tckn=g["tckn"], kind="PAUSE", requested_on=date(2026, 9, 3), months=2, by="ops")

    # September: B's mobile changes; a new hire.
    base[b["tckn"]]["mobile"] = "+905551234567"
    base[hires[901]["tckn"]] = {**hires[901], "hire_date": date(2026, 9, 1)}
    september = month("2026-09", [*base.values()], "2026-09")
    reasons = _reasons(store, september.run_id)
    # G's pause: forwarded this month; deducted nothing whether the insurer has decided it yet or not.
    assert reasons[e["tckn"]] == "opted_out" and reasons[g["tckn"]] in ("pause_requested", "paused")
    with store.connect() as conn:
        (refund,) = open_refunds(conn)
    assert (refund.tckn, refund.period) == (e["tckn"], "2026-08")  # August's deduction goes back to E
    with on(date(2026, 10, 5)), store.begin() as conn:  # H asks the employer to opt out — after H's window
        record_request(conn, contract_no=h["contract_no"], tckn=h["tckn"], kind="OPT_OUT", requested_on=date(2026, 10, 5), months=None, by="ops")

    # October: two more hires.
    for n in (902, 903):
        base[hires[n]["tckn"]] = {**hires[n], "hire_date": date(2026, 10, 1)}
    october = month("2026-10", [*base.values()], "2026-10")
    reasons = _reasons(store, october.run_id)
    # H's opt-out: forwarded this month, so no deduction — decided by the insurer now or at the next sync.
    assert reasons[g["tckn"]] == "paused" and reasons[h["tckn"]] in ("opt_out_requested", "left")

    # November: F opts out at the insurer after the window; the September hire leaves on the 20th.
    sim.event(f["contract_no"], "OPTED_OUT", f["tckn"], effective_on="2026-11-10", notified_on="2026-11-12")
    nov_rows = [{**r, "exit_date": date(2026, 11, 20)} if r["tckn"] == hires[901]["tckn"] else r for r in base.values()]
    november = month("2026-11", nov_rows, "2026-11")
    reasons = _reasons(store, november.run_id)
    assert reasons[f["tckn"]] == "left" and reasons[g["tckn"]] in ("pause_ended", "enrolment_enrolled")
    del base[hires[901]["tckn"]]

    december = month("2026-12", [*base.values()], "2026-12")
    assert not december.listed or all(not listed["list_id"] for listed in december.listed.values())  # nothing changed

    final = store_states(store)
    assert final[c["tckn"]] == ("left", "left_employment", date(2026, 8, 14))
    assert final[hires[901]["tckn"]] == ("left", "left_employment", date(2026, 11, 20))
    assert final[e["tckn"]][0] == "opted_out" and final[f["tckn"]][:2] == ("left", "opt_out_after_window")
    assert final[h["tckn"]][:2] == ("left", "opt_out_after_window") and final[g["tckn"]][0] == "enrolled"  # the pause ended
    with store.connect() as conn:
        assert [r.tckn for r in open_refunds(conn)] == [e["tckn"]]  # F's and H's late opt-outs owe nothing back
        forwarded = conn.execute(sa.select(employer_requests.c.kind, employer_requests.c.state)).all()
    assert sorted(forwarded) == [("OPT_OUT", "done"), ("PAUSE", "done")]
    insurer = held(sim)
    assert (insurer[a["tckn"]]["iban"], insurer[b["tckn"]]["mobile"]) == ("TR330006100519786457841326", "+905551234567")

    # The insurer's view of every policy is the store's, person by person.
    assert insurer_view(sim) == store_view(store)
