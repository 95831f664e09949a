"""Refunds owed to employees (docs/rules.md §6): a deduction made from a wage paid after the person's
effective opt-out (cayma) goes back to them within ten business days. One refund obligation per such
contribution — amount, period, reason, due date — escalated by the deadline watch like a payment
(alerts name the refund they are about).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "refund_obligations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contribution_id", sa.Integer(), nullable=False),
        sa.Column("enrolment_id", sa.Integer(), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("payment_kind", sa.String(length=16), nullable=False),
        sa.Column("amount", sa.Numeric(14, 2), nullable=False),
        sa.Column("reason", sa.String(length=60), nullable=False),
        sa.Column("wage_paid_on", sa.Date(), nullable=False),
        sa.Column("opted_out_on", sa.Date(), nullable=False),
        sa.Column("known_on", sa.Date(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("cutoff", sa.Time(), nullable=True),
        sa.Column("state", sa.String(length=8), server_default="due", nullable=False),
        sa.Column("paid_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("confirmed_by", sa.String(length=120), nullable=True),
        sa.Column("bank_reference", sa.String(length=80), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.current_timestamp(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.current_timestamp(), nullable=False),
        sa.CheckConstraint("state IN ('due', 'paid')", name=op.f("ck_refund_obligations_state")),
        sa.ForeignKeyConstraint(["contribution_id"], ["contributions.id"], name=op.f("fk_refund_obligations_contribution_id_contributions")),
        sa.ForeignKeyConstraint(["enrolment_id"], ["enrolments.id"], name=op.f("fk_refund_obligations_enrolment_id_enrolments")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_refund_obligations")),
        sa.UniqueConstraint("contribution_id", name=op.f("uq_refund_obligations_contribution_id")),
    )
    op.create_index(op.f("ix_refund_obligations_due_on"), "refund_obligations", ["due_on"], unique=False)
    with op.batch_alter_table("alerts") as batch_op:
        batch_op.add_column(sa.Column("refund_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(op.f("fk_alerts_refund_id_refund_obligations"), "refund_obligations", ["refund_id"], ["id"])


def downgrade() -> None:
    with op.batch_alter_table("alerts") as batch_op:
        batch_op.drop_constraint(op.f("fk_alerts_refund_id_refund_obligations"), type_="foreignkey")
        batch_op.drop_column("refund_id")
    op.drop_index(op.f("ix_refund_obligations_due_on"), table_name="refund_obligations")
    op.drop_table("refund_obligations")
