"""consumer_cursors.ahead: transactions read past the event log's horizon

Revision ID: 0010_eventlog_ahead
Revises: 0009_partial_merge_index
Create Date: 2026-11-23

A consumer on PostgreSQL no longer waits for the oldest running transaction of the whole server: it
also reads the committed transactions after it, and remembers their ids here until its cursor passes
them.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0010_eventlog_ahead"
down_revision = "0009_partial_merge_index"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("consumer_cursors") as batch:
        batch.add_column(sa.Column("ahead", sa.JSON().with_variant(JSONB(), "postgresql"), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("consumer_cursors") as batch:
        batch.drop_column("ahead")
