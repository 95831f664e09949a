"""Lateness is a state, with its cost (docs/rules.md §5): an obligation whose transfer is confirmed after
its deadline is ``late`` with the days late, and a loss claim per late obligation records what the
employer owes the employee for it (4632 md. 5): the days, the amount, the fund return to apply — as the
insurer supplies it or operations enter it, never invented — and the loss once it is known.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("payment_obligations") as batch_op:
        batch_op.add_column(sa.Column("days_late", sa.Integer(), nullable=True))
    op.create_table(
        "loss_claims",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("obligation_id", sa.Integer(), nullable=False),
        sa.Column("days_late", sa.Integer(), nullable=False),
        sa.Column("amount", sa.Numeric(14, 2), nullable=False),
        sa.Column("fund_return_percent", sa.Numeric(9, 5), nullable=True),
        sa.Column("return_source", sa.String(length=12), nullable=True),
        sa.Column("loss", sa.Numeric(14, 2), nullable=True),
        sa.Column("state", sa.String(length=8), server_default="open", nullable=False),
        sa.Column("entered_by", sa.String(length=120), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.current_timestamp(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.current_timestamp(), nullable=False),
        sa.CheckConstraint("state IN ('open', 'known', 'settled')", name=op.f("ck_loss_claims_state")),
        sa.ForeignKeyConstraint(["obligation_id"], ["payment_obligations.id"], name=op.f("fk_loss_claims_obligation_id_payment_obligations")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_loss_claims")),
        sa.UniqueConstraint("obligation_id", name=op.f("uq_loss_claims_obligation_id")),
    )


def downgrade() -> None:
    op.drop_table("loss_claims")
    with op.batch_alter_table("payment_obligations") as batch_op:
        batch_op.drop_column("days_late")
