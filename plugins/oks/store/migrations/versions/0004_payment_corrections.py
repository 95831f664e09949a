"""Corrections of a payment DES already holds: proposed per person, sent only when approved.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def _month_constraint() -> str:
    # 0001's name, as each database keeps it: PostgreSQL's 63-character limit made SQLAlchemy shorten it.
    full = "uq_payment_obligations_contract_id_period_payment_kind_wage_paid_on"
    return "uq_payment_obligations_contract_id_period_payment_kind__f666" if op.get_bind().dialect.name == "postgresql" else full


def upgrade() -> None:
    op.create_table(
        "payment_corrections",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contract_id", sa.Integer(), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("payment_kind", sa.String(length=16), nullable=False),
        sa.Column("original_des_payment_id", sa.String(length=80), nullable=False),
        sa.Column("original_total", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("original_wage_paid_on", sa.Date(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("to_pay", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("over_paid", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("people", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=12), server_default="proposed", nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("decided_by", sa.String(length=120), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.Column("wage_paid_on", sa.Date(), nullable=True),
        sa.Column("des_payment_id", sa.String(length=80), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.current_timestamp(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.current_timestamp(), nullable=False),
        sa.CheckConstraint("state IN ('proposed', 'approved', 'sent', 'refused')", name=op.f("ck_payment_corrections_state")),
        sa.ForeignKeyConstraint(["contract_id"], ["contracts.id"], name=op.f("fk_payment_corrections_contract_id_contracts")),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], name=op.f("fk_payment_corrections_run_id_runs")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_corrections")),
        sa.UniqueConstraint("original_des_payment_id", "content_hash",
                            name=op.f("uq_payment_corrections_original_des_payment_id_content_hash")),  # fmt: skip
    )
    op.create_table(
        "payment_correction_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("correction_id", sa.Integer(), nullable=False),
        sa.Column("tckn", sa.String(length=11), nullable=False),
        sa.Column("policy_no", sa.String(length=40), nullable=False),
        sa.Column("paid", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("due", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("difference", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.ForeignKeyConstraint(["correction_id"], ["payment_corrections.id"], ondelete="CASCADE",
                                name=op.f("fk_payment_correction_items_correction_id_payment_corrections")),  # fmt: skip
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_correction_items")),
    )
    with op.batch_alter_table("payment_correction_items") as batch:
        batch.create_index(batch.f("ix_payment_correction_items_correction_id"), ["correction_id"], unique=False)
    with op.batch_alter_table("payment_obligations") as batch:
        batch.add_column(sa.Column("correction_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            batch.f("fk_payment_obligations_correction_id_payment_corrections"), "payment_corrections", ["correction_id"], ["id"]
        )
        batch.drop_constraint(_month_constraint(), type_="unique")
    op.create_index("uq_payment_obligations_month", "payment_obligations", ["contract_id", "period", "payment_kind", "wage_paid_on"],
                    unique=True, sqlite_where=sa.text("correction_id IS NULL"), postgresql_where=sa.text("correction_id IS NULL"))  # fmt: skip
    op.create_index("uq_payment_obligations_correction_id", "payment_obligations", ["correction_id"], unique=True)


def downgrade() -> None:
    op.drop_index("uq_payment_obligations_correction_id", table_name="payment_obligations")
    op.drop_index("uq_payment_obligations_month", table_name="payment_obligations")
    with op.batch_alter_table("payment_obligations") as batch:
        batch.create_unique_constraint(_month_constraint(), ["contract_id", "period", "payment_kind", "wage_paid_on"])
        batch.drop_constraint(batch.f("fk_payment_obligations_correction_id_payment_corrections"), type_="foreignkey")
        batch.drop_column("correction_id")
    with op.batch_alter_table("payment_correction_items") as batch:
        batch.drop_index(batch.f("ix_payment_correction_items_correction_id"))
    op.drop_table("payment_correction_items")
    op.drop_table("payment_corrections")
