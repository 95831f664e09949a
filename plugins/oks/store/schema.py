"""The OKS store schema (docs/architecture.md §4), as SQLAlchemy Core tables.

Core, not ORM: the pipeline moves rows in sets (INSERT … SELECT, COPY, UPDATE … FROM), never one object
at a time. Money is NUMERIC(14, 2) and comes back as Decimal on SQLite and PostgreSQL alike. Column
names are lower-case. Every change to this file goes with a migration under ``migrations/versions``.
"""

from __future__ import annotations

import sqlalchemy as sa

from oks.rules.vocabulary import ObligationState, Outcome

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
metadata = sa.MetaData(naming_convention=NAMING)

Money = sa.Numeric(14, 2, asdecimal=True)
Rate = sa.Numeric(7, 5, asdecimal=True)


def _now():
    return sa.func.current_timestamp()


def _timestamps():
    return (
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=_now()),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=_now()),
    )


# --- master data ---------------------------------------------------------------------------------

employers = sa.Table(
    "employers",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("vkn", sa.String(10), nullable=False, unique=True),
    sa.Column("name", sa.String(250), nullable=False),
    sa.Column("sector", sa.String(24), nullable=False, server_default="private"),
    sa.Column("headcount", sa.Integer),
    sa.Column("first_reached_five_on", sa.Date),
    # The first wage day the employer was found in scope: once in scope, always in scope.
    sa.Column("in_scope_since", sa.Date),
    *_timestamps(),
)

contracts = sa.Table(
    "contracts",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("contract_no", sa.String(40), nullable=False, unique=True),
    sa.Column("employer_id", sa.Integer, sa.ForeignKey("employers.id"), nullable=False, index=True),
    sa.Column("insurer", sa.String(16), nullable=False),
    sa.Column("starts_on", sa.Date, nullable=False),
    sa.Column("ends_on", sa.Date),
    sa.Column("rate", Rate),
    sa.Column("fixed_amount", Money),
    sa.Column("borne_by", sa.String(8), nullable=False, server_default="employee"),
    sa.Column("fund_kind", sa.String(24), nullable=False, server_default="STANDARD"),
    sa.Column("collection_iban", sa.String(34), nullable=False),
    sa.Column("bank", sa.String(100)),
    sa.Column("branch", sa.String(100)),
    sa.Column("des_registered_at", sa.DateTime(timezone=True)),
    sa.Column("ws_credentials_conn_id", sa.String(250)),
    sa.Column("channel", sa.String(8)),  # des | file from the contract master; None: by insurer (docs/channels.md)
    *_timestamps(),
)

