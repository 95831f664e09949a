"""The DES work of a run in batches of contracts — one function per task of the DAG's ``des`` group.

A payroll bureau has hundreds of contracts; the DAG maps one task instance per batch (its size a
run parameter), and each function here does the whole batch's part of one step, contract by
contract, through the per-contract steps of :mod:`oks.pipeline.submission` and
:mod:`oks.pipeline.obligations`. Everything is re-runnable: DES requests re-attach under their
idempotency keys, results and obligations are applied once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sqlalchemy.engine import Engine

from oks.des.gateway import DesGateway
from oks.des.ledger import Ledger
from oks.pipeline import submission
from oks.pipeline.deadline_watch import Sender, announce_payment_instructions
from oks.pipeline.obligations import record_payment_obligations

__all__ = ["plan_des_batches", "submit_personnel", "record_personnel_results", "submit_payment", "record_payment_obligation"]


def plan_des_batches(engine: Engine, run_id: int, batch_size: int) -> list[dict]:
    """The contracts whose month goes by DES and has work, in batches of ``batch_size``; none for a dry run."""
    return submission.contract_batches(engine, run_id, "des", batch_size)


def _ledger_ids(engine: Engine, kind: str, run_id: int, contract_no: str) -> list[str]:
    """The DES ids (lists, payments) this run created or re-attached to for a contract."""
    return list(dict.fromkeys(r.des_id for r in Ledger(engine).find(contract_no, kind=kind, run_id=run_id) if r.des_id))


def submit_personnel(engine: Engine, gateway: DesGateway, run_id: int, contracts: Sequence[str], *,
                     credentials_for: submission.CredentialsFor) -> list[str]:  # fmt: skip
    """Register the batch's contracts and send their personnel lists; the list ids to wait for."""
    submission.register_contracts(engine, gateway, run_id, contracts, credentials_for=credentials_for)
    sent = (submission.submit_personnel(engine, gateway, run_id, contract_no)["list_id"] for contract_no in contracts)
    return [str(list_id) for list_id in sent if list_id]


def record_personnel_results(engine: Engine, gateway: DesGateway, run_id: int, contracts: Sequence[str]) -> dict[str, int]:
    """Apply the insurers' answers (policy numbers, rejections) of every list of the batch."""
    totals = dict.fromkeys(("enrolled", "rejected", "applied", "not_applied"), 0)
    for contract_no in contracts:
        for list_id in _ledger_ids(engine, "personnel_list", run_id, contract_no):
            result = submission.record_personnel_results(engine, gateway, run_id, contract_no, list_id)
            for key in totals:
                totals[key] += int(result.get(key, 0))  # type: ignore[call-overload]
    return totals


def submit_payment(engine: Engine, gateway: DesGateway, run_id: int, contracts: Sequence[str]) -> list[str]:
    """Send each contract's contributions as one payment per kind; the payment ids to wait for."""
    ids = []
    for contract_no in contracts:
        payments: Mapping[str, Mapping] = submission.submit_payments(engine, gateway, run_id, contract_no)["payments"]  # type: ignore[assignment]
        ids += [str(p["payment_id"]) for p in payments.values() if p["payment_id"]]
    return ids


def record_payment_obligation(engine: Engine, gateway: DesGateway, run_id: int, contracts: Sequence[str], *,
                              senders: Mapping[str, Sender]) -> list[int]:  # fmt: skip
    """Record the batch's transfers and its payment obligations, and send each payment instruction
    to operations; the obligation ids. A failed channel is logged, not fatal: the instruction is
    also in the report and the approval."""
    obligations: list[int] = []
    for contract_no in contracts:
        payment_ids = {}
        for payment_id in _ledger_ids(engine, "payment", run_id, contract_no):
            page = gateway.read_payment(payment_id, limit=1)
            submission.record_payment_results(engine, gateway, run_id, contract_no, payment_id)
            payment_ids[f"{contract_no}/{page.kind.lower()}"] = payment_id
        instructions = record_payment_obligations(engine, run_id, contract_no=contract_no, des_payment_ids=payment_ids)
        announce_payment_instructions(engine, instructions, senders)
        obligations += [i.obligation_id for i in instructions]
    return obligations
