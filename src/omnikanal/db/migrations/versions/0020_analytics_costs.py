"""analytics: the hub's own usage (messages sent, cases resolved) its own costs are computed
from, and the products viewed and bought (research online, purchase offline)

Revision ID: 0020_analytics_costs
Revises: 0019_service_desk
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import omnikanal.db.types

revision = "0020_analytics_costs"
down_revision = "0019_service_desk"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "analytics_usage",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("profile_id", sa.String(length=40), nullable=False),
        sa.Column("at", omnikanal.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("queue", sa.String(length=100), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_analytics_usage")),
    )
    op.create_index("ix_analytics_usage_at", "analytics_usage", ["at"])
    op.create_index("ix_analytics_usage_profile", "analytics_usage", ["profile_id"])
    op.create_table(
        "analytics_products",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("line", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("profile_id", sa.String(length=40), nullable=False),
        sa.Column("at", omnikanal.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("sku", sa.String(length=200), nullable=False),
        sa.Column("category", sa.String(length=200), nullable=True),
        sa.Column("value_cents", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("seq", "line", name=op.f("pk_analytics_products")),
    )
    op.create_index("ix_analytics_products_at", "analytics_products", ["at"])
    op.create_index("ix_analytics_products_profile", "analytics_products", ["profile_id", "at"])


def downgrade() -> None:
    op.drop_index("ix_analytics_products_profile", table_name="analytics_products")
    op.drop_index("ix_analytics_products_at", table_name="analytics_products")
    op.drop_table("analytics_products")
    op.drop_index("ix_analytics_usage_profile", table_name="analytics_usage")
    op.drop_index("ix_analytics_usage_at", table_name="analytics_usage")
    op.drop_table("analytics_usage")
