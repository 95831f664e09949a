"""The bank's reference of a confirmed transfer: what the auditors match against the bank statement.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("payment_obligations") as batch:
        batch.add_column(sa.Column("bank_reference", sa.String(64)))


def downgrade() -> None:
    with op.batch_alter_table("payment_obligations") as batch:
        batch.drop_column("bank_reference")
