"""
### OKS correction — approve or reject the correction of a month DES already holds

A re-run of a month whose payment DES holds never pays it again: when payroll changed after the
transfer, the run proposes a **correction** — the difference per person — and ends
`pending_approval`. Trigger this DAG with the correction's number (`oks corrections` lists them;
the run report and the run's summary name them) to decide it in the Airflow UI:

- **Approve** (with the day the difference is deducted from wages): the positive differences go to
  DES once, as one SUPPLEMENTARY payment, with their own payment obligation and deadline; operations
  are told what to transfer, then confirm the transfer here like any obligation.
- **Reject** (with a reason): nothing is sent; the month does not reconcile until payroll matches.

`oks correction approve|refuse ID --by WHO` decides the same correction from a shell; whichever
answers first wins, and nothing is sent twice.

**Params:** `correction_id`.
"""

from __future__ import annotations

import os
from datetime import timedelta

import pendulum
from airflow.sdk import Param, dag, task

from oks.orchestration import correction
from oks.orchestration.notifiers import OnCallNotifier
from oks.orchestration.operators import ConfirmBankTransferOperator, DecideCorrectionOperator

IF_IT_FAILS = "**If it fails**"


@dag(
    dag_id="oks_correction",
    description="OKS: approve or reject the correction of a month DES already holds; sent once",
    doc_md=__doc__,
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="Europe/Istanbul"),
    catchup=False,
    tags=["oks", "payroll", "des", "correction"],
    default_args={
        "owner": "oks-payroll",
        "retries": int(os.environ.get("OKS_TASK_RETRIES", "2")),
        "retry_delay": timedelta(seconds=int(os.environ.get("OKS_RETRY_DELAY_SECONDS", "120"))),
        "on_failure_callback": [OnCallNotifier()],
    },
    params={"correction_id": Param(1, type="integer", minimum=1, description="The correction (see `oks corrections`)")},
)
def oks_correction():
    @task(multiple_outputs=False, doc_md=f"""Read the correction: the month, what DES holds, each person's difference (TCKN masked).
    {IF_IT_FAILS} "no correction #N": check the number with `oks corrections --all`, trigger again.""")
    def describe_correction(**context) -> dict:
        return correction.describe(int(context["params"]["correction_id"]))

    @task(doc_md=f"""The bank-transfer approval of the correction's obligation (none once paid or when rejected).
    {IF_IT_FAILS} a database problem: clear this task.""")
    def plan_confirmation(decision: dict, **context) -> list[dict]:
        return correction.confirmation_requests_of(int(context["params"]["correction_id"]))

    described = describe_correction()
    decision = DecideCorrectionOperator(
        task_id="decide_correction",
        correction_id="{{ params.correction_id }}",
        subject="{{ ti.xcom_pull(task_ids='describe_correction')['subject'] }}",
        body="{{ ti.xcom_pull(task_ids='describe_correction')['body'] }}",
        doc_md=f"Operations approve (sent once to DES, with its own obligation) or reject (with a reason). "
        f"{IF_IT_FAILS} DES unreachable after Approve: clear the task — the approved correction is sent under "
        "the same key without asking again; DES re-attaches.",
    )  # fmt: skip
    described >> decision
    ConfirmBankTransferOperator.partial(
        task_id="confirm_bank_transfer",
        map_index_template="Obligation #{{ task.obligation_id }}",
        retries=1,
        doc_md=f"Operations approve once the bank has executed the correction's transfer. "
        f"{IF_IT_FAILS} Rejected or no answer by the deadline: the money has not reached the insurer — pay now.",
    ).expand_kwargs(plan_confirmation(decision.output))


oks_correction()
