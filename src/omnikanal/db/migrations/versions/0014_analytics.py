"""analytics: touchpoints, media costs, profiles touched by merges

Revision ID: 0014_analytics
Revises: 0013_service
Create Date: 2026-12-02

The analytics processor copies page, screen and track events as touchpoints with their marketing
source; media spend is imported per day and key.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import omnikanal.db.types

revision = "0014_analytics"
down_revision = "0013_service"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "analytics_touchpoints",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("profile_id", sa.String(length=40), nullable=False),
        sa.Column("at", omnikanal.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("type", sa.String(length=10), nullable=False),
        sa.Column("event", sa.String(length=200), nullable=True),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("source", sa.String(length=100), nullable=False),
        sa.Column("medium", sa.String(length=100), nullable=False),
        sa.Column("campaign", sa.String(length=200), nullable=True),
        sa.Column("order_id", sa.String(length=200), nullable=True),
        sa.Column("value_cents", sa.BigInteger(), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_analytics_touchpoints")),
    )
    op.create_index("ix_analytics_touchpoints_at", "analytics_touchpoints", ["at"])
    op.create_index("ix_analytics_touchpoints_profile", "analytics_touchpoints", ["profile_id", "at"])
    op.create_index("ix_analytics_touchpoints_order", "analytics_touchpoints", ["order_id"])
    op.create_table(
        "analytics_costs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("source", sa.String(length=100), nullable=False),
        sa.Column("medium", sa.String(length=100), nullable=False),
        sa.Column("campaign", sa.String(length=200), nullable=False),
        sa.Column("cost_cents", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("clicks", sa.BigInteger(), nullable=True),
        sa.Column("impressions", sa.BigInteger(), nullable=True),
        sa.Column("origin", sa.String(length=300), nullable=False),
        sa.Column("imported_at", omnikanal.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_analytics_costs")),
        sa.UniqueConstraint(
            "day",
            "channel",
            "source",
            "medium",
            "campaign",
            name=op.f("uq_analytics_costs_day_channel_source_medium_campaign"),
        ),
    )
    op.create_table(
        "analytics_merged",
        sa.Column("profile_id", sa.String(length=40), nullable=False),
        sa.Column("at", omnikanal.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("profile_id", name=op.f("pk_analytics_merged")),
    )


def downgrade() -> None:
    op.drop_table("analytics_merged")
    op.drop_table("analytics_costs")
    op.drop_index("ix_analytics_touchpoints_order", table_name="analytics_touchpoints")
    op.drop_index("ix_analytics_touchpoints_profile", table_name="analytics_touchpoints")
    op.drop_index("ix_analytics_touchpoints_at", table_name="analytics_touchpoints")
    op.drop_table("analytics_touchpoints")
