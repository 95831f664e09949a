"""Two indexes every lookup already finds in a wider one: enrolment events by enrolment (the unique
(enrolment, event key) index starts with it) and contributions by run (so does the (run, contract)
index). Each was written on every insert — a million contributions and three million events a month
at a bureau's size — and read by nothing.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04
"""

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("enrolment_events") as batch_op:
        batch_op.drop_index("ix_enrolment_events_enrolment_id")
    with op.batch_alter_table("contributions") as batch_op:
        batch_op.drop_index("ix_contributions_run_id")


def downgrade() -> None:
    with op.batch_alter_table("contributions") as batch_op:
        batch_op.create_index("ix_contributions_run_id", ["run_id"], unique=False)
    with op.batch_alter_table("enrolment_events") as batch_op:
        batch_op.create_index("ix_enrolment_events_enrolment_id", ["enrolment_id"], unique=False)
