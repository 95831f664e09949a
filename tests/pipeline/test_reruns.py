"""A re-run changes nothing that was right: the same month run a second and a third time — plainly, or
after the first attempt was killed (SIGKILL) at each DES effect — leaves the store, DES and the
obligations equal in money, proposes no correction and ends reconciled; on SQLite and PostgreSQL.

The month (November, after an October that enrolled everyone) has what makes re-runs hard: two
contracts, joiners (one who left within the month), leavers within the month (their last month is
paid, then they are exited), a changed IBAN (an UPDATE), a bonus (a SUPPLEMENTARY payment), an opt-out
asked at the employer before the wage, a pause asked on the wage day itself (no deduction from that
wage), a refund owed for an October deduction the insurer's late opt-out reaches back over — and, between
the second and the third run, the insurer's news of an opt-out effective after the wage, which changes
nothing for November.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import ROUND_DOWN, Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
import time_machine
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import make_url

from oks.rules.calendar import ISTANBUL
from oks.store.refunds import open_refunds
from oks.store.requests import record_request
from oks.store.schema import des_requests, employees, enrolments
from tests.payroll_files import contract, person, write_contracts_csv, write_csv
from tests.pipeline.des_steps import register_file
from tests.pipeline.whole_month import (
    KILL_POINTS,
    MonthFiles,
    gateway_for,
    money,
    outbox_sender,
    run_in_child,
    run_period,
    unsent_instructions,
)

A, B = "AG-2026-001", "FB-2026-001"
OCT_WAGE, NOV_WAGE = date(2026, 10, 30), date(2026, 11, 30)
D = Decimal


def _on(day: date, minutes: int = 0):
    """The process's clock — and the in-process simulator's — at 10:00 Istanbul on ``day`` plus ``minutes``."""
    return time_machine.travel(datetime.combine(day, time(10), tzinfo=ISTANBUL) + timedelta(minutes=minutes), tick=True)


def _at(day: date, minutes: int = 0) -> datetime:
    return datetime.combine(day, time(10), tzinfo=ISTANBUL) + timedelta(minutes=minutes)


STAFF = {n: person(n, contract_no=A if n <= 6 else B) for n in range(1, 10)}
JOINER = person(10, contract_no=A, hire_date=date(2026, 11, 3))
JOINED_AND_LEFT = person(11, contract_no=A, hire_date=date(2026, 11, 3), exit_date=date(2026, 11, 20), pek=D("30000.00"), sgk_days=18)
JOINER_B = person(12, contract_no=B, hire_date=date(2026, 11, 10), pek=D("28000.00"), sgk_days=21)
EVERYONE = [*STAFF.values(), JOINER, JOINED_AND_LEFT, JOINER_B]


def _november() -> list[dict]:
    rows = {n: {**r, "period": "2026-11", "wage_paid_on": NOV_WAGE} for n, r in STAFF.items()}
    rows[1]["iban"] = "TR330006100519786457841326"  # changed in payroll: an UPDATE
    rows[6] = {**rows[6], "exit_date": date(2026, 11, 14), "pek": D("21000.00"), "sgk_days": 14}  # leaves: last month paid
    rows[7] = {**rows[7], "exit_date": date(2026, 11, 25), "pek": D("37500.00"), "sgk_days": 25}
    bonus = {**rows[2], "payment_kind": "supplementary", "pek": D("10000.00")}
    joiners = [{**r, "period": "2026-11", "wage_paid_on": NOV_WAGE} for r in (JOINER, JOINED_AND_LEFT, JOINER_B)]
    return [*rows.values(), bonus, *joiners]


def _expected(rows: list[dict]) -> dict[tuple[str, str, str], tuple[str, Decimal]]:
    """What November must be, person by person, by the rules: 3% of PEK, kuruş dropped — except person 3,
    who opted out at the insurer in October, person 4, who asked the employer to opt out before the wage,
    and person 5, whose pause asked on the wage day stops that wage's deduction."""
    inactive = {STAFF[3]["tckn"], STAFF[4]["tckn"], STAFF[5]["tckn"]}
    expected = {}
    for r in rows:
        key = (r["tckn"], r["contract_no"], r["payment_kind"])
        if r["tckn"] in inactive:
            expected[key] = ("inactive", D("0.00"))
        else:
            expected[key] = ("contributed", (r["pek"] * D("0.03")).quantize(D("1"), rounding=ROUND_DOWN).quantize(D("0.01")))
    return expected


