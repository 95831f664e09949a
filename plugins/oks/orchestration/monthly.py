"""What each task of ``oks_monthly`` does, in Airflow terms: read the run's params, build the
resources, call one pipeline step, return its small summary (counts and ids — never rows).

The DAG file wires these together and stays thin; the steps themselves live in ``oks.pipeline`` and
know nothing of Airflow.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa

from oks.orchestration.resources import des_gateway, payroll_sources, store_engine, ws_credentials_for

log = logging.getLogger(__name__)

PERIOD = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


def resolve_period(params: Mapping, logical_date: datetime | None, *, now: datetime | None = None) -> str:
    """The ``period`` param; without one, the month in Istanbul of the run's logical date (a scheduled
    run on the 25th runs its own month), or of the moment it runs when it has none (a manual run) —
    at 00:30 on 1 January in Istanbul that is already January."""
    from oks.rules.calendar import ISTANBUL

    period = (params.get("period") or "").strip()
    if period:
        if not PERIOD.match(period):
            raise ValueError(f"period must be a month as YYYY-MM, e.g. 2026-11 (got {period!r})")
        return period
    moment = logical_date or now or datetime.now(timezone.utc)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return f"{moment.astimezone(ISTANBUL):%Y-%m}"


FIRST_PERIOD = (2017, 1)  # automatic enrolment began on 1 January 2017
_MONTHS = ("Ocak", "Şubat", "Mart", "Nisan", "Mayıs", "Haziran", "Temmuz", "Ağustos", "Eylül", "Ekim", "Kasım", "Aralık")


def selectable_periods(today: datetime | None = None, *, ahead: int = 12) -> dict[str, str]:
    """The months a run may be for, newest first, with how the trigger form shows them: from the
    start of automatic enrolment to a year ahead of today in Istanbul. A choice, not a text field,
    so no trigger can ask for a month that does not exist."""
    from zoneinfo import ZoneInfo  # not oks.rules.calendar: this runs at every DAG parse, holidays is heavy

    now = (today or datetime.now(timezone.utc)).astimezone(ZoneInfo("Europe/Istanbul"))
    last = now.year * 12 + now.month - 1 + ahead
    first = FIRST_PERIOD[0] * 12 + FIRST_PERIOD[1] - 1
    choices = {}
    for n in range(last, first - 1, -1):
        year, month = divmod(n, 12)
        choices[f"{year:04d}-{month + 1:02d}"] = f"{year:04d}-{month + 1:02d} · {_MONTHS[month]} {year}"
    return choices


def run_key(period: str, employers: list[str] | None) -> str:
    """The store's run for a period and employer set: a re-run of the same month is the same run, so
    its snapshot is replaced and nothing is counted twice."""
    return f"{period}:{','.join(sorted(employers)) if employers else 'all'}"


def _airflow_run_id() -> str | None:
    """The Airflow run this task belongs to: the owner of the store's run of the period."""
    try:
        from airflow.sdk import get_current_context

        return get_current_context()["run_id"]
    except Exception:  # noqa: BLE001 - outside a task (tests calling the glue): no owner
        return None


def _owned(run_id: int) -> None:
    """Every step after extraction first checks that its Airflow run still owns the store's run."""
    from oks.store.snapshot import ensure_owner

    with store_engine().begin() as conn:
        ensure_owner(conn, run_id, _airflow_run_id())


def task_label(ti) -> str:
    """A task as people name it: its id, and for a mapped instance its label (contracts, obligation)."""
    task_id = getattr(ti, "task_id", "?")
    map_index = getattr(ti, "map_index", -1)
    if map_index is None or map_index < 0:
        return task_id
    return f"{task_id}[{getattr(ti, 'rendered_map_index', None) or map_index}]"


def record_failure(context: Mapping) -> None:
    """Failure callback: the store's run says which task failed and why, so the run summary, the report
    and the UI show a failed month as failed (not as "running" with half its totals). The error text is
    redacted: a library's message may echo a row."""
    from oks.privacy import redact
    from oks.store.snapshot import fail_run

    params = context.get("params") or {}
    try:
        period = resolve_period(params, context.get("logical_date"))
    except ValueError:
        return  # no period, no store run: the on-call page (OnCallNotifier) carries the error
    error = context.get("exception")
    failure = {
        "task": task_label(context.get("ti") or context.get("task_instance")),
        "error": f"{type(error).__name__}: {redact(error, 500)}" if error else "failed (no exception recorded)",
        "airflow_run_id": context.get("run_id") or getattr(context.get("dag_run"), "run_id", None),
    }
    try:
        with store_engine().begin() as conn:
            # Only this Airflow run's own store run: a run refused as the second of its period must
            # not mark the first one failed.
            fail_run(conn, run_key(period, list(params.get("employers") or []) or None), failure, owner=failure["airflow_run_id"])
    except Exception:  # noqa: BLE001 - the store may be what failed; the page still goes out
        log.exception("could not record the failure of %s in the store", failure["task"])


