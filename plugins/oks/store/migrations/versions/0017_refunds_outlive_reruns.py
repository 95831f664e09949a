"""A refund owed outlives a re-run of the month it was deducted in: a re-run replaces the month's
contributions, and the refund's link to the one it came from becomes empty (ON DELETE SET NULL) instead
of refusing the re-run. The refund keeps what it is about (enrolment, period, kind, wage day, amount)
and is never recorded twice for it.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

_FK = "fk_refund_obligations_contribution_id_contributions"


def upgrade() -> None:
    with op.batch_alter_table("refund_obligations") as batch_op:
        batch_op.drop_constraint(_FK, type_="foreignkey")
        batch_op.alter_column("contribution_id", existing_type=sa.Integer(), nullable=True)
        batch_op.create_foreign_key(_FK, "contributions", ["contribution_id"], ["id"], ondelete="SET NULL")
        batch_op.create_unique_constraint("uq_refund_obligations_deduction", ["enrolment_id", "period", "payment_kind", "wage_paid_on"])


def downgrade() -> None:
    op.execute("DELETE FROM refund_obligations WHERE contribution_id IS NULL")
    with op.batch_alter_table("refund_obligations") as batch_op:
        batch_op.drop_constraint("uq_refund_obligations_deduction", type_="unique")
        batch_op.drop_constraint(_FK, type_="foreignkey")
        batch_op.alter_column("contribution_id", existing_type=sa.Integer(), nullable=False)
        batch_op.create_foreign_key(_FK, "contributions", ["contribution_id"], ["id"])
