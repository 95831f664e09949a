"""Re-enrolment notices (docs/rules.md §6): EGM or an insurer names people who opted out or left the
plan while still employed; the employer re-enrols them within two months of the notice. Imported from
the list (`oks import-reenrolment FILE`), applied once by the next run that finds the person on payroll.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "reenrolment_notices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enrolment_id", sa.Integer(), nullable=False),
        sa.Column("notified_on", sa.Date(), nullable=False),
        sa.Column("source", sa.String(length=40), nullable=False),
        sa.Column("imported_by", sa.String(length=120), nullable=False),
        sa.Column("applied_run_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.current_timestamp(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.current_timestamp(), nullable=False),
        sa.ForeignKeyConstraint(["enrolment_id"], ["enrolments.id"], name=op.f("fk_reenrolment_notices_enrolment_id_enrolments")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reenrolment_notices")),
        sa.UniqueConstraint("enrolment_id", "notified_on", name=op.f("uq_reenrolment_notices_enrolment_id_notified_on")),
    )


def downgrade() -> None:
    op.drop_table("reenrolment_notices")
