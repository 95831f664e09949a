"""What each task of ``oks_monthly`` does, in Airflow terms: read the run's params, build the
resources, call one pipeline step, return its small summary (counts and ids — never rows).

The DAG file wires these together and stays thin; the steps themselves live in ``oks.pipeline`` and
know nothing of Airflow. Each function is named as its task and as the pipeline step it calls, and
takes the :class:`~oks.orchestration.resources.Resources` to use (built from Airflow connections
when none is handed in, as in a task). The store's run is ``store_run_id`` throughout: Airflow's
context has a ``run_id`` of its own.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

from oks.orchestration.resources import Resources, store_engine

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
    moment = logical_date or now or datetime.now(UTC)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return f"{moment.astimezone(ISTANBUL):%Y-%m}"


FIRST_PERIOD = (2017, 1)  # automatic enrolment began on 1 January 2017
_MONTHS = ("Ocak", "Şubat", "Mart", "Nisan", "Mayıs", "Haziran", "Temmuz", "Ağustos", "Eylül", "Ekim", "Kasım", "Aralık")


def selectable_periods(today: datetime | None = None, *, ahead: int = 12) -> dict[str, str]:
    """The months a run may be for, newest first, with how the trigger form shows them: from the
    start of automatic enrolment to a year ahead of today in Istanbul. A choice, not a text field,
    so no trigger can ask for a month that does not exist."""
    from zoneinfo import ZoneInfo  # not oks.rules.calendar: this runs at every DAG parse, holidays is heavy

    now = (today or datetime.now(UTC)).astimezone(ZoneInfo("Europe/Istanbul"))
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


MAX_MAP_LENGTH = 10_000
"""The longest list a task may hand to a mapped task, as the deployments set it (Airflow's
``[core] max_map_length``, 1,024 by default). A bureau's month has an approval per payment
obligation — 1,514 contracts at a million employees gave more than 1,024, and the run failed at
``plan_confirmations`` with nothing but "Server returned error"."""


class TooManyToMap(RuntimeError):
    """A run has more obligations (or DES batches) than Airflow may map as one task's instances."""


def _mappable(items: list, what: str, setting: str) -> list:
    """``items`` for a mapped task, or :class:`TooManyToMap` naming the count, the limit and the remedy."""
    from airflow.configuration import conf

    limit = conf.getint("core", "max_map_length", fallback=1024)
    if len(items) > limit:
        raise TooManyToMap(
            f"{len(items)} {what}: more than Airflow maps for one task ([core] max_map_length = {limit}). "
            f"Set AIRFLOW__CORE__MAX_MAP_LENGTH to at least {len(items)} on every Airflow component"
            f"{setting}, then clear this task; nothing was sent or confirmed by it."
        )
    return items


def _resources(resources: Resources | None) -> Resources:
    return resources if resources is not None else Resources.from_airflow()


def _summary(summary: dict) -> dict:
    """A step's summary as its XCom: the store's run named ``store_run_id``, never ``run_id`` (which
    in Airflow is the DAG run's)."""
    if "run_id" in summary:
        summary = {"store_run_id": summary.pop("run_id"), **summary}
    return summary


def _owned(r: Resources, store_run_id: int) -> None:
    """Every step after extraction first checks that its Airflow run still owns the store's run."""
    from oks.store.snapshot import ensure_owner

    with r.engine.begin() as conn:
        ensure_owner(conn, store_run_id, _airflow_run_id())


def extract_payroll(params: Mapping, logical_date: datetime | None, resources: Resources | None = None) -> dict:
    """The run's payroll into its snapshot; the summary's ``store_run_id`` is handed to every later task."""
    from oks.pipeline import extract

    r = _resources(resources)
    period = resolve_period(params, logical_date)
    employers = list(params.get("employers") or []) or None
    source, contracts = r.payroll_sources(_source_location(params), period, employers)
    summary = extract.extract_payroll(
        r.engine, run_key=run_key(period, employers), period=period, source=source, contracts_source=contracts,
        employers=employers, dry_run=bool(params.get("dry_run")), owner=_airflow_run_id(),
    )  # fmt: skip
    return _summary(summary)