def _november_of(result: dict) -> dict:
    return {(t, c, k): (o, a) for t, c, p, k, o, a in result["per_person"] if p == "2026-11"}


@pytest.fixture
def month_files(tmp_path):
    contracts = write_contracts_csv(tmp_path / "contracts.csv", [contract(), contract(contract_no=B, insurer="FIBA")])
    october = [{**r, "period": "2026-10", "wage_paid_on": OCT_WAGE} for r in STAFF.values()]
    return {
        "2026-10": MonthFiles(write_csv(tmp_path / "october.csv", october), contracts, "2026-10"),
        "2026-11": MonthFiles(write_csv(tmp_path / "november.csv", _november()), contracts, "2026-11"),
    }


@pytest.fixture
def ready_for_november(store, sim, tmp_path, month_files):
    """October run, then what happened before November's run: a late opt-out at the insurer reaching back
    over October's deduction, and two requests made at the employer."""
    sim.load_register(register_file(tmp_path, EVERYONE))
    outbox = tmp_path / "outbox.jsonl"
    with _on(OCT_WAGE), gateway_for(store, sim.url) as gateway:
        run_period(store, gateway, month_files["2026-10"], senders={"outbox": outbox_sender(outbox)}, work_dir=tmp_path)
    sim.event(A, "OPTED_OUT", STAFF[3]["tckn"], effective_on="2026-10-20", notified_on="2026-11-02")
    with _on(date(2026, 11, 10)), store.begin() as conn:
        record_request(conn, contract_no=A, tckn=STAFF[4]["tckn"], kind="OPT_OUT", requested_on=date(2026, 11, 10), months=None, by="ops")
    with _on(NOV_WAGE, -60), store.begin() as conn:
        record_request(conn, contract_no=A, tckn=STAFF[5]["tckn"], kind="PAUSE", requested_on=NOV_WAGE, months=2, by="ops")
    return outbox


def _late_news(sim) -> None:
    """The insurer reports person 8's opt-out, effective two days after November's wage."""
    sim.event(B, "OPTED_OUT", STAFF[8]["tckn"], effective_on="2026-12-02", notified_on="2026-12-02")


def _late_news_applied(store) -> None:
    with store.connect() as conn:
        state = conn.execute(sa.select(enrolments.c.state).join(employees, employees.c.id == enrolments.c.employee_id)
                             .where(employees.c.tckn == STAFF[8]["tckn"])).scalar_one()  # fmt: skip
    assert state == "opted_out"  # known to the store, and November's money the same


def _november_again(store, sim, tmp_path, month_files, outbox, minutes: int, day: date = NOV_WAGE) -> dict:
    with _on(day, minutes), gateway_for(store, sim.url) as gateway:
        run_period(store, gateway, month_files["2026-11"], senders={"outbox": outbox_sender(outbox)}, work_dir=tmp_path)
    return money(store, sim)


def _settled(result: dict) -> None:
    """What every run of November must end with, whatever happened to the attempts before it."""
    assert _november_of(result) == _expected(_november())
    assert result["corrections"] == 0
    assert result["runs"] == [("2026-10", "reconciled"), ("2026-11", "reconciled")]
    november = [p for p in result["des_payments"] if p[1] == "2026-11"]
    # One payment per contract and kind on DES, equal to the contributions and the obligations.
    paid = {(c, kind.lower()): accepted for c, _p, kind, state, _t, accepted, _n in november if state == "TRANSFERRED"}
    assert len(november) == len(paid) == 3
    contributed = {(c, k): total for (c, p, k), total in result["per_contract_and_kind"] if p == "2026-11"}
    obliged = {(c, k): amount for c, p, k, _day, amount, *_ in result["obligations"] if p == "2026-11"}
    assert paid == contributed == obliged
    # The refund owed for October's deduction after the insurer's late opt-out: once.
    assert [(r[0], r[2]) for r in result["refunds"]] == [("2026-10", D("1350.00"))]


