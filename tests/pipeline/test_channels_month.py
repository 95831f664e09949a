"""One month, two channels (docs/channels.md): a contract through DES and two through the insurer's
file upload — one an insurer DES does not reach, one a DES contract switched for the month because DES
was down — in one run. The files render per profile and read back to what the store holds; the guard
refuses a second REGULAR payment by the other channel; reconcile proves the invariant per contract
across channels, and fails when a file says other than what is owed."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from oks.channels.files import read_file
from oks.channels.profiles import load_profile
from oks.pipeline import des_work
from oks.pipeline.assess import assess_eligibility
from oks.pipeline.contribute import compute_contributions
from oks.pipeline.file_channel import write_insurer_files
from oks.pipeline.reconcile import InvariantBroken, reconcile_run
from oks.pipeline.submission import contracts_with_work, submit_payments
from oks.store.channels import ChannelRefused, record_file_payment, switch_channel
from tests.payroll_files import CONTRACT, contract, person
from tests.pipeline.des_steps import CREDENTIALS, wait
from tests.pipeline.months import run_month

D = Decimal
VAKIF, SWITCHED = "VK-2026-001", "AG-2026-002"


def _month(store, tmp_path):
    rows = [person(1), person(2), person(3, contract_no=VAKIF), person(4, contract_no=VAKIF),
            person(4, contract_no=VAKIF, payment_kind="supplementary", pek=D("20000")), person(5, contract_no=SWITCHED)]  # fmt: skip
    masters = [contract(), contract(contract_no=VAKIF, insurer="VAKIF"), contract(contract_no=SWITCHED)]
    run_id = run_month(store, tmp_path, rows, masters)
    assess_eligibility(store, run_id)
    compute_contributions(store, run_id)
    with store.begin() as conn:
        switch_channel(conn, contract_no=SWITCHED, period="2026-10", to="file", by="ops", reason="DES down on the due day")
    return run_id, rows


def _through_des(store, gateway, run_id, contracts):
    lists = des_work.submit_personnel(store, gateway, run_id, contracts, credentials_for=lambda *_: CREDENTIALS)
    for list_id in lists:
        wait(lambda list_id=list_id: gateway.read_personnel_results(list_id, limit=1).state, lambda s: s == "COMPLETED")
    des_work.record_personnel_results(store, gateway, run_id, contracts)
    for payment_id in des_work.submit_payment(store, gateway, run_id, contracts):
        wait(lambda payment_id=payment_id: gateway.read_payment(payment_id, limit=1).state, lambda s: s == "TRANSFERRED")
    return des_work.record_payment_obligation(store, gateway, run_id, contracts, senders={})


def test_a_month_through_des_and_through_files_in_one_run_reconciles_per_contract(store, gateway, sim, tmp_path):
    run_id, rows = _month(store, tmp_path)
    outbox = tmp_path / "outbox"

    des, files = contracts_with_work(store, run_id, channel="des"), contracts_with_work(store, run_id, channel="file")
    assert (des, files) == ([CONTRACT], [SWITCHED, VAKIF])
    assert len(des_work.plan_des_batches(store, run_id, 50)) == 1  # the DES work maps over DES months only
    assert _through_des(store, gateway, run_id, des)
    assert write_insurer_files(store, run_id, files, outbox=outbox)

    summary = reconcile_run(store, run_id, gateway=gateway, outbox=outbox)
    assert summary["problems"] == 0
    assert summary["contracts_checked"] == 4  # AG-2026-001, AG-2026-002, VK-2026-001 and VK's bonus
    assert [p["contract_no"] for p in sim.state()["payments"]] == [CONTRACT]  # DES saw only its own month

    # The files render per profile: VAKIF's own (XLSX, Turkish), the switched AGESA month the generic one.
    vakif = load_profile("VAKIF")
    folder = outbox / VAKIF / "2026-10"
    people = read_file(folder / "VAKIF_VK-2026-001_2026-10_personnel.xlsx", vakif, "personnel")
    assert sorted(p["tckn"] for p in people) == sorted(r["tckn"] for r in rows[2:4])
    bonus = read_file(folder / "VAKIF_VK-2026-001_2026-10_contribution-supplementary.xlsx", vakif, "contribution")
    assert [(b["tckn"], b["payment_kind"], b["amount"]) for b in bonus] == [(rows[3]["tckn"], "supplementary", D("600.00"))]
    generic = read_file(outbox / SWITCHED / "2026-10" / "AGESA_AG-2026-002_2026-10_contribution.csv", load_profile("AGESA"),
                        "contribution")  # fmt: skip
    assert [g["tckn"] for g in generic] == [rows[5]["tckn"]]

    # The guard: never a second REGULAR payment of a month by the other channel.
    with store.begin() as conn, pytest.raises(ChannelRefused, match="already held by DES"):
        record_file_payment(conn, contract_no=CONTRACT, period="2026-10", payment_kind="REGULAR", file_name="x.csv", content_hash="h")
    with pytest.raises(ChannelRefused, match="already held by FILE"):
        submit_payments(store, gateway, run_id, SWITCHED)


def test_reconcile_fails_when_a_file_says_other_than_what_is_owed(store, gateway, sim, tmp_path):
    run_id, _ = _month(store, tmp_path)
    outbox = tmp_path / "outbox"
    _through_des(store, gateway, run_id, [CONTRACT])
    write_insurer_files(store, run_id, [SWITCHED, VAKIF], outbox=outbox)
    profile = load_profile("AGESA")
    path = outbox / SWITCHED / "2026-10" / "AGESA_AG-2026-002_2026-10_contribution.csv"
    text = path.read_bytes().decode(profile.encoding)
    owed = text.splitlines()[1].rsplit(";", 1)[1]
    path.write_bytes(text.replace(owed, str(D(owed) - 1)).encode(profile.encoding))  # edited by hand before the upload

    with pytest.raises(InvariantBroken, match=rf"{SWITCHED}/regular: payment obligations {owed} ≠ file .* total {D(owed) - 1}"):
        reconcile_run(store, run_id, gateway=gateway, outbox=outbox)
    Path(path).unlink()
    with pytest.raises(InvariantBroken, match=f"{SWITCHED} 2026-10: its regular contribution file cannot be read back"):
        reconcile_run(store, run_id, gateway=gateway, outbox=outbox)
