"""
### OKS monthly run — automatic BES enrolment for one pay period

Extracts the period's payroll, validates personnel data, decides who must be enrolled, computes the
contributions, sends personnel and then payments to DES (İŞNET Dijital Eko Sistem) for every contract
whose month goes by DES, writes the insurer's upload files for every other (docs/channels.md), waits
for the insurers' policy numbers and transfer confirmations, records what must be paid to which
insurer by when, proves the accounting adds up, publishes the report, and asks operations to confirm
each upload and each bank transfer.

**Params:** `period` (YYYY-MM; empty = the month of the run's date in Istanbul: a scheduled run on the
25th takes its own month, a manual run the current one), `employers` (VKNs, empty = all),
`dry_run` (everything but the DES calls), `payroll_source` (`sql` = the `oks_payroll` connection, or a
folder with `payroll.csv` and `contracts.csv`), `expected_wage_day` (for the Deadline Alert),
`des_batch_size` (contracts per mapped DES task).

**Deployed paused.** Unpause it once the payroll source is configured: a run with no `payroll_source`
and no `oks_payroll` connection fails at its first task, naming the connection, before any DES call.

**Re-running** a period is safe: the store's run for the period is replaced, DES re-attaches to the
lists and payments it already holds, and a paid month is never paid again.

**Deadlines:** the statutory payment deadline is the business day after the wage payment day. The
`oks_deadline_watch` DAG pages on-call from the store; this DAG also carries a Deadline Alert.
"""

from __future__ import annotations

import os
from datetime import timedelta

import pendulum
from airflow.sdk import AsyncCallback, DeadlineAlert, Param, dag, get_current_context, task, task_group

from oks.orchestration import monthly
from oks.orchestration.deadlines import StatutoryPaymentDeadline, notify_deadline_missed
from oks.orchestration.notifiers import OnCallNotifier
from oks.orchestration.operators import ConfirmBankTransferOperator, ConfirmUploadOperator
from oks.orchestration.sensors import DesCompletionSensor

IF_IT_FAILS = "**If it fails**"
PERIODS = monthly.selectable_periods()
# DES re-checks every 5 minutes; a local run against the simulator sets OKS_DES_POLL_SECONDS low.
POLL_SECONDS = float(os.environ.get("OKS_DES_POLL_SECONDS", "300"))