def validate_personnel(store_run_id: int, resources: Resources | None = None) -> dict:
    from oks.pipeline import validate

    r = _resources(resources)
    _owned(r, store_run_id)
    return _summary(validate.validate_personnel(r.engine, store_run_id, data_docs_dir=r.home / "data_docs" / f"run-{store_run_id}"))


def register_personnel(store_run_id: int, resources: Resources | None = None) -> dict:
    from oks.pipeline import extract

    r = _resources(resources)
    _owned(r, store_run_id)
    return _summary(extract.register_personnel(r.engine, store_run_id))


def sync_insurer_status(store_run_id: int, resources: Resources | None = None) -> dict:
    from oks.pipeline import status_sync
    from oks.store.runs import is_dry_run

    r = _resources(resources)
    _owned(r, store_run_id)
    if is_dry_run(r.engine, store_run_id):
        return {"skipped": "dry run"}
    with r.des_gateway() as gateway:
        return status_sync.sync_insurer_status(r.engine, gateway)


def reenrolment_years() -> int:
    """``OKS_REENROLMENT_YEARS``: years from an opt-out (or leaving the plan while employed) to the
    automatic re-enrolment, 1 to 5 as the ministry may set it; default 3 (docs/rules.md §6)."""
    from oks.rules.lifecycle import REENROLMENT_YEARS

    years = int(os.environ.get("OKS_REENROLMENT_YEARS", REENROLMENT_YEARS))
    if not 1 <= years <= 5:
        raise ValueError(f"OKS_REENROLMENT_YEARS is 1 to 5 years (the regulation's range), not {years}")
    return years


def assess_eligibility(store_run_id: int, resources: Resources | None = None) -> dict:
    from oks.pipeline import assess

    r = _resources(resources)
    _owned(r, store_run_id)
    summary = _summary(assess.assess_eligibility(r.engine, store_run_id, reenrolment_years=reenrolment_years()))
    if len(summary.get("by_reason", {})) > 50:  # keep XCom small; the report has the detail
        summary.pop("by_reason")
    return summary


def compute_contributions(store_run_id: int, resources: Resources | None = None) -> dict:
    from oks.pipeline import contribute

    r = _resources(resources)
    _owned(r, store_run_id)
    summary = _summary(contribute.compute_contributions(r.engine, store_run_id))
    # The per-contract totals go to the report; XCom keeps a summary people can read at a glance.
    summary["contracts"] = len(summary.pop("by_contract"))
    return summary


def plan_des_batches(store_run_id: int, batch_size: int, resources: Resources | None = None) -> list[dict]:
    """The DES work in batches of contracts, each carrying the store run it belongs to."""
    from oks.pipeline import des_work

    r = _resources(resources)
    _owned(r, store_run_id)
    batches = [{"store_run_id": store_run_id, **batch} for batch in des_work.plan_des_batches(r.engine, store_run_id, batch_size)]
    return _mappable(batches, "DES batches", " (or raise des_batch_size)")


def submit_personnel(batch: Mapping, resources: Resources | None = None) -> list[str]:
    """Register the batch's contracts and send their personnel lists; the list ids to wait for."""
    from oks.pipeline import des_work

    r = _resources(resources)
    _owned(r, batch["store_run_id"])
    with r.des_gateway() as gateway:
        return des_work.submit_personnel(r.engine, gateway, batch["store_run_id"], batch["contracts"], credentials_for=r.ws_credentials_for)


def record_personnel_results(batch: Mapping, resources: Resources | None = None) -> dict:
    from oks.pipeline import des_work

    r = _resources(resources)
    with r.des_gateway() as gateway:
        return des_work.record_personnel_results(r.engine, gateway, batch["store_run_id"], batch["contracts"])


