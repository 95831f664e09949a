"""Index the quarantine by (run, row): every per-line "is it quarantined?" lookup uses it.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_quarantine_run_id_row_no", "quarantine", ["run_id", "row_no"])


def downgrade() -> None:
    op.drop_index("ix_quarantine_run_id_row_no", table_name="quarantine")
