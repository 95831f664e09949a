"""Requests an employee makes at the employer (docs/rules.md §6): opt out (cayma), pause (ara verme),
resume or leave the plan. Operations record them; deductions stop from the next wage; the pipeline
forwards each to the insurer through DES once, and the insurer's decision comes back as a status event.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "employer_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enrolment_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("requested_on", sa.Date(), nullable=False),
        sa.Column("months", sa.Integer(), nullable=True),
        sa.Column("state", sa.String(length=10), server_default="recorded", nullable=False),
        sa.Column("recorded_by", sa.String(length=120), nullable=False),
        sa.Column("des_request_id", sa.String(length=80), nullable=True),
        sa.Column("event_id", sa.String(length=80), nullable=True),
        sa.Column("error", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.current_timestamp(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.current_timestamp(), nullable=False),
        sa.CheckConstraint("kind IN ('OPT_OUT', 'PAUSE', 'RESUME', 'LEAVE')", name=op.f("ck_employer_requests_kind")),
        sa.CheckConstraint("state IN ('recorded', 'forwarded', 'done', 'refused')", name=op.f("ck_employer_requests_state")),
        sa.ForeignKeyConstraint(["enrolment_id"], ["enrolments.id"], name=op.f("fk_employer_requests_enrolment_id_enrolments")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_employer_requests")),
        sa.UniqueConstraint("enrolment_id", "kind", "requested_on", name=op.f("uq_employer_requests_enrolment_id_kind_requested_on")),
    )
    op.create_index(op.f("ix_employer_requests_state"), "employer_requests", ["state"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_employer_requests_state"), table_name="employer_requests")
    op.drop_table("employer_requests")