def submit_payment(batch: Mapping, resources: Resources | None = None) -> list[str]:
    from oks.pipeline import des_work

    r = _resources(resources)
    _owned(r, batch["store_run_id"])
    with r.des_gateway() as gateway:
        return des_work.submit_payment(r.engine, gateway, batch["store_run_id"], batch["contracts"])


def record_payment_obligation(batch: Mapping, resources: Resources | None = None) -> list[int]:
    """Record the transfers and the payment obligations of the batch; the obligation ids."""
    from oks.pipeline import des_work

    r = _resources(resources)
    with r.des_gateway() as gateway:
        return des_work.record_payment_obligation(r.engine, gateway, batch["store_run_id"], batch["contracts"], senders=r.alert_senders())


def plan_file_batches(store_run_id: int, batch_size: int, resources: Resources | None = None) -> list[dict]:
    """The file channel's work in batches of contracts (months that go by the insurer's upload)."""
    from oks.pipeline import file_channel

    r = _resources(resources)
    _owned(r, store_run_id)
    batches = [{"store_run_id": store_run_id, **b} for b in file_channel.plan_file_batches(r.engine, store_run_id, batch_size)]
    return _mappable(batches, "file batches", " (or raise des_batch_size)")


def write_insurer_files(batch: Mapping, resources: Resources | None = None) -> list[int]:
    """Write the batch's insurer files into the outbox and record their obligations; the obligation ids."""
    from oks.pipeline import file_channel

    r = _resources(resources)
    _owned(r, batch["store_run_id"])
    return file_channel.write_insurer_files(r.engine, batch["store_run_id"], batch["contracts"], outbox=r.home / "outbox",
                                            senders=r.alert_senders())  # fmt: skip


def plan_upload_confirmations(store_run_id: int, resources: Resources | None = None) -> list[dict]:
    """One upload confirmation per contract whose files wait in the outbox."""
    from oks.pipeline import file_channel

    r = _resources(resources)
    requests = file_channel.plan_upload_confirmations(r.engine, store_run_id, outbox=r.home / "outbox")
    return _mappable(requests, "uploads to confirm", "")


def reconcile_run(store_run_id: int, resources: Resources | None = None) -> dict:
    from oks.pipeline import reconcile
    from oks.store.runs import is_dry_run

    r = _resources(resources)
    _owned(r, store_run_id)
    if is_dry_run(r.engine, store_run_id):
        return _summary(reconcile.reconcile_run(r.engine, store_run_id))
    with r.des_gateway() as gateway:
        return _summary(reconcile.reconcile_run(r.engine, store_run_id, gateway=gateway, outbox=r.home / "outbox"))


def publish_report(store_run_id: int, resources: Resources | None = None) -> dict:
    from oks.pipeline import report

    r = _resources(resources)
    data_docs = r.home / "data_docs" / f"run-{store_run_id}" / "index.html"
    # Relative: the same link works in the /oks app (…/reports/run-N/ → …/data_docs/run-N/) and on disk.
    return _summary(report.publish_report(
        r.engine, store_run_id, out_dir=r.home / "reports" / f"run-{store_run_id}",
        data_docs=f"../../data_docs/run-{store_run_id}/index.html" if data_docs.exists() else None,
    ))  # fmt: skip


def approval_grace() -> timedelta:
    """``OKS_APPROVAL_GRACE_HOURS`` (default 72): the least time a bank-transfer approval stays open."""
    return timedelta(hours=float(os.environ.get("OKS_APPROVAL_GRACE_HOURS", "72")))


def plan_confirmations(store_run_id: int, resources: Resources | None = None) -> list[dict]:
    """One approval request per unpaid obligation of the run, timing out at its statutory deadline."""
    from oks.pipeline import obligations
    from oks.store.schema import payment_obligations

    r = _resources(resources)
    requests = obligations.plan_confirmations(r.engine, payment_obligations.c.run_id == store_run_id, grace=approval_grace())
    return _mappable(requests, "payment obligations to confirm", "")
