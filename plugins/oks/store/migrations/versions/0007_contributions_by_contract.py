"""Contributions by run and contract: the DES steps read one contract's lines of a run at a time.

With only the run index, each contract's read walked every line of the run — 157 contracts over
109,384 lines at 100,000 employees, 1,514 over 1.1 million at a million: quadratic in the bureau's size.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03
"""

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_contributions_run_id_contract_id", "contributions", ["run_id", "contract_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_contributions_run_id_contract_id", table_name="contributions")