@dag(
    dag_id="oks_monthly",
    description="OKS (automatic BES enrolment): payroll → validation → DES → insurers → payment deadline",
    doc_md=__doc__,
    # The 25th, 07:00 Istanbul: before month-end wages, so lists and payments are through DES in time.
    schedule="0 7 25 * *",
    start_date=pendulum.datetime(2026, 1, 1, tz="Europe/Istanbul"),
    catchup=False,
    max_active_runs=1,
    # Paused when first deployed: the schedule starts only once someone has configured the payroll
    # source and unpauses it on purpose.
    is_paused_upon_creation=True,
    tags=["oks", "payroll", "des"],
    default_args={
        "owner": "oks-payroll",
        # Production retries ride out DES hiccups; local runs and tests set OKS_TASK_RETRIES=0 to fail fast.
        "retries": int(os.environ.get("OKS_TASK_RETRIES", "2")),
        "retry_delay": timedelta(seconds=int(os.environ.get("OKS_RETRY_DELAY_SECONDS", "120"))),
        "retry_exponential_backoff": True,
        # Page on-call, and mark the store's run failed with the task and its error.
        "on_failure_callback": [OnCallNotifier(), monthly.record_failure],
    },
    params={
        # Optional params are nullable, so the trigger form leaves them empty instead of demanding a value.
        # A choice of real months (2017-01 to a year ahead), so the form cannot ask for 2026-13.
        "period": Param(None, type=["null", "string"], enum=[None, *PERIODS],
                        values_display={"null": "— the run's own month (Istanbul) —", **PERIODS}, title="Pay period",
                        description="The month to run. Empty: the month of the run's date in Istanbul."),
        "employers": Param(None, type=["null", "array"], items={"type": "string", "pattern": r"^\d{10}$"},
                           description="Employer VKNs (10 digits), one per line; empty for all"),
        "dry_run": Param(False, type="boolean", description="Do everything except calling DES"),
        "payroll_source": Param(None, type=["null", "string"],
                                description="Empty or 'sql': the oks_payroll connection; or a folder with payroll.csv + contracts.csv"),
        "expected_wage_day": Param(None, type=["null", "integer"], minimum=1, maximum=31, description="Day wages are paid (Deadline Alert)"),
        "des_batch_size": Param(50, type="integer", minimum=1, description="Contracts per mapped DES task"),
    },
    deadline=DeadlineAlert(
        reference=StatutoryPaymentDeadline(), interval=timedelta(0), callback=AsyncCallback(notify_deadline_missed),
        name="on-call is paged when the run has not finished by then",
    ),
)
def oks_monthly():
    # multiple_outputs: the store's run id is handed on as its own XCom (extracted["store_run_id"]);
    # every other summary travels as one value.
    @task(multiple_outputs=True, doc_md=f"""Extract the period's payroll into the run's snapshot; malformed rows are quarantined with row and field.
    {IF_IT_FAILS} a missing column or an empty extract: fix the export or the `oks_payroll` query, then clear this task.
    "already being run by": another run holds the period — wait for it, or `oks release-run` a dead one.""")
    def extract_payroll(**context) -> dict:
        return monthly.extract_payroll(context["params"], context.get("logical_date"))

    @task(multiple_outputs=False, doc_md=f"""Great Expectations suites over the snapshot; failing rows are quarantined (masked), Data Docs written.
    {IF_IT_FAILS} the invalid share passed the threshold or a column is missing: read the Data Docs, fix payroll, re-run.""")
    def validate_personnel(store_run_id: int) -> dict:
        return monthly.validate_personnel(store_run_id)

    @task(multiple_outputs=False, doc_md=f"""Upsert employees from the valid lines, keeping history of changed personal data.
    {IF_IT_FAILS} a database problem: check the `oks_store` connection, then clear this task.""")
    def register_personnel(store_run_id: int) -> dict:
        return monthly.register_personnel(store_run_id)

    @task(multiple_outputs=False, doc_md=f"""Pull opt-outs, pauses, exits and cancellations from DES before anything is deducted.
    {IF_IT_FAILS} DES unreachable: retried automatically; if it persists check `des_default`, then clear this task.""")
    def sync_insurer_status(store_run_id: int) -> dict:
        return monthly.sync_insurer_status(store_run_id)

    @task(multiple_outputs=False, doc_md=f"""Decide each person's outcome: enrol, already enrolled, not eligible (reason), inactive, rejected.
    {IF_IT_FAILS} lines without an employee or contract record: check the contract master, then clear this task.""")
    def assess_eligibility(store_run_id: int) -> dict:
        return monthly.assess_eligibility(store_run_id)

    @task(multiple_outputs=False, doc_md=f"""Compute each contribution: 3% of PEK (or the person's/contract's rate or amount), kuruş dropped.
    {IF_IT_FAILS} a year without SGK parameters: add `rules/data/parameters/<year>.toml`, then clear this task.""")
    def compute_contributions(store_run_id: int) -> dict:
        return monthly.compute_contributions(store_run_id)

    @task(doc_md=f"""Split the contracts with work into batches for the mapped DES tasks.
    {IF_IT_FAILS} a database problem: clear this task.""")
    def plan_des_batches(store_run_id: int, **context) -> list[dict]:
        return monthly.plan_des_batches(store_run_id, int(context["params"]["des_batch_size"]))

    @task_group(group_id="des", tooltip="Per batch of contracts: personnel → policy numbers → payment → transfer")
    def des_work(batch: dict):
        @task(map_index_template="{{ batch_label }}", doc_md=f"""Register the contracts on DES and send the people not yet answered by the insurer.
        {IF_IT_FAILS} missing WS credentials or DES down: fix `oks_ws_*`/`des_default`, clear the task — it re-attaches.""")
        def submit_personnel(batch: dict) -> list[str]:
            get_current_context()["batch_label"] = batch["label"]
            return monthly.submit_personnel(batch)

        @task(multiple_outputs=False, map_index_template="{{ batch_label }}", doc_md=f"""Record policy numbers and rejections (rejected people are quarantined).
        {IF_IT_FAILS} clear this task: answers are applied once.""")
        def record_personnel_results(batch: dict) -> dict:
            get_current_context()["batch_label"] = batch["label"]
            return monthly.record_personnel_results(batch)

        @task(map_index_template="{{ batch_label }}", doc_md=f"""Send the contributions as one payment per contract and kind.
        {IF_IT_FAILS} DUPLICATE_PERIOD with other content stops for a human: compare with DES; never pay a month twice.""")
        def submit_payment(batch: dict) -> list[str]:
            get_current_context()["batch_label"] = batch["label"]
            return monthly.submit_payment(batch)

        @task(map_index_template="{{ batch_label }}", doc_md=f"""Record the transfer and the payment obligations (amount, insurer IBAN, reference, due date).
        {IF_IT_FAILS} an obligation conflicts with a paid one: reconcile with the insurer before anything else.""")
        def record_payment_obligation(batch: dict) -> list[int]:
            get_current_context()["batch_label"] = batch["label"]
            return monthly.record_payment_obligation(batch)

        lists = submit_personnel(batch)
        waited = DesCompletionSensor(
            task_id="wait_for_policy_numbers", kind="personnel_list", ids=lists, poll_interval=POLL_SECONDS,
            doc_md=f"Wait (in the triggerer) until the insurers have answered every personnel list. {IF_IT_FAILS} "
            "the insurer did not answer in time: check DES, then clear — it only waits.",
        )  # fmt: skip
        recorded = record_personnel_results(batch)
        payments = submit_payment(batch)
        transferred = DesCompletionSensor(
            task_id="wait_for_transfer", kind="payment", ids=payments, poll_interval=POLL_SECONDS,
            doc_md=f"Wait (in the triggerer) until DES reports the transfers complete. {IF_IT_FAILS} check DES, then clear.",
        )  # fmt: skip
        obligations = record_payment_obligation(batch)
        waited >> recorded >> payments
        transferred >> obligations
        return obligations

    @task(doc_md=f"""Split the contracts whose month goes by the insurer's file upload into batches.
    {IF_IT_FAILS} a database problem: clear this task.""")
    def plan_file_batches(store_run_id: int, **context) -> list[dict]:
        return monthly.plan_file_batches(store_run_id, int(context["params"]["des_batch_size"]))

    @task(map_index_template="{{ batch_label }}", doc_md=f"""Write each contract's personnel list and contribution files into the outbox by the insurer's profile; record the payment obligations.
    {IF_IT_FAILS} "already held by DES": the month was paid through DES — never upload it too; a profile error names its file: fix it, clear.""")
    def write_insurer_files(batch: dict) -> list[int]:
        get_current_context()["batch_label"] = batch["label"]
        return monthly.write_insurer_files(batch)

    @task(trigger_rule="none_failed", doc_md=f"""One upload confirmation per contract whose files wait in the outbox.
    {IF_IT_FAILS} clear this task.""")
    def plan_upload_confirmations(store_run_id: int) -> list[dict]:
        return monthly.plan_upload_confirmations(store_run_id)

    @task(multiple_outputs=False, trigger_rule="none_failed", doc_md=f"""Prove the invariants: one outcome per row; contributions = payment = obligation; one REGULAR payment a month.
    {IF_IT_FAILS} STOP: do not pay by hand until the difference is explained (the message lists it).""")
    def reconcile_run(store_run_id: int) -> dict:
        return monthly.reconcile_run(store_run_id)

    @task(multiple_outputs=False, trigger_rule="none_failed", doc_md=f"""Write the run report (HTML + CSV, masked) with the payments to make.
    {IF_IT_FAILS} clear this task: it only reads the store.""")
    def publish_report(store_run_id: int) -> dict:
        return monthly.publish_report(store_run_id)

    @task(trigger_rule="none_failed", doc_md=f"""One approval request per unpaid obligation, each timing out at its deadline.
    {IF_IT_FAILS} clear this task.""")
    def plan_confirmations(store_run_id: int) -> list[dict]:
        return monthly.plan_confirmations(store_run_id)

    extracted = extract_payroll()
    store_run_id = extracted["store_run_id"]  # the store's run (Airflow's context has a run_id of its own)
    validated = validate_personnel(store_run_id)
    registered = register_personnel(store_run_id)
    synced = sync_insurer_status(store_run_id)
    assessed = assess_eligibility(store_run_id)
    computed = compute_contributions(store_run_id)
    batches = plan_des_batches(store_run_id)
    validated >> registered >> synced >> assessed >> computed >> batches

    work = des_work.expand(batch=batches)
    file_batches = plan_file_batches(store_run_id)
    computed >> file_batches
    files = write_insurer_files.expand(batch=file_batches)
    reconciled = reconcile_run(store_run_id)
    files >> reconciled
    reported = publish_report(store_run_id)
    requests = plan_confirmations(store_run_id)
    work >> reconciled >> reported >> requests
    uploads = plan_upload_confirmations(store_run_id)
    reported >> uploads

    ConfirmBankTransferOperator.partial(
        task_id="confirm_bank_transfer",
        map_index_template="Obligation #{{ task.obligation_id }}",
        # A Reject or a timeout fails at once (no retry) and pages on-call; only an infrastructure
        # failure is retried, and the retry finds an obligation confirmed meanwhile in the store.
        retries=1,
        doc_md=f"Operations approve once the bank has executed the transfer (or `oks confirm-payment` answers). "
        f"{IF_IT_FAILS} Rejected or no answer by the deadline: the money has not reached the insurer — pay now.",
    ).expand_kwargs(requests)

    ConfirmUploadOperator.partial(
        task_id="confirm_upload",
        map_index_template="{{ task.contract_no }} {{ task.period }}",
        retries=1,
        doc_md=f"Operations upload the contract's files to the insurer's portal, then approve (or `oks confirm-upload`). "
        f"{IF_IT_FAILS} Rejected: the month is not with the insurer — upload now; the transfer is due all the same.",
    ).expand_kwargs(uploads)


oks_monthly()
