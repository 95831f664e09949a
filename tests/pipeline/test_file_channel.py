"""A file-channel contract's month written to the outbox: the insurer's profile renders the same people
and amounts the store holds, read back by the profile's own reader; recorded once in the ledger; a
month DES holds, or that goes by DES, gets no file."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

from oks.channels.files import read_file
from oks.channels.profiles import load_profile
from oks.pipeline.file_channel import write_contract_files
from oks.store.channels import ChannelRefused, payment_holder, switch_channel
from oks.store.schema import contributions, des_requests, enrolments
from tests.payroll_files import CONTRACT, contract, person
from tests.pipeline import des_months
from tests.pipeline.months import run_month

D = Decimal


def _contributed(store, tmp_path, insurer, rows):
    from oks.pipeline.assess import assess_eligibility
    from oks.pipeline.contribute import compute_contributions

    run_id = run_month(store, tmp_path, rows, [contract(insurer=insurer)])
    assess_eligibility(store, run_id)
    compute_contributions(store, run_id)
    return run_id


@pytest.mark.parametrize("insurer", ["VAKIF", "ALLIANZ", "KATILIM"])  # two own profiles and the generic one
def test_the_months_files_render_per_profile_and_hold_what_the_store_holds(store, tmp_path, insurer):
    rows = [person(1), person(2), person(3, citizenship="FOREIGN"), person(1, payment_kind="supplementary", pek=D("10000"))]
    run_id = _contributed(store, tmp_path, insurer, rows)

    written = write_contract_files(store, run_id, CONTRACT, outbox=tmp_path / "outbox")

    profile = load_profile(insurer)
    personnel = read_file(Path(written["personnel_file"]), profile, "personnel")
    assert sorted(p["tckn"] for p in personnel) == sorted(r["tckn"] for r in rows[:2])
    assert {p.get("event_code") for p in personnel} == {"ENROL"}
    files = written["contribution_files"]
    assert set(files) == {"regular", "supplementary"} and Path(files["supplementary"]).name.endswith(f"contribution-supplementary.{profile.format}")
    paid = [row for kind in files for row in read_file(Path(files[kind]), profile, "contribution")]
    with store.connect() as conn:
        stored = conn.execute(sa.select(sa.func.sum(contributions.c.amount)).where(contributions.c.run_id == run_id)).scalar_one()
        assert sum(p["amount"] for p in paid) == D(stored) == sum(D(v) for v in written["payments"].values())
        assert payment_holder(conn, CONTRACT, "2026-10") == "file" and payment_holder(conn, CONTRACT, "2026-10", "SUPPLEMENTARY") == "file"
        assert set(conn.execute(sa.select(enrolments.c.state)).scalars()) == {"submitted"}
        entries = conn.execute(sa.select(des_requests.c.kind, des_requests.c.payment_kind).order_by(des_requests.c.id)).all()

    # A re-run writes the same files and finds the same ledger entries: nothing twice.
    again = write_contract_files(store, run_id, CONTRACT, outbox=tmp_path / "outbox")
    assert (again["contribution_files"], again["payments"]) == (written["contribution_files"], written["payments"])
    with store.connect() as conn:
        assert conn.execute(sa.select(des_requests.c.kind, des_requests.c.payment_kind).order_by(des_requests.c.id)).all() == entries
    assert sorted(k for k, _ in entries) == ["file_payment", "file_payment", "file_personnel_list"]


def test_a_month_that_goes_by_des_or_that_des_paid_gets_no_file(store, gateway, sim, tmp_path):
    des_months.month(store, gateway, tmp_path, des_months.october())
    with store.connect() as conn:
        run_id = conn.execute(sa.text("SELECT max(id) FROM runs")).scalar_one()
    with pytest.raises(ChannelRefused, match="goes by DES: nothing to write"):
        write_contract_files(store, run_id, CONTRACT, outbox=tmp_path / "outbox")
    with store.begin() as conn, pytest.raises(ChannelRefused, match="already held by DES"):
        switch_channel(conn, contract_no=CONTRACT, period="2026-10", to="file", by="ops", reason="DES down")
    assert not (tmp_path / "outbox").exists()


def test_the_insurers_answer_file_enrols_the_people_once_and_refuses_a_stranger_by_row(store, tmp_path):
    from oks.pipeline.file_channel import PolicyAnswer, record_policy_numbers
    from oks.pipeline.submission import personnel_list

    rows = [person(1), person(2)]
    run_id = _contributed(store, tmp_path, "VAKIF", rows)
    write_contract_files(store, run_id, CONTRACT, outbox=tmp_path / "outbox")
    answers = [PolicyAnswer(2, rows[0]["tckn"], "VK-000001"), PolicyAnswer(3, rows[1]["tckn"], "VK-000002"),
               PolicyAnswer(4, "10000000146", "VK-000003")]  # fmt: skip

    first = record_policy_numbers(store, CONTRACT, answers)
    assert (first["enrolled"], first["already"]) == (2, 0)
    assert first["refused"] == [(4, "100******46 has no enrolment under contract AG-2026-001")]
    assert record_policy_numbers(store, CONTRACT, answers[:2])["already"] == 2  # imported again: nothing changes
    with store.connect() as conn:
        assert sorted(conn.execute(sa.select(enrolments.c.state, enrolments.c.policy_no)).all()) == [
            ("enrolled", "VK-000001"), ("enrolled", "VK-000002")]  # fmt: skip
        _, listed = personnel_list(conn, run_id, CONTRACT, "2026-10")
    assert listed == []  # answered: not listed again next time
