"""Payroll's own computed OKS deduction on each payroll line, when the extract carries it
(docs/payroll-source.md, column ``payroll_deduction``): the run flags every person whose deduction
differs from the contribution it sends.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("payroll_lines") as batch_op:
        batch_op.add_column(sa.Column("payroll_deduction", sa.Numeric(precision=14, scale=2), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("payroll_lines") as batch_op:
        batch_op.drop_column("payroll_deduction")
