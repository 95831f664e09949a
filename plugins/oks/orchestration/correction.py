"""Glue of a correction's approval: the ``oks_correction`` DAG and ``oks correction`` take the same
path, so a correction approved in the Airflow UI and one approved in a shell are sent alike — once."""

from __future__ import annotations

from datetime import date

from oks.orchestration.resources import Resources, store_engine

__all__ = ["describe", "state_of", "approve", "refuse", "confirmation_requests_of"]


def _find(correction_id: int) -> dict:
    from oks.pipeline.corrections import CorrectionError, open_corrections

    found = open_corrections(store_engine(), correction_id=correction_id)
    if not found:
        raise CorrectionError(f"no correction #{correction_id}: see `oks corrections --all`")
    return found[0]


def state_of(correction_id: int) -> str | None:
    """proposed | approved | sent | refused — or None for no such correction."""
    from oks.pipeline.corrections import open_corrections

    found = open_corrections(store_engine(), correction_id=correction_id)
    return found[0]["state"] if found else None


def describe(correction_id: int) -> dict:
    """What the approver reads (TCKNs masked): the month, what DES holds, and each person's difference."""
    c = _find(correction_id)
    subject = (f"Correction #{c['id']}: {c['to_pay']:,.2f} TL to {c['insurer']} "
               f"({c['contract_no']}, {c['period']} {c['payment_kind']})")  # fmt: skip
    people = "\n".join(
        f"| {i['tckn']} | {i['paid']:,.2f} | {i['due']:,.2f} | {i['difference']:+,.2f} |" for i in c["items"]
    )
    body = (
        f"A re-run of **{c['period']}** computed other contributions than DES payment "
        f"`{c['original_des_payment_id']}` holds ({c['original_total']:,.2f} TL). {c['people']} people differ.\n\n"
        f"| TCKN | paid | due | difference |\n|---|---:|---:|---:|\n{people}\n\n"
        f"**Approve** sends {c['to_pay']:,.2f} TL to DES as one SUPPLEMENTARY payment, deducted on *wage_paid_on* "
        f"(empty = today), with its own payment obligation and deadline. "
        f"{c['over_paid']:,.2f} TL over-paid is recorded to reclaim from the insurer, never netted.\n\n"
        f"**Reject** sends nothing (give the *reason*): the month does not reconcile until payroll matches DES again."
    )
    return {"correction_id": c["id"], "state": c["state"], "subject": subject, "body": body}


def approve(correction_id: int, *, by: str, wage_paid_on: date | None = None) -> dict:
    """Send the correction (once) and tell operations what to transfer."""
    from oks.pipeline.corrections import approve_correction
    from oks.pipeline.deadline_watch import announce_correction

    r = Resources.from_airflow()
    with r.des_gateway() as gateway:
        done = approve_correction(r.engine, gateway, correction_id, approved_by=by, wage_paid_on=wage_paid_on)
    if done["sent_now"] and done.get("obligation_id"):
        announce_correction(r.engine, done["obligation_id"], r.alert_senders())
    return done


def refuse(correction_id: int, *, by: str, reason: str) -> None:
    from oks.pipeline.corrections import refuse_correction

    refuse_correction(store_engine(), correction_id, by=by, reason=reason)


def confirmation_requests_of(correction_id: int) -> list[dict]:
    """The bank-transfer approval of the correction's obligation, unless it is paid already."""
    from oks.orchestration.monthly import approval_grace
    from oks.pipeline.obligations import plan_confirmations
    from oks.store.schema import payment_obligations

    return plan_confirmations(store_engine(), payment_obligations.c.correction_id == correction_id, grace=approval_grace())