def _source_location(params: Mapping) -> str:
    return (params.get("payroll_source") or os.environ.get("OKS_PAYROLL_SOURCE") or "sql").strip()


def extract(params: Mapping, logical_date: datetime | None) -> dict:
    from oks.pipeline.extract import extract_payroll

    period = resolve_period(params, logical_date)
    employers = list(params.get("employers") or []) or None
    source, contracts = payroll_sources(_source_location(params), period, employers)
    return extract_payroll(
        store_engine(), run_key=run_key(period, employers), period=period, source=source, contracts_source=contracts,
        employers=employers, dry_run=bool(params.get("dry_run")), owner=_airflow_run_id(),
    )  # fmt: skip


def validate(run_id: int) -> dict:
    from oks.pipeline.validate import validate_personnel

    _owned(run_id)
    return validate_personnel(store_engine(), run_id)


def register(run_id: int) -> dict:
    from oks.pipeline.extract import register_employees

    _owned(run_id)
    return register_employees(store_engine(), run_id)


def _dry_run(run_id: int) -> bool:
    from oks.store.schema import runs

    with store_engine().connect() as conn:
        return bool(conn.execute(sa.select(runs.c.dry_run).where(runs.c.id == run_id)).scalar_one())


def sync_status(run_id: int) -> dict:
    from oks.pipeline.status_sync import sync_insurer_status

    _owned(run_id)
    if _dry_run(run_id):
        return {"skipped": "dry run"}
    engine = store_engine()
    with des_gateway(engine) as gateway:
        return sync_insurer_status(engine, gateway)


def assess(run_id: int) -> dict:
    from oks.pipeline.assess import assess_eligibility

    _owned(run_id)
    summary = assess_eligibility(store_engine(), run_id)
    if len(summary.get("by_reason", {})) > 50:  # keep XCom small; the report has the detail
        summary.pop("by_reason")
    return summary


def contribute(run_id: int) -> dict:
    from oks.pipeline.contribute import compute_contributions

    _owned(run_id)
    summary = compute_contributions(store_engine(), run_id)
    # The per-contract totals go to the report; XCom keeps a summary people can read at a glance.
    summary["contracts"] = len(summary.pop("by_contract"))
    return summary


def plan_batches(run_id: int, batch_size: int) -> list[dict]:
    """The DES work in batches of contracts, each labelled with its contract numbers for the UI."""
    from oks.pipeline.submission import contracts_with_work

    _owned(run_id)
    if _dry_run(run_id):
        return []
    numbers = contracts_with_work(store_engine(), run_id)
    batches = [numbers[i : i + batch_size] for i in range(0, len(numbers), max(1, batch_size))]
    return [{"run_id": run_id, "contracts": b, "label": b[0] if len(b) == 1 else f"{b[0]} … {b[-1]} ({len(b)})"} for b in batches]


def submit_personnel(batch: Mapping) -> list[str]:
    """Register the batch's contracts and send their personnel lists; the list ids to wait for."""
    from oks.pipeline.submission import register_contracts, submit_personnel

    _owned(batch["run_id"])
    engine = store_engine()
    with des_gateway(engine) as gateway:
        register_contracts(engine, gateway, batch["run_id"], batch["contracts"], credentials_for=ws_credentials_for)
        return [
            list_id
            for contract_no in batch["contracts"]
            if (list_id := submit_personnel(engine, gateway, batch["run_id"], contract_no)["list_id"])
        ]


def _ledger_ids(kind: str, run_id: int, contract_no: str) -> list[str]:
    """The DES ids (lists, payments) this run created or re-attached to for a contract."""
    from oks.des.ledger import Ledger

    records = Ledger(store_engine()).find(contract_no, kind=kind, run_id=run_id)
    return list(dict.fromkeys(r.des_id for r in records if r.des_id))


def record_personnel(batch: Mapping) -> dict:
    from oks.pipeline.submission import record_personnel_results

    engine = store_engine()
    totals: dict[str, int] = {}
    with des_gateway(engine) as gateway:
        for contract_no in batch["contracts"]:
            for list_id in _ledger_ids("personnel_list", batch["run_id"], contract_no):
                result = record_personnel_results(engine, gateway, batch["run_id"], contract_no, list_id)
                for key in ("enrolled", "rejected", "applied", "not_applied"):
                    totals[key] = totals.get(key, 0) + int(result.get(key, 0))
    return totals


