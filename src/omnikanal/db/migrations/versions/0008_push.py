"""messaging leftovers: Web Push subscriptions

Revision ID: 0008_push
Revises: 0007_console
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import omnikanal.db.types

revision = "0008_push"
down_revision = "0007_console"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "push_subscriptions",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("profile_id", sa.String(length=40), nullable=False),
        sa.Column("endpoint", sa.String(length=2000), nullable=False),
        sa.Column("p256dh", sa.String(length=200), nullable=False),
        sa.Column("auth", sa.String(length=100), nullable=False),
        sa.Column("user_agent", sa.String(length=400), nullable=True),
        sa.Column("source_id", sa.String(length=40), nullable=True),
        sa.Column("created_at", omnikanal.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", omnikanal.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expired_at", omnikanal.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("expired_reason", sa.String(length=40), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_push_subscriptions")),
        sa.UniqueConstraint("endpoint", name=op.f("uq_push_subscriptions_endpoint")),
    )
    with op.batch_alter_table("push_subscriptions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_push_subscriptions_profile_id"), ["profile_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("push_subscriptions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_push_subscriptions_profile_id"))
    op.drop_table("push_subscriptions")
