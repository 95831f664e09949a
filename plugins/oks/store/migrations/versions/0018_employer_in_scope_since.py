"""Once in scope, always in scope (docs/rules.md §2): the first wage day an employer was found in scope of
automatic enrolment is kept, so an employer that shrinks below five stays in; and the date an employer
first reached five is written from payroll history (a month at five or more after one below).

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("employers") as batch_op:
        batch_op.add_column(sa.Column("in_scope_since", sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("employers") as batch_op:
        batch_op.drop_column("in_scope_since")
