"""A contract's month moved to another channel by an operator (docs/channels.md): DES down on the
due day, the month goes by the insurer's file upload. Kept as a record (who, when, why); the latest
switch of a contract and period decides, the insurer's default otherwise.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "channel_switches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contract_id", sa.Integer(), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("switched_by", sa.String(length=120), nullable=False),
        sa.Column("reason", sa.String(length=300), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.current_timestamp(), nullable=False),
        sa.CheckConstraint("channel IN ('des', 'file')", name=op.f("ck_channel_switches_channel")),
        sa.ForeignKeyConstraint(["contract_id"], ["contracts.id"], name=op.f("fk_channel_switches_contract_id_contracts")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_channel_switches")),
    )
    op.create_index(op.f("ix_channel_switches_contract_id_period"), "channel_switches", ["contract_id", "period"])


def downgrade() -> None:
    op.drop_index(op.f("ix_channel_switches_contract_id_period"), table_name="channel_switches")
    op.drop_table("channel_switches")
