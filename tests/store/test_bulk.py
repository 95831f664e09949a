"""update_many: each row's columns land on its own row, typed (dates, money, NULLs, JSON), on SQLite and
PostgreSQL alike; other rows are untouched; rows of different shapes are refused."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from oks.store.bulk import update_many
from oks.store.schema import contracts, employers, enrolment_events, enrolments

CONTRACT = {"contract_no": "AG-1", "insurer": "AGESA", "starts_on": date(2019, 1, 1), "collection_iban": "TR330006100519786457841326"}


def _contracts(conn, count: int) -> list[int]:
    employer = conn.execute(sa.insert(employers).values(vkn="1234567890", name="Örnek A.Ş.").returning(employers.c.id)).scalar_one()
    conn.execute(sa.insert(contracts), [{**CONTRACT, "contract_no": f"AG-{i}", "employer_id": employer} for i in range(count)])
    return list(conn.execute(sa.select(contracts.c.id).order_by(contracts.c.id)).scalars())


CHANGES = [
    pytest.param({"fixed_amount": Decimal("123.45"), "ends_on": date(2026, 12, 31)}, id="money-and-date"),
    pytest.param({"fixed_amount": None, "bank": "Ziraat 'Merkez'"}, id="null-and-quoted-text"),
    pytest.param({"rate": Decimal("0.04500")}, id="rate"),
]


@pytest.mark.parametrize("change", CHANGES)
def test_each_row_gets_its_own_values_and_others_stay(store, change):
    with store.begin() as conn:
        ids = _contracts(conn, 4)
        rows = [{"id": i, **{c: (v + n if isinstance(v, Decimal) else v) for c, v in change.items()}} for n, i in enumerate(ids[:3])]
        update_many(conn, contracts, rows)
        got = {r.id: r for r in conn.execute(sa.select(contracts).order_by(contracts.c.id))}
    for row in rows:
        assert {c: getattr(got[row["id"]], c) for c in change} == {c: v for c, v in row.items() if c != "id"}
    untouched = got[ids[3]]
    assert {c: getattr(untouched, c) for c in change} == {c: None for c in change}


def test_json_columns_and_other_keys(store):
    with store.begin() as conn:
        (contract,) = _contracts(conn, 1)
        from oks.store.schema import employees

        employee = conn.execute(sa.insert(employees).values(employer_id=conn.execute(sa.select(employers.c.id)).scalar_one(), payroll_id="P1", tckn="10000000146", first_name="A",
                                                            last_name="B").returning(employees.c.id)).scalar_one()  # fmt: skip
        enrolment = conn.execute(sa.insert(enrolments).values(employee_id=employee, contract_id=contract, state="pending")
                                 .returning(enrolments.c.id)).scalar_one()  # fmt: skip
        event = conn.execute(sa.insert(enrolment_events).values(enrolment_id=enrolment, kind="SUBMIT", source="payroll", event_key="k",
                                                                effective_on=date(2026, 1, 1), to_state="submitted")
                             .returning(enrolment_events.c.id)).scalar_one()  # fmt: skip
        update_many(conn, enrolment_events, [{"id": event, "detail": {"list": "L-1", "ş": [1, 2]}}])
        update_many(conn, enrolments, [{"id": enrolment, "state": "enrolled", "policy_no": "P-9", "state_since": date(2026, 2, 3)}])
        assert conn.execute(sa.select(enrolment_events.c.detail)).scalar_one() == {"list": "L-1", "ş": [1, 2]}
        assert tuple(conn.execute(sa.select(enrolments.c.state, enrolments.c.policy_no, enrolments.c.state_since)).one()) == (
            "enrolled", "P-9", date(2026, 2, 3))  # fmt: skip


def test_rows_of_different_shapes_are_refused(store):
    with store.begin() as conn, pytest.raises(ValueError, match="same columns"):
        update_many(conn, contracts, [{"id": 1, "bank": "A"}, {"id": 2, "branch": "B"}])


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(amounts=st.lists(st.decimals(min_value=0, max_value=10**9, places=2, allow_nan=False), min_size=1, max_size=30))
def test_many_rows_round_trip_exactly(store, amounts):
    with store.begin() as conn:
        conn.execute(sa.delete(contracts))
        conn.execute(sa.delete(employers))
        ids = _contracts(conn, len(amounts))
        update_many(conn, contracts, [{"id": i, "fixed_amount": a} for i, a in zip(ids, amounts, strict=True)])
        got = list(conn.execute(sa.select(contracts.c.fixed_amount).order_by(contracts.c.id)).scalars())
    assert got == amounts


def test_a_refused_update_names_the_table_never_the_value(store):
    from oks.store.bulk import BulkLoadError

    with store.connect() as conn:
        (contract,) = _contracts(conn, 1)
        # A NOT NULL column emptied: PostgreSQL's own message quotes the failing row, the bank text too.
        with pytest.raises(BulkLoadError, match="updating 1 rows of contracts failed") as refused:
            update_many(conn, contracts, [{"id": contract, "collection_iban": None, "bank": "Ayşe 12345678950"}])
        assert "12345678950" not in str(refused.value) and "Ayşe" not in str(refused.value)
        conn.rollback()