def submit_payments(batch: Mapping) -> list[str]:
    from oks.pipeline.submission import submit_payments

    _owned(batch["run_id"])
    engine = store_engine()
    ids = []
    with des_gateway(engine) as gateway:
        for contract_no in batch["contracts"]:
            for payment in submit_payments(engine, gateway, batch["run_id"], contract_no)["payments"].values():
                if payment["payment_id"]:
                    ids.append(payment["payment_id"])
    return ids


def record_transfers(batch: Mapping) -> list[int]:
    """Record the transfers and the payment obligations of the batch; the obligation ids."""
    from oks.orchestration.notifiers import alert_senders
    from oks.pipeline.deadline_watch import announce_payment_instructions
    from oks.pipeline.obligations import record_payment_obligations
    from oks.pipeline.submission import record_payment_results

    engine = store_engine()
    obligations: list[int] = []
    with des_gateway(engine) as gateway:
        for contract_no in batch["contracts"]:
            payment_ids = {}
            for payment_id in _ledger_ids("payment", batch["run_id"], contract_no):
                page = gateway.read_payment(payment_id, limit=1)
                record_payment_results(engine, gateway, batch["run_id"], contract_no, payment_id)
                payment_ids[f"{contract_no}/{page.kind.lower()}"] = payment_id
            instructions = record_payment_obligations(engine, batch["run_id"], contract_no=contract_no, des_payment_ids=payment_ids)
            # A failed channel is logged, not fatal: the instruction is also in the report and the approval.
            announce_payment_instructions(engine, instructions, alert_senders())
            obligations += [i.obligation_id for i in instructions]
    return obligations


def reconcile(run_id: int) -> dict:
    from oks.pipeline.reconcile import reconcile_run

    _owned(run_id)
    engine = store_engine()
    if _dry_run(run_id):
        return reconcile_run(engine, run_id)
    with des_gateway(engine) as gateway:
        return reconcile_run(engine, run_id, gateway=gateway)


def report(run_id: int) -> dict:
    from oks.pipeline.report import publish_report
    from oks.store import oks_home

    data_docs = oks_home() / "data_docs" / f"run-{run_id}" / "index.html"
    # Relative: the same link works in the /oks app (…/reports/run-N/ → …/data_docs/run-N/) and on disk.
    summary = publish_report(
        store_engine(), run_id, out_dir=oks_home() / "reports" / f"run-{run_id}",
        data_docs=f"../../data_docs/run-{run_id}/index.html" if data_docs.exists() else None,
    )  # fmt: skip
    return summary


def confirmations(run_id: int) -> list[dict]:
    """One approval request per unpaid obligation of the run, timing out at its statutory deadline."""
    from oks.store.schema import payment_obligations

    return confirmation_requests(payment_obligations.c.run_id == run_id)


def approval_window(until_due: timedelta) -> timedelta:
    """How long a bank-transfer approval stays open: until the statutory deadline — and when the
    obligation is due soon or overdue, the grace period (``OKS_APPROVAL_GRACE_HOURS``, default 72),
    never less: an overdue payment is exactly when the request must stay open while the deadline
    watch pages every day."""
    grace = timedelta(hours=float(os.environ.get("OKS_APPROVAL_GRACE_HOURS", "72")))
    return max(until_due, grace)


def confirmation_requests(which) -> list[dict]:
    """The ``confirm_bank_transfer`` requests of the unpaid obligations ``which`` selects."""
    from oks.pipeline.obligations import owed_query, reference_text
    from oks.rules.calendar import Deadline

    with store_engine().connect() as conn:
        rows = conn.execute(owed_query(which)).all()
    now = datetime.now(timezone.utc)
    requests = []
    for row in rows:
        due_at = Deadline(row.wage_paid_on, row.due_on, row.cutoff).due_at()
        by = f"{row.due_on:%d.%m.%Y}" + (f" {row.cutoff:%H:%M}" if row.cutoff else " (bank closing time)")
        requests.append(
            {
                "obligation_id": row.id,
                "subject": f"Obligation #{row.id}: {row.amount:,.2f} TL to {row.insurer} ({row.contract_no}, {row.period} {row.payment_kind})",
                "body": (
                    f"Transfer **{row.amount:,.2f} TL** to **{row.insurer}** account `{row.collection_iban}` "
                    f"with the description `{row.reference or reference_text(row.contract_no, row.period, row.payment_kind)}` "
                    f"by **{by}**.\n\nApprove once the bank has executed the transfer. A bank-statement job may "
                    f"answer instead with `oks confirm-payment --obligation {row.id} --amount {row.amount} --by <who>`."
                ),
                "response_timeout": approval_window(due_at.astimezone(timezone.utc) - now),
            }
        )
    return requests