def test_a_month_run_three_times_leaves_the_same_money_proposes_nothing_and_reconciles(store, sim, tmp_path, month_files,
                                                                                       ready_for_november):  # fmt: skip
    first = _november_again(store, sim, tmp_path, month_files, ready_for_november, 0)
    second = _november_again(store, sim, tmp_path, month_files, ready_for_november, 10)
    _late_news(sim)
    third = _november_again(store, sim, tmp_path, month_files, ready_for_november, 0, day=date(2026, 12, 3))
    _settled(first)
    assert second == first and third == first  # byte for byte, in money
    _late_news_applied(store)
    assert unsent_instructions(store) == []
    with store.connect() as conn:
        (refund,) = open_refunds(conn)
    assert refund.tckn == STAFF[3]["tckn"]


def _attempt_effect(store, sim, point: str) -> None:
    """The first attempt really died at its point: DES holds what the ledger never heard back about, or
    the store holds part of what the month records."""
    with store.connect() as conn:
        ledger = conn.execute(sa.select(des_requests.c.kind, des_requests.c.period, des_requests.c.state, des_requests.c.des_id)
                              .where(des_requests.c.period == "2026-11")).all()  # fmt: skip
    if point == "personnel_created":
        assert any(k == "personnel_list" and s == "recorded" and i is None for k, _p, s, i in ledger)
        assert any(lst["period"] == "2026-11" for lst in sim.state()["personnel_lists"])
    elif point == "payment_created":
        assert any(k == "payment" and s == "recorded" and i is None for k, _p, s, i in ledger)
        assert any(p["period"] == "2026-11" for p in sim.state()["payments"])
    elif point == "obligations_partial":
        owed = money(store, sim)["obligations"]
        assert 0 < len([o for o in owed if o[1] == "2026-11"]) < 3
    else:
        assert unsent_instructions(store)


@pytest.mark.parametrize("point", KILL_POINTS)
def test_a_month_killed_at_a_des_effect_then_run_again_ends_as_if_never_killed(store, sim, tmp_path, month_files, ready_for_november,
                                                                                point):  # fmt: skip
    with _on(NOV_WAGE):
        code = run_in_child(store_url=store.url.render_as_string(hide_password=False), sim_url=sim.url, month=month_files["2026-11"],
                            work_dir=tmp_path, outbox=ready_for_november, at=_at(NOV_WAGE), kill_at=point)  # fmt: skip
    assert code == -9
    _attempt_effect(store, sim, point)
    # Re-run ten minutes later (an instruction claimed by the dead attempt is past its lease by then), and again
    # once the insurer has reported an opt-out effective after the wage.
    second = _november_again(store, sim, tmp_path, month_files, ready_for_november, 10)
    _late_news(sim)
    third = _november_again(store, sim, tmp_path, month_files, ready_for_november, 0, day=date(2026, 12, 3))
    _settled(second)
    assert third == second
    _late_news_applied(store)
    assert unsent_instructions(store) == []



# --- the law: run(period) ; run(period) ≡ run(period), for the money, over generated months -------------------------

_DAYS = st.integers(min_value=-30, max_value=10).map(lambda offset: NOV_WAGE + timedelta(days=offset))


@st.composite
def _generated_month(draw) -> dict:
    """October's staff and November's payroll around them: joiners, leavers, changes, bonuses; requests at the
    employer and the insurer's own stops, dated before, on or after November's wage."""
    staff, november, requests, stops = [], [], [], []
    for n in range(1, draw(st.integers(min_value=2, max_value=7)) + 1):
        contract_no = draw(st.sampled_from([A, B]))
        pek = draw(st.decimals(min_value=D("20000.00"), max_value=D("150000.00"), places=2))
        kind = draw(st.sampled_from(["staying", "staying", "leaver", "joiner", "joined_and_left"]))
        row = person(n, contract_no=contract_no, pek=pek)
        if kind in ("joiner", "joined_and_left"):
            row = {**row, "hire_date": date(2026, 11, draw(st.integers(min_value=1, max_value=14)))}
        else:
            staff.append(row)
        nov = {**row, "period": "2026-11", "wage_paid_on": NOV_WAGE}
        if kind in ("leaver", "joined_and_left"):
            nov = {**nov, "exit_date": date(2026, 11, draw(st.integers(min_value=15, max_value=30)))}
        if kind == "staying" and draw(st.booleans()):
            nov["mobile"] = f"+90533{n:07d}"  # an UPDATE
        november.append(nov)
        if draw(st.booleans()):
            november.append({**nov, "payment_kind": "supplementary", "pek": draw(st.decimals(min_value=D("1000.00"), max_value=D("20000.00"),
                                                                                               places=2))})  # fmt: skip
        if kind != "joiner" and kind != "joined_and_left":
            stop = draw(st.sampled_from([None, None, "OPT_OUT", "PAUSE", "OPTED_OUT", "PAUSED"]))
            if stop in ("OPT_OUT", "PAUSE"):
                requests.append((row, stop, draw(_DAYS), 2 if stop == "PAUSE" else None))
            elif stop:
                stops.append((row, stop, draw(_DAYS)))
    return {"staff": staff, "november": november, "requests": requests, "stops": stops}


