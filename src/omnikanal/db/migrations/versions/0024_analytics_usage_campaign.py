"""analytics: the campaign (a journey's name, or the campaign a message was sent for) of each usage
row, so the hub's own costs are attributed by campaign as well as by channel

Revision ID: 0024_analytics_usage_campaign
Revises: 0023_recommend_channels
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0024_analytics_usage_campaign"
down_revision: str | None = "0023_recommend_channels"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("analytics_usage") as batch:
        batch.add_column(sa.Column("campaign", sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("analytics_usage") as batch:
        batch.drop_column("campaign")
