"""Alerts are claimed, then sent: a claim records the moment (claimed_at) and the subject, and sent_at
is written only once the channel took the alert. A process that died between the two leaves a claim
without sent_at; once its lease has passed, the next run or deadline watch claims it again and sends it
(at-least-once, under the same dedupe key). Rows from before were all sent.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("alerts") as batch_op:
        batch_op.add_column(sa.Column("subject", sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.alter_column("sent_at", existing_type=sa.DateTime(timezone=True), nullable=True, server_default=None,
                              existing_server_default=sa.func.current_timestamp())  # fmt: skip
    op.create_index("ix_alerts_unsent", "alerts", ["sent_at", "claimed_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_alerts_unsent", table_name="alerts")
    op.execute("DELETE FROM alerts WHERE sent_at IS NULL")
    with op.batch_alter_table("alerts") as batch_op:
        batch_op.alter_column("sent_at", existing_type=sa.DateTime(timezone=True), nullable=False,
                              server_default=sa.func.current_timestamp())  # fmt: skip
        batch_op.drop_column("claimed_at")
        batch_op.drop_column("subject")
