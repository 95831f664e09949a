"""Enrolment events in the store: idempotent replays, refusals that change nothing, refunds owed."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
import sqlalchemy as sa

from oks.rules.lifecycle import IllegalTransition
from oks.store.enrolments import apply_event, ensure_enrolment, refunds_owed
from oks.store.schema import (
    contracts,
    contributions,
    employees,
    employers,
    enrolment_events,
    enrolments,
    payroll_lines,
    runs,
)
from tests.rules.lifecycle_cases import ARGS, LEGAL


@pytest.fixture
def store(store):
    """The store with one employer, one contract and three employees."""
    engine = store
    with engine.begin() as conn:
        employer = conn.execute(sa.insert(employers).values(vkn="1234567890", name="Örnek A.Ş.").returning(employers.c.id)).scalar_one()
        conn.execute(
            sa.insert(contracts).values(
                contract_no="AG-1", employer_id=employer, insurer="AGESA", starts_on=date(2019, 1, 1),
                collection_iban="TR330006100519786457841326",
            )
        )  # fmt: skip
        conn.execute(
            sa.insert(employees),
            [{"employer_id": employer, "payroll_id": f"P{i}", "tckn": f"1000000{i:04d}", "first_name": "A", "last_name": "B"} for i in range(3)],
        )
    return engine


def new_enrolment(conn, employee=1):
    contract_id = conn.execute(sa.select(contracts.c.id)).scalar_one()
    employee_id = conn.execute(sa.select(employees.c.id).order_by(employees.c.id).offset(employee - 1).limit(1)).scalar_one()
    return ensure_enrolment(conn, employee_id=employee_id, contract_id=contract_id)


def force_state(conn, enrolment_id, state):
    conn.execute(sa.update(enrolments).where(enrolments.c.id == enrolment_id).values(state=state))


def state_of(conn, enrolment_id):
    return conn.execute(sa.select(enrolments).where(enrolments.c.id == enrolment_id)).one()


@pytest.mark.parametrize(("state", "event"), sorted(LEGAL))
def test_each_legal_event_applies_once_and_replays_as_a_no_op(store, state, event):
    with store.begin() as conn:
        enrolment = new_enrolment(conn)
        force_state(conn, enrolment, state)
        first = apply_event(conn, enrolment, event, source="insurer", event_key="des:1", **ARGS)
        again = apply_event(conn, enrolment, event, source="insurer", event_key="des:1", **ARGS)
        row = state_of(conn, enrolment)
        recorded = conn.execute(sa.select(sa.func.count()).select_from(enrolment_events)).scalar_one()
    assert (first.changed, again.changed) == (True, False)
    assert row.state == LEGAL[(state, event)] == again.to_state
    assert recorded == 1


def test_an_illegal_event_is_refused_and_changes_nothing(store):
    with store.begin() as conn:
        enrolment = new_enrolment(conn)
        with pytest.raises(IllegalTransition, match=rf"enrolment {enrolment}: cannot RESUME an enrolment that is pending"):
            apply_event(conn, enrolment, "RESUME", source="insurer", event_key="des:9", effective_on=date(2026, 10, 1))
        assert state_of(conn, enrolment).state == "pending"
        assert conn.execute(sa.select(sa.func.count()).select_from(enrolment_events)).scalar_one() == 0


def test_full_life_with_dates(store):
    with store.begin() as conn:
        e = new_enrolment(conn)
        step = lambda kind, key, **kw: apply_event(conn, e, kind, source=kw.pop("source", "payroll"), event_key=key, **kw)  # noqa: E731
        step("SUBMIT", "run:1:submit", effective_on=date(2026, 10, 31))
        step("ENROL", "des:list:7:p1", source="insurer", effective_on=date(2026, 11, 2), policy_no="AGS-000123")
        step("NOTIFY", "des:ev:1", source="insurer", effective_on=date(2026, 11, 3))
        row = state_of(conn, e)
        assert (row.state, row.policy_no, row.opt_out_window_ends_on) == ("enrolled", "AGS-000123", date(2027, 1, 3))
        step("PAUSE", "op:1", source="operator", effective_on=date(2026, 12, 1), paused_until=date(2027, 2, 28))
        assert state_of(conn, e).paused_until == date(2027, 2, 28)
        step("RESUME", "des:ev:2", source="insurer", effective_on=date(2027, 1, 10))
        step("OPT_OUT", "des:ev:3", source="insurer", effective_on=date(2027, 1, 20))
        row = state_of(conn, e)
        assert (row.state, row.opted_out_on, row.reason) == ("left", None, "opt_out_after_window")
        step("RE_ENROL", "egm:2027-06", source="operator", effective_on=date(2027, 6, 1))
        row = state_of(conn, e)
        assert (row.state, row.policy_no, row.left_on) == ("pending", None, None)
        kinds = conn.execute(sa.select(enrolment_events.c.kind).order_by(enrolment_events.c.id)).scalars().all()
    assert kinds == ["SUBMIT", "ENROL", "NOTIFY", "PAUSE", "RESUME", "OPT_OUT", "RE_ENROL"]


def test_ensure_enrolment_is_idempotent(store):
    with store.begin() as conn:
        assert new_enrolment(conn) == new_enrolment(conn)
        assert conn.execute(sa.select(sa.func.count()).select_from(enrolments)).scalar_one() == 1


def test_deductions_after_an_effective_opt_out_are_owed_back(store):
    with store.begin() as conn:
        e = new_enrolment(conn)
        force_state(conn, e, "enrolled")
        conn.execute(sa.update(enrolments).values(opt_out_window_ends_on=date(2026, 12, 31)))
        apply_event(conn, e, "OPT_OUT", source="insurer", event_key="des:5", effective_on=date(2026, 11, 15))
        run_id = conn.execute(sa.insert(runs).values(run_key="r", period="2026-11").returning(runs.c.id)).scalar_one()
        amounts = {}
        for row_no, (paid_on, amount) in enumerate([(date(2026, 11, 14), "900"), (date(2026, 11, 30), "950")], start=1):
            line = conn.execute(
                sa.insert(payroll_lines).values(
                    run_id=run_id, row_no=row_no, employer_vkn="1234567890", payroll_id="P0", tckn="10000000000",
                    contract_no="AG-1", period="2026-11", pek=Decimal("30000"), sgk_days=30, wage_paid_on=paid_on,
                ).returning(payroll_lines.c.id)
            ).scalar_one()  # fmt: skip
            amounts[paid_on] = Decimal(amount)
            conn.execute(
                sa.insert(contributions).values(
                    run_id=run_id, payroll_line_id=line, enrolment_id=e, period="2026-11", payment_kind="regular",
                    outcome="contributed", reason="eligible", amount=Decimal(amount),
                )
            )  # fmt: skip
        owed = refunds_owed(conn)
    assert [(r.wage_paid_on, r.amount) for r in owed] == [(date(2026, 11, 30), Decimal("950.00"))]
    assert owed[0].opted_out_on == date(2026, 11, 15)


def test_bulk_application_in_order_skipping_seen_and_returning_refusals(store):
    from oks.store.enrolments import EventSpec, apply_events

    with store.begin() as conn:
        a, b, c = (new_enrolment(conn, employee=n) for n in (1, 2, 3))
        on = date(2026, 11, 2)
        specs = [
            EventSpec(a, "SUBMIT", "payroll", "run:1:submit", on),
            EventSpec(a, "ENROL", "insurer", "list:1:a", on, policy_no="P-A"),  # after SUBMIT in the same batch
            EventSpec(b, "SUBMIT", "payroll", "run:1:submit", on),
            EventSpec(b, "REJECT", "insurer", "list:1:b", on, reason="IDENTITY_MISMATCH"),
            EventSpec(c, "ENROL", "insurer", "list:1:c", on, policy_no="P-C"),  # c is pending: refused
            EventSpec(a, "ENROL", "insurer", "list:1:a", on, policy_no="P-A"),  # a duplicate within the batch
        ]
        first = apply_events(conn, specs)
        again = apply_events(conn, specs)
        states = {row.id: (row.state, row.policy_no, row.reason) for row in conn.execute(sa.select(enrolments))}
    assert (len(first.applied), first.already_applied, len(first.refused)) == (4, 1, 1)
    assert "cannot ENROL an enrolment that is pending" in first.refused[0][1]
    assert (len(again.applied), again.already_applied, len(again.refused)) == (0, 5, 1)
    assert states == {a: ("enrolled", "P-A", None), b: ("rejected", None, "IDENTITY_MISMATCH"), c: ("pending", None, None)}


def test_a_large_batch_of_events_lands_whole_and_replays_as_a_no_op(store):
    # From 500 events on (a contract's insurer answers), the events go in by COPY on PostgreSQL:
    # the same rows, JSON detail included, as the INSERT of a small batch, and the keys still hold.
    from oks.store.enrolments import _COPY_FROM, EventSpec, apply_events

    count = _COPY_FROM + 20
    with store.begin() as conn:
        employer = conn.execute(sa.select(employers.c.id)).scalar_one()
        conn.execute(
            sa.insert(employees),
            [{"employer_id": employer, "payroll_id": f"Q{i}", "tckn": f"2000000{i:04d}", "first_name": "Ç", "last_name": "Ş"} for i in range(count)],
        )  # fmt: skip
        ids = [new_enrolment(conn, employee=n) for n in range(4, 4 + count)]
        on = date(2026, 11, 2)
        specs = [EventSpec(e, "SUBMIT", "payroll", "list:7", on, detail={"list": "L-7", "note": f"ğ \"{i}\""}) for i, e in enumerate(ids)]
        specs += [EventSpec(e, "ENROL", "insurer", f"list:7:{i}", on, policy_no=f"P-{i}") for i, e in enumerate(ids)]
        first = apply_events(conn, specs)
        again = apply_events(conn, specs)
        stored = conn.execute(
            sa.select(enrolment_events.c.enrolment_id, enrolment_events.c.kind, enrolment_events.c.detail, enrolment_events.c.to_state)
            .where(enrolment_events.c.enrolment_id.in_(ids))
        ).all()  # fmt: skip
        policies = dict(conn.execute(sa.select(enrolments.c.id, enrolments.c.policy_no).where(enrolments.c.id.in_(ids))).all())
    assert (len(first.applied), first.already_applied, len(first.refused)) == (2 * count, 0, 0)
    assert (len(again.applied), again.already_applied) == (0, 2 * count)
    assert len(stored) == 2 * count
    details = {row.enrolment_id: row.detail for row in stored if row.kind == "SUBMIT"}
    assert details[ids[3]] == {"list": "L-7", "note": 'ğ "3"'}
    assert {row.to_state for row in stored if row.kind == "ENROL"} == {"enrolled"}
    assert policies == {e: f"P-{i}" for i, e in enumerate(ids)}
