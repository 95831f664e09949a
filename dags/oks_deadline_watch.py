"""
### OKS deadline watch — nobody misses a statutory payment deadline

Every 15 minutes through banking hours on weekdays, reads the unpaid payment obligations from the
store and alerts on-call: a **warning** the business day before the due day, a **page** on the due
morning, another **page** shortly before the cut-off (12:00 on half days), and an **overdue** page
every business day after. Each alert goes once per channel (e-mail, webhook, outbox), however often
this DAG runs; a channel that fails is retried by the next run.

It reads obligations, not runs: a failed or stuck monthly run cannot hide a payment that is due.
Confirming the transfer (`confirm_bank_transfer` in the UI, or `oks confirm-payment`) stops the alerts.

**Drills:** trigger with `as_of` (a moment, Istanbul time if no offset is given) to send the alerts due
then, marked `DRILL`. A drill has deduplication keys of its own: it never silences a real alert.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import Param, dag, task

from oks.orchestration.notifiers import OnCallNotifier


@dag(
    dag_id="oks_deadline_watch",
    description="Alerts on-call about unpaid OKS payment obligations before and after the statutory deadline",
    doc_md=__doc__,
    schedule="*/15 7-19 * * 1-5",
    start_date=pendulum.datetime(2026, 1, 1, tz="Europe/Istanbul"),
    catchup=False,
    max_active_runs=1,
    tags=["oks", "deadlines", "on-call"],
    params={
        "as_of": Param(None, type=["null", "string"], format="date-time",
                       description="A drill: send the alerts due at this moment, marked DRILL (real alerts are unaffected)"),
    },
    default_args={
        "owner": "oks-oncall",
        "retries": 3,
        "retry_delay": timedelta(minutes=1),
        "on_failure_callback": OnCallNotifier(),
    },
)
def oks_deadline_watch():
    @task(multiple_outputs=False, doc_md="""Send the alerts that are due now for every unpaid obligation.
    **If it fails** an alert channel is down (the others were sent): check `oks_alert_smtp` /
    `oks_alert_webhook`; the next run retries. Meanwhile run `oks obligations` and page by hand.""")
    def watch_payment_deadlines(**context) -> dict:
        from oks.orchestration.watch import watch_now

        return watch_now(context["params"].get("as_of"))

    watch_payment_deadlines()


oks_deadline_watch()