def _fresh_store(kind: str, tmp: Path, postgres_url: str | None):
    from oks.store import open_store

    if kind == "sqlite":
        return open_store(f"sqlite:///{tmp / 'store.sqlite'}")
    schema = f"law_{tmp.name[-10:].replace('-', '_')}"
    admin = sa.create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    admin.dispose()
    return open_store(make_url(postgres_url).update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(hide_password=False))


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(generated=_generated_month())
def test_law_running_a_month_again_changes_no_money(sim, tmp_path_factory, request, kind, generated):
    postgres_url = request.getfixturevalue("postgres_url") if kind == "postgresql" else None
    tmp = tmp_path_factory.mktemp("law")
    sim.reset()
    sim.settings(insurer_delay=0.05, transfer_delay=0.05)
    store = _fresh_store(kind, tmp, postgres_url)
    try:
        sim.load_register(register_file(tmp, [*generated["staff"], *generated["november"]]))
        contracts = write_contracts_csv(tmp / "contracts.csv", [contract(), contract(contract_no=B, insurer="FIBA")])
        october = MonthFiles(write_csv(tmp / "october.csv", [{**r, "period": "2026-10", "wage_paid_on": OCT_WAGE} for r in generated["staff"]]),
                             contracts, "2026-10")  # fmt: skip
        november = MonthFiles(write_csv(tmp / "november.csv", generated["november"]), contracts, "2026-11")
        senders = {"outbox": outbox_sender(tmp / "outbox.jsonl")}
        with _on(OCT_WAGE), gateway_for(store, sim.url) as gateway:
            if generated["staff"]:
                run_period(store, gateway, october, senders=senders, work_dir=tmp, validate=False)
        for row, kind_, on, months in generated["requests"]:
            with _on(min(on, NOV_WAGE - timedelta(days=1))), store.begin() as conn:
                record_request(conn, contract_no=row["contract_no"], tckn=row["tckn"], kind=kind_, requested_on=on, months=months, by="ops")
        for row, type_, on in generated["stops"]:
            sim.event(row["contract_no"], type_, row["tckn"], effective_on=on.isoformat(), notified_on=min(on, NOV_WAGE).isoformat())
        results = []
        for minutes in (0, 10):
            with _on(NOV_WAGE, minutes), gateway_for(store, sim.url) as gateway:
                run_period(store, gateway, november, senders=senders, work_dir=tmp, validate=False)
            results.append(money(store, sim))
        first, second = results
        assert second == first
        assert first["corrections"] == 0 and first["runs"][-1] == ("2026-11", "reconciled")
    finally:
        store.dispose()


def test_a_month_stopped_by_a_des_outage_past_the_retry_budget_then_run_again_pays_everyone_once(store, sim, tmp_path, month_files,
                                                                                                 ready_for_november):  # fmt: skip
    from oks.des.errors import DesUnavailable

    sim.faults(error_rate=1.0, path_contains="/payments")  # the lists go through; every payment call fails
    with _on(NOV_WAGE), gateway_for(store, sim.url) as gateway, pytest.raises(DesUnavailable):
        run_period(store, gateway, month_files["2026-11"], senders={"outbox": outbox_sender(ready_for_november)}, work_dir=tmp_path)
    sim.clear_faults()
    assert not [p for p in sim.state()["payments"] if p["period"] == "2026-11"]
    second = _november_again(store, sim, tmp_path, month_files, ready_for_november, 10)
    third = _november_again(store, sim, tmp_path, month_files, ready_for_november, 20)
    _settled(second)  # the leavers' last month among it, though their EXIT went out on the first attempt
    assert third == second
