"""What the employment lifecycle needs in the store (docs/rules.md §6): each person's initial fund
preference from payroll (payroll lines, employees and their history), and, per enrolment, the digest
of the person's record the insurer last accepted (ENROL or UPDATE) and when — so a changed name,
birth date, mobile, e-mail or IBAN is sent as an UPDATE once, in the next run.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for table in ("payroll_lines", "employees", "employee_history"):
        with op.batch_alter_table(table) as batch_op:
            batch_op.add_column(sa.Column("fund_preference", sa.String(length=24), nullable=True))
    with op.batch_alter_table("enrolments") as batch_op:
        batch_op.add_column(sa.Column("sent_digest", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("record_sent_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("enrolments") as batch_op:
        batch_op.drop_column("record_sent_at")
        batch_op.drop_column("sent_digest")
    for table in ("employee_history", "employees", "payroll_lines"):
        with op.batch_alter_table(table) as batch_op:
            batch_op.drop_column("fund_preference")