employees = sa.Table(
    "employees",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("employer_id", sa.Integer, sa.ForeignKey("employers.id"), nullable=False),
    sa.Column("payroll_id", sa.String(40), nullable=False),
    sa.Column("tckn", sa.String(11), nullable=False),
    sa.Column("first_name", sa.String(100), nullable=False),
    sa.Column("last_name", sa.String(100), nullable=False),
    sa.Column("birth_date", sa.Date),
    sa.Column("citizenship", sa.String(12)),
    sa.Column("sgk_status", sa.String(4)),
    sa.Column("hire_date", sa.Date),
    sa.Column("exit_date", sa.Date),
    sa.Column("iban", sa.String(34)),
    sa.Column("mobile", sa.String(16)),
    sa.Column("email", sa.String(254)),
    sa.Column("has_oks_certificate", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("voluntary", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("last_run_id", sa.Integer),
    sa.Column("fund_preference", sa.String(24)),  # the initial fund choice from payroll; None: the contract's
    *_timestamps(),
    sa.UniqueConstraint("employer_id", "tckn"),
)

employee_history = sa.Table(
    "employee_history",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("employee_id", sa.Integer, sa.ForeignKey("employees.id"), nullable=False, index=True),
    sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.id")),
    sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False, server_default=_now()),
    # The row as it was before the change (the current row holds the new values).
    sa.Column("payroll_id", sa.String(40)),
    sa.Column("first_name", sa.String(100)),
    sa.Column("last_name", sa.String(100)),
    sa.Column("birth_date", sa.Date),
    sa.Column("citizenship", sa.String(12)),
    sa.Column("sgk_status", sa.String(4)),
    sa.Column("hire_date", sa.Date),
    sa.Column("exit_date", sa.Date),
    sa.Column("iban", sa.String(34)),
    sa.Column("mobile", sa.String(16)),
    sa.Column("email", sa.String(254)),
    sa.Column("has_oks_certificate", sa.Boolean),
    sa.Column("voluntary", sa.Boolean),
    sa.Column("fund_preference", sa.String(24)),
)

# --- enrolment -----------------------------------------------------------------------------------

ENROLMENT_STATES = ("pending", "submitted", "enrolled", "rejected", "opted_out", "paused", "left")

enrolments = sa.Table(
    "enrolments",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("employee_id", sa.Integer, sa.ForeignKey("employees.id"), nullable=False),
    sa.Column("contract_id", sa.Integer, sa.ForeignKey("contracts.id"), nullable=False, index=True),
    sa.Column("state", sa.String(12), nullable=False, server_default="pending"),
    sa.Column("state_since", sa.Date),
    sa.Column("reason", sa.String(200)),
    sa.Column("policy_no", sa.String(40)),
    sa.Column("rate_override", Rate),
    sa.Column("amount_override", Money),
    sa.Column("borne_by_override", sa.String(8)),
    sa.Column("first_contribution_on", sa.Date),
    sa.Column("notified_on", sa.Date),
    sa.Column("opt_out_window_ends_on", sa.Date),
    sa.Column("opted_out_on", sa.Date),
    sa.Column("paused_until", sa.Date),
    sa.Column("left_on", sa.Date),
    # The person's record as the insurer last accepted it (ENROL or UPDATE): a digest of what was sent,
    # and when — a later change of it in payroll is sent as an UPDATE, once.
    sa.Column("sent_digest", sa.String(64)),
    sa.Column("record_sent_at", sa.DateTime(timezone=True)),
    *_timestamps(),
    sa.UniqueConstraint("employee_id", "contract_id"),
    sa.CheckConstraint(f"state IN {ENROLMENT_STATES!r}", name="state"),
)

enrolment_events = sa.Table(
    "enrolment_events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    # Found by enrolment through the unique (enrolment_id, event_key) index below: no index of its own.
    sa.Column("enrolment_id", sa.Integer, sa.ForeignKey("enrolments.id"), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("source", sa.String(10), nullable=False),  # payroll | insurer | operator
    # Unique per enrolment: the same event delivered twice (a DES event id, a run id) applies once.
    sa.Column("event_key", sa.String(120), nullable=False),
    sa.Column("effective_on", sa.Date, nullable=False),
    sa.Column("notified_on", sa.Date),
    sa.Column("from_state", sa.String(12)),
    sa.Column("to_state", sa.String(12), nullable=False),
    sa.Column("detail", sa.JSON),
    sa.Column("applied_at", sa.DateTime(timezone=True), nullable=False, server_default=_now()),
    sa.UniqueConstraint("enrolment_id", "event_key"),
)

REQUEST_KINDS = ("OPT_OUT", "PAUSE", "RESUME", "LEAVE")
REQUEST_STATES = ("recorded", "forwarded", "done", "refused")

# Requests the employee made at the employer (docs/rules.md §6): recorded by operations, deductions stop
# from the next wage, forwarded to the insurer once; its decision comes back as a status event.
employer_requests = sa.Table(
    "employer_requests",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("enrolment_id", sa.Integer, sa.ForeignKey("enrolments.id"), nullable=False),
    sa.Column("kind", sa.String(8), nullable=False),
    sa.Column("requested_on", sa.Date, nullable=False),
    sa.Column("months", sa.Integer),  # a pause: how long
    sa.Column("state", sa.String(10), nullable=False, server_default="recorded", index=True),
    sa.Column("recorded_by", sa.String(120), nullable=False),
    sa.Column("des_request_id", sa.String(80)),
    sa.Column("event_id", sa.String(80)),  # the insurer's status event that decided it
    sa.Column("error", sa.String(200)),  # why the insurer refused it
    *_timestamps(),
    sa.UniqueConstraint("enrolment_id", "kind", "requested_on"),
    sa.CheckConstraint(f"kind IN {REQUEST_KINDS!r}", name="kind"),
    sa.CheckConstraint(f"state IN {REQUEST_STATES!r}", name="state"),
)

# --- runs and their data -------------------------------------------------------------------------

runs = sa.Table(
    "runs",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("run_key", sa.String(250), nullable=False, unique=True),  # e.g. the Airflow run id
    sa.Column("period", sa.String(7), nullable=False, index=True),
    sa.Column("employers", sa.JSON),
    sa.Column("dry_run", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("source", sa.String(250)),
    sa.Column("state", sa.String(16), nullable=False, server_default="running"),
    sa.Column("started_at", sa.DateTime(timezone=True), nullable=False, server_default=_now()),
    sa.Column("finished_at", sa.DateTime(timezone=True)),
    sa.Column("summary", sa.JSON),
    # Who runs it while it is running (an Airflow run id): one run of a period at a time.
    sa.Column("owner", sa.String(250)),
    sa.Column("owned_since", sa.DateTime(timezone=True)),
)

# Every attempt of a run, kept: a re-run replaces the run's snapshot, never the record that an
# earlier attempt ran, by whom, and how it ended.
run_attempts = sa.Table(
    "run_attempts",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.id", ondelete="CASCADE"), nullable=False, index=True),
    sa.Column("owner", sa.String(250)),
    sa.Column("state", sa.String(16), nullable=False, server_default="running"),
    sa.Column("started_at", sa.DateTime(timezone=True), nullable=False, server_default=_now()),
    sa.Column("finished_at", sa.DateTime(timezone=True)),
    sa.Column("failure", sa.JSON),  # task and error, masked: as the run's summary has them
)

payroll_lines = sa.Table(
    "payroll_lines",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.id", ondelete="CASCADE"), nullable=False),
    sa.Column("row_no", sa.Integer, nullable=False),  # 1-based position in the source (data rows)
    sa.Column("employer_vkn", sa.String(10), nullable=False),
    sa.Column("employer_name", sa.String(250)),
    sa.Column("employer_sector", sa.String(24)),
    sa.Column("employer_headcount", sa.Integer),
    sa.Column("workplace_sgk_no", sa.String(40)),
    sa.Column("payroll_id", sa.String(40), nullable=False),
    sa.Column("tckn", sa.String(20), nullable=False),  # as extracted; validation normalizes
    sa.Column("first_name", sa.String(100)),
    sa.Column("last_name", sa.String(100)),
    sa.Column("birth_date", sa.Date),
    sa.Column("citizenship", sa.String(12)),
    sa.Column("sgk_status", sa.String(4)),
    sa.Column("hire_date", sa.Date),
    sa.Column("exit_date", sa.Date),
    sa.Column("iban", sa.String(40)),
    sa.Column("mobile", sa.String(30)),
    sa.Column("email", sa.String(254)),
    sa.Column("has_oks_certificate", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("voluntary", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("contract_no", sa.String(40), nullable=False),
    sa.Column("rate_override", Rate),
    sa.Column("amount_override", Money),
    sa.Column("borne_by", sa.String(8)),
    sa.Column("period", sa.String(7), nullable=False),
    sa.Column("payment_kind", sa.String(16), nullable=False, server_default="regular"),
    sa.Column("pek", Money, nullable=False),
    sa.Column("sgk_days", sa.Integer, nullable=False),
    sa.Column("wage_paid_on", sa.Date, nullable=False),
    sa.Column("fund_preference", sa.String(24)),
    sa.Column("payroll_deduction", Money),  # payroll's own computed deduction, when the extract carries it
    sa.UniqueConstraint("run_id", "row_no"),
)

OUTCOMES = tuple(o.value for o in Outcome)  # plain strings: the CHECK constraint's text must not change

quarantine = sa.Table(
    "quarantine",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.id", ondelete="CASCADE"), nullable=False, index=True),
    sa.Column("row_no", sa.Integer, nullable=False),
    sa.Column("payroll_id", sa.String(40)),
    sa.Column("stage", sa.String(12), nullable=False),  # extract | validate | insurer
    sa.Column("field", sa.String(40), nullable=False),
    sa.Column("rule", sa.String(120), nullable=False),  # reason code or expectation name
    sa.Column("message", sa.String(500), nullable=False),  # masked: never a full personal value
    sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False, server_default=_now()),
    # "Is this line quarantined?" is asked per line by registration, assessment and reconciliation.
    sa.Index("ix_quarantine_run_id_row_no", "run_id", "row_no"),
)

contributions = sa.Table(
    "contributions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    # Found by run through the (run_id, contract_id) index below: no index of its own.
    sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.id", ondelete="CASCADE"), nullable=False),
    sa.Column("payroll_line_id", sa.Integer, sa.ForeignKey("payroll_lines.id", ondelete="CASCADE"), nullable=False, unique=True),
    sa.Column("employee_id", sa.Integer, sa.ForeignKey("employees.id")),
    sa.Column("contract_id", sa.Integer, sa.ForeignKey("contracts.id")),
    sa.Column("enrolment_id", sa.Integer, sa.ForeignKey("enrolments.id")),
    sa.Column("period", sa.String(7), nullable=False),
    sa.Column("payment_kind", sa.String(16), nullable=False),
    sa.Column("outcome", sa.String(16), nullable=False),
    sa.Column("reason", sa.String(120), nullable=False),
    sa.Column("basis", Money),
    sa.Column("rate", Rate),
    sa.Column("amount", Money, nullable=False, server_default="0"),
    sa.CheckConstraint(f"outcome IN {OUTCOMES!r}", name="outcome"),
    # The DES steps read one contract's lines of a run at a time.
    sa.Index("ix_contributions_run_id_contract_id", "run_id", "contract_id"),
)

# --- DES and money -------------------------------------------------------------------------------

des_requests = sa.Table(
    "des_requests",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("kind", sa.String(24), nullable=False),  # personnel_list | payment | contract | ...
    sa.Column("contract_no", sa.String(40), nullable=False),
    sa.Column("period", sa.String(7)),
    sa.Column("payment_kind", sa.String(16)),
    # Stored before the call: a retry after a crash finds it and re-attaches instead of sending twice.
    sa.Column("idempotency_key", sa.String(120), nullable=False, unique=True),
    sa.Column("content_hash", sa.String(64), nullable=False),
    sa.Column("des_id", sa.String(80)),
    sa.Column("state", sa.String(16), nullable=False, server_default="recorded"),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("last_error", sa.String(500)),
    sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.id")),
    *_timestamps(),
    sa.Index("ix_des_requests_contract_period", "contract_no", "period", "kind"),
)

OBLIGATION_STATES = tuple(s.value for s in ObligationState)

payment_obligations = sa.Table(
    "payment_obligations",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("contract_id", sa.Integer, sa.ForeignKey("contracts.id"), nullable=False),
    sa.Column("period", sa.String(7), nullable=False),
    sa.Column("payment_kind", sa.String(16), nullable=False),
    sa.Column("wage_paid_on", sa.Date, nullable=False),
    sa.Column("amount", Money, nullable=False),
    sa.Column("due_on", sa.Date, nullable=False, index=True),
    sa.Column("cutoff", sa.Time),
    sa.Column("state", sa.String(12), nullable=False, server_default="due"),
    sa.Column("reference", sa.String(140), nullable=False),
    sa.Column("collection_iban", sa.String(34), nullable=False),
    sa.Column("des_payment_id", sa.String(80)),
    sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.id")),
    # Set on the obligation of an approved correction (payment_kind "correction"): its own deadline.
    sa.Column("correction_id", sa.Integer, sa.ForeignKey("payment_corrections.id")),
    sa.Column("paid_at", sa.DateTime(timezone=True)),
    sa.Column("confirmed_by", sa.String(120)),
    sa.Column("bank_reference", sa.String(64)),  # the bank's reference of the transfer, as confirmed
    sa.Column("days_late", sa.Integer),  # state late: calendar days from the due day to the day it was paid
    *_timestamps(),
    # One obligation per contract, period, kind and wage day — and one per approved correction (two
    # corrections of one month may be approved on the same day).
    sa.Index("uq_payment_obligations_month", "contract_id", "period", "payment_kind", "wage_paid_on", unique=True,
             sqlite_where=sa.text("correction_id IS NULL"), postgresql_where=sa.text("correction_id IS NULL")),
    sa.Index("uq_payment_obligations_correction_id", "correction_id", unique=True),
    sa.CheckConstraint(f"state IN {OBLIGATION_STATES!r}", name="state"),
)

# A late obligation's cost to the employee, which the employer must make good (4632 md. 5): the return
# the fund would have earned over the days late comes from the insurer or operations, never guessed.
loss_claims = sa.Table(
    "loss_claims",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("obligation_id", sa.Integer, sa.ForeignKey("payment_obligations.id"), nullable=False, unique=True),
    sa.Column("days_late", sa.Integer, nullable=False),
    sa.Column("amount", Money, nullable=False),
    sa.Column("fund_return_percent", sa.Numeric(9, 5)),
    sa.Column("return_source", sa.String(12)),  # insurer | operator
    sa.Column("loss", Money),
    sa.Column("state", sa.String(8), nullable=False, server_default="open"),  # open | known | settled
    sa.Column("entered_by", sa.String(120)),
    *_timestamps(),
    sa.CheckConstraint("state IN ('open', 'known', 'settled')", name="state"),
)

CORRECTION_STATES = ("proposed", "approved", "sent", "refused")

payment_corrections = sa.Table(
    "payment_corrections",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("contract_id", sa.Integer, sa.ForeignKey("contracts.id"), nullable=False),
    sa.Column("period", sa.String(7), nullable=False),
    sa.Column("payment_kind", sa.String(16), nullable=False),  # of the payment it corrects: regular | supplementary
    sa.Column("original_des_payment_id", sa.String(80), nullable=False),
    sa.Column("original_total", Money, nullable=False),  # what DES accepted of the original
    sa.Column("original_wage_paid_on", sa.Date, nullable=False),
    sa.Column("content_hash", sa.String(64), nullable=False),  # of the differences: one proposal per change
    sa.Column("to_pay", Money, nullable=False),  # the positive differences: sent when approved
    sa.Column("over_paid", Money, nullable=False),  # the negative ones (as a positive amount): to reclaim
    sa.Column("people", sa.Integer, nullable=False),
    sa.Column("state", sa.String(12), nullable=False, server_default="proposed"),
    sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.id")),
    sa.Column("decided_by", sa.String(120)),
    sa.Column("decided_at", sa.DateTime(timezone=True)),
    sa.Column("reason", sa.String(500)),
    sa.Column("wage_paid_on", sa.Date),  # the day the difference is deducted: fixed at approval, before sending
    sa.Column("des_payment_id", sa.String(80)),
    *_timestamps(),
    sa.UniqueConstraint("original_des_payment_id", "content_hash"),
    sa.CheckConstraint(f"state IN {CORRECTION_STATES!r}", name="state"),
)

payment_correction_items = sa.Table(
    "payment_correction_items",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("correction_id", sa.Integer, sa.ForeignKey("payment_corrections.id", ondelete="CASCADE"), nullable=False, index=True),
    sa.Column("tckn", sa.String(11), nullable=False),
    sa.Column("policy_no", sa.String(40), nullable=False),
    sa.Column("paid", Money, nullable=False),  # accepted by the insurer in the original payment
    sa.Column("due", Money, nullable=False),  # what this run computes
    sa.Column("difference", Money, nullable=False),
)

# EGM's or an insurer's notice that a person who opted out or left the plan while employed is due for
# re-enrolment: applied once, by the next run that finds them on payroll (docs/rules.md §6).
reenrolment_notices = sa.Table(
    "reenrolment_notices",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("enrolment_id", sa.Integer, sa.ForeignKey("enrolments.id"), nullable=False),
    sa.Column("notified_on", sa.Date, nullable=False),
    sa.Column("source", sa.String(40), nullable=False),  # EGM, or the insurer
    sa.Column("imported_by", sa.String(120), nullable=False),
    sa.Column("applied_run_id", sa.Integer),  # the run that re-enrolled the person
    *_timestamps(),
    sa.UniqueConstraint("enrolment_id", "notified_on"),
)

# A contract's month moved to another channel by an operator (docs/channels.md): the latest switch of
# a contract and period decides, the insurer's default otherwise. Kept as a record, never edited.
channel_switches = sa.Table(
    "channel_switches",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("contract_id", sa.Integer, sa.ForeignKey("contracts.id"), nullable=False),
    sa.Column("period", sa.String(7), nullable=False),
    sa.Column("channel", sa.String(8), nullable=False),
    sa.Column("switched_by", sa.String(120), nullable=False),
    sa.Column("reason", sa.String(300), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.current_timestamp()),
    sa.CheckConstraint("channel IN ('des', 'file')", name="channel"),
    sa.Index("ix_channel_switches_contract_id_period", "contract_id", "period"),
)

# A deduction made from a wage paid after the person's effective opt-out (cayma): owed back to the
# employee within ten business days of the day it became known (docs/rules.md §6).
refund_obligations = sa.Table(
    "refund_obligations",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    # The contribution it came from, while it stands: a re-run of the month replaces the month's
    # contributions, and the refund — a deduction already made — stays owed, known by what it is about.
    sa.Column("contribution_id", sa.Integer, sa.ForeignKey("contributions.id", ondelete="SET NULL"), unique=True),
    sa.Column("enrolment_id", sa.Integer, sa.ForeignKey("enrolments.id"), nullable=False),
    sa.Column("period", sa.String(7), nullable=False),
    sa.Column("payment_kind", sa.String(16), nullable=False),
    sa.Column("amount", Money, nullable=False),
    sa.Column("reason", sa.String(60), nullable=False),
    sa.Column("wage_paid_on", sa.Date, nullable=False),
    sa.Column("opted_out_on", sa.Date, nullable=False),
    sa.Column("known_on", sa.Date, nullable=False),  # the day the opt-out reached the store: the ten days count from it
    sa.Column("due_on", sa.Date, nullable=False, index=True),
    sa.Column("cutoff", sa.Time),
    sa.Column("state", sa.String(8), nullable=False, server_default="due"),
    sa.Column("paid_at", sa.DateTime(timezone=True)),
    sa.Column("confirmed_by", sa.String(120)),
    sa.Column("bank_reference", sa.String(80)),
    *_timestamps(),
    sa.CheckConstraint("state IN ('due', 'paid')", name="state"),
    sa.UniqueConstraint("enrolment_id", "period", "payment_kind", "wage_paid_on", name="uq_refund_obligations_deduction"),
)

alerts = sa.Table(
    "alerts",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("dedupe_key", sa.String(200), nullable=False, unique=True),
    sa.Column("obligation_id", sa.Integer, sa.ForeignKey("payment_obligations.id")),
    sa.Column("refund_id", sa.Integer, sa.ForeignKey("refund_obligations.id")),  # an alert about a refund owed
    sa.Column("level", sa.String(12), nullable=False),  # warn | page | overdue
    sa.Column("channel", sa.String(40), nullable=False),
    sa.Column("message", sa.String(2000), nullable=False),
    sa.Column("subject", sa.String(300)),
    # Claimed before it is sent, sent_at once the channel took it: a claim without sent_at whose lease
    # has passed belongs to a process that died in between, and is claimed and sent again.
    sa.Column("claimed_at", sa.DateTime(timezone=True)),
    sa.Column("sent_at", sa.DateTime(timezone=True)),
    sa.Index("ix_alerts_unsent", "sent_at", "claimed_at"),
)

des_event_cursors = sa.Table(
    "des_event_cursors",
    metadata,
    sa.Column("contract_no", sa.String(40), primary_key=True),
    sa.Column("cursor", sa.String(120)),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=_now()),
)
