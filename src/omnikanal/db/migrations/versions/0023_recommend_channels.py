"""recommend: next best channel (messages, reactions, scores, population rates)

Revision ID: 0023_recommend_channels
Revises: 0022_service_mailboxes
Create Date: 2026-12-03

Per-customer channel scores: the messages that went out on each channel and the reactions to
them, taken from the event log, the smoothed scores per customer and channel, and the channels'
population rates (the prior of every score).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from omnikanal.db.types import UTCDateTime

revision = "0023_recommend_channels"
down_revision: str | None = "0022_service_mailboxes"
branch_labels = None
depends_on = None

ID = sa.String(40)
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "recommend_channel_messages",
        sa.Column("message_id", sa.String(40), primary_key=True),
        sa.Column("profile_id", ID, nullable=False),
        sa.Column("channel", sa.String(20), nullable=False),
        sa.Column("sent_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("window_end", UTCDateTime(timezone=True), nullable=False),
        sa.Column("reacted_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("reaction", sa.String(20), nullable=True),
    )
    op.create_index("ix_recommend_channel_messages_profile", "recommend_channel_messages", ["profile_id"])
    op.create_table(
        "recommend_channel_reactions",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("profile_id", ID, nullable=False),
        sa.Column("channel", sa.String(20), nullable=True),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("at", UTCDateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_recommend_channel_reactions_profile", "recommend_channel_reactions", ["profile_id"])
    op.create_table(
        "recommend_channel_scores",
        sa.Column("profile_id", ID, nullable=False),
        sa.Column("channel", sa.String(20), nullable=False),
        sa.Column("messages", sa.Integer(), nullable=False),
        sa.Column("reactions", sa.Integer(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("profile_id", "channel"),
    )
    op.create_table(
        "recommend_channel_rates",
        sa.Column("channel", sa.String(20), primary_key=True),
        sa.Column("messages", sa.Integer(), nullable=False),
        sa.Column("reactions", sa.Integer(), nullable=False),
        sa.Column("rate", sa.Float(), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    for table in (
        "recommend_channel_rates",
        "recommend_channel_scores",
        "recommend_channel_reactions",
        "recommend_channel_messages",
    ):
        op.drop_table(table)
