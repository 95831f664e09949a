"""A corrected October for the ``oks_correction`` DAG tests (with and without logins): sent and paid,
then re-run with corrected payroll, so that one correction is proposed.

A plain module, not a test module: test modules are never imported by other modules.
"""

from __future__ import annotations

from oks.des.client import DesClient
from oks.des.ledger import Ledger
from oks.orchestration.resources import store_engine
from oks.pipeline.corrections import open_corrections
from oks.pipeline.obligations import confirm_payment
from tests.des.simulator import fast_settings
from tests.payroll_files import CONTRACT
from tests.pipeline.des_months import month, october
from tests.pipeline.des_steps import register_file


def corrected_month(des, tmp_path, monkeypatch, changes):
    """October sent and paid, then re-run with corrected payroll: one correction proposed."""
    monkeypatch.setenv("OKS_STORE_URL", f"sqlite:///{tmp_path / 'store.sqlite'}")  # a store of its own
    engine = store_engine()
    rows = october()
    des.load_register(register_file(tmp_path, rows[:3]))
    with DesClient(fast_settings(des.url), ledger=Ledger(engine)) as gateway:
        month(engine, gateway, tmp_path, rows, run_key="oct")
        for kind in ("regular", "supplementary"):
            confirm_payment(engine, contract_no=CONTRACT, period="2026-10", payment_kind=kind, confirmed_by="ops")
        month(engine, gateway, tmp_path, october(changes), run_key="oct")
    (proposal,) = [c for c in open_corrections(engine) if c["payment_kind"] == "regular"]
    return engine, proposal
