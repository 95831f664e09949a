"""The once-a-month guard across channels (docs/channels.md): a contract's month switched to the
insurer's file upload is an explicit, recorded operator action, refused once DES holds the month's
REGULAR payment; a month a file holds is never paid again through DES — against the simulator."""

from __future__ import annotations

from decimal import Decimal

import pytest
import sqlalchemy as sa

from oks.pipeline.assess import assess_eligibility
from oks.pipeline.contribute import compute_contributions
from oks.pipeline.submission import record_personnel_results, register_contracts, submit_payments, submit_personnel
from oks.store.channels import ChannelRefused, channel_of, payment_holder, record_file_payment, switch_channel
from oks.store.schema import channel_switches
from tests.payroll_files import CONTRACT, contract, person
from tests.pipeline import des_months
from tests.pipeline.des_steps import CREDENTIALS, wait
from tests.pipeline.months import run_month

D = Decimal


def _ready_to_pay(store, gateway, tmp_path, contract_rows=None):
    """October extracted, contributed and its people enrolled at the insurer: the payment is next."""
    run_id = run_month(store, tmp_path, [person(1), person(2)], contract_rows or [contract()], run_key="oct")
    assess_eligibility(store, run_id)
    compute_contributions(store, run_id)
    register_contracts(store, gateway, run_id, [CONTRACT], credentials_for=lambda *_: CREDENTIALS)
    listed = submit_personnel(store, gateway, run_id, CONTRACT)
    wait(lambda: gateway.read_personnel_results(listed["list_id"], limit=1).state, lambda s: s == "COMPLETED")
    record_personnel_results(store, gateway, run_id, CONTRACT, listed["list_id"])
    return run_id


def test_des_down_on_the_due_day_the_month_goes_by_file_and_des_then_refuses_to_pay_it(store, gateway, sim, tmp_path):
    run_id = _ready_to_pay(store, gateway, tmp_path)
    with store.begin() as conn:
        assert channel_of(conn, CONTRACT, "2026-10") == "des"
        switch_channel(conn, contract_no=CONTRACT, period="2026-10", to="file", by="ops", reason="DES down on the due day")
        assert channel_of(conn, CONTRACT, "2026-10") == "file" and channel_of(conn, CONTRACT, "2026-11") == "des"
        record_file_payment(conn, contract_no=CONTRACT, period="2026-10", payment_kind="regular", file_name="AGESA_oct.csv",
                            content_hash="h1", run_id=run_id)  # fmt: skip
        assert payment_holder(conn, CONTRACT, "2026-10") == "file"
        # the same file again (a re-run) is the same entry; other amounts are never a second payment
        assert record_file_payment(conn, contract_no=CONTRACT, period="2026-10", payment_kind="REGULAR", file_name="AGESA_oct.csv",
                                   content_hash="h1") == record_file_payment(conn, contract_no=CONTRACT, period="2026-10",
                                   payment_kind="REGULAR", file_name="AGESA_oct.csv", content_hash="h1")  # fmt: skip
        with pytest.raises(ChannelRefused, match="already written with other amounts"):
            record_file_payment(conn, contract_no=CONTRACT, period="2026-10", payment_kind="REGULAR", file_name="x", content_hash="h2")
        # and back to DES is refused: the file holds the month
        with pytest.raises(ChannelRefused, match="stays on FILE: the month's REGULAR payment is already held by FILE"):
            switch_channel(conn, contract_no=CONTRACT, period="2026-10", to="des", by="ops", reason="DES is back")

    with pytest.raises(ChannelRefused, match="already held by FILE: never a second one by DES"):
        submit_payments(store, gateway, run_id, CONTRACT)
    assert sim.state()["payments"] == []  # DES never saw a payment for the month


def test_once_des_holds_the_months_payment_no_switch_to_file_and_no_file_payment(store, gateway, sim, tmp_path):
    des_months.month(store, gateway, tmp_path, des_months.october())
    with store.begin() as conn:
        assert payment_holder(conn, CONTRACT, "2026-10") == "des"
        with pytest.raises(ChannelRefused, match="stays on DES: the month's REGULAR payment is already held by DES"):
            switch_channel(conn, contract_no=CONTRACT, period="2026-10", to="file", by="ops", reason="DES down?")
        with pytest.raises(ChannelRefused, match="already held by DES: never a second one by FILE"):
            record_file_payment(conn, contract_no=CONTRACT, period="2026-10", payment_kind="REGULAR", file_name="f", content_hash="h")
        # a SUPPLEMENTARY payment is a payment of its own; November is another month: both may go by file
        assert payment_holder(conn, CONTRACT, "2026-10", "SUPPLEMENTARY") == "des"
        switch_channel(conn, contract_no=CONTRACT, period="2026-11", to="file", by="ops", reason="DES down on the due day")
        assert conn.execute(sa.select(sa.func.count()).select_from(channel_switches)).scalar_one() == 1


@pytest.mark.parametrize(
    ("insurer", "to", "by", "reason", "message"),
    [
        ("VAKIF", "des", "ops", "try", "VAKIF does not take OKS data through DES"),
        ("AGESA", "fax", "ops", "try", "no channel 'fax'"),
        ("AGESA", "file", "", "DES down", "needs who makes it and why"),
        ("AGESA", "file", "ops", " ", "needs who makes it and why"),
    ],
)
def test_a_switch_is_refused_with_the_reason(store, tmp_path, insurer, to, by, reason, message):
    run_month(store, tmp_path, [person(1)], [contract(insurer=insurer)])
    with store.begin() as conn:
        assert channel_of(conn, CONTRACT, "2026-10") == ("des" if insurer == "AGESA" else "file")
        with pytest.raises(ChannelRefused, match=message):
            switch_channel(conn, contract_no=CONTRACT, period="2026-10", to=to, by=by, reason=reason)
        with pytest.raises(ChannelRefused, match="no contract NOPE"):
            channel_of(conn, "NOPE", "2026-10")


@pytest.mark.parametrize(
    ("insurer", "configured", "channel", "refusal"),
    [
        ("AGESA", None, "des", None),
        ("AGESA", "file", "file", None),  # an employer that uploads to AgeSA's portal on purpose
        ("AGESA", "FILE", "file", None),
        ("VAKIF", None, "file", None),
        ("VAKIF", "des", None, "row 1, channel: VAKIF does not take OKS data through DES"),
        ("AGESA", "fax", None, "row 1, channel: 'fax' is not des or file"),
    ],
)
def test_the_contract_master_may_name_a_contracts_channel(store, tmp_path, insurer, configured, channel, refusal):
    from oks.payroll.sources import PayrollStructureError

    rows, master = [person(1)], [contract(insurer=insurer, channel=configured)]
    if refusal:
        with pytest.raises(PayrollStructureError, match=refusal):
            run_month(store, tmp_path, rows, master)
        return
    run_month(store, tmp_path, rows, master)
    with store.begin() as conn:
        assert channel_of(conn, CONTRACT, "2026-10") == channel
        if channel == "file" and insurer == "AGESA":  # the operator may still move a month back to DES
            switch_channel(conn, contract_no=CONTRACT, period="2026-10", to="des", by="ops", reason="the portal is down")
            assert channel_of(conn, CONTRACT, "2026-10") == "des"
