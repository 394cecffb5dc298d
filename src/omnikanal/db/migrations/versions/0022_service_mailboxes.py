"""service: the IMAP poller's position per support mailbox (UIDVALIDITY, last UID) and the outcome
of its last poll

Revision ID: 0022_service_mailboxes
Revises: 0021_events_by_month
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import omnikanal.db.types

revision = "0022_service_mailboxes"
down_revision: str | None = "0021_events_by_month"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "service_mailboxes",
        sa.Column("mailbox", sa.String(length=500), nullable=False),
        sa.Column("uidvalidity", sa.BigInteger(), nullable=True),
        sa.Column("last_uid", sa.BigInteger(), nullable=False),
        sa.Column("fetched", sa.BigInteger(), nullable=False),
        sa.Column("last_poll_at", omnikanal.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_ok_at", omnikanal.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=1000), nullable=True),
        sa.Column("stuck_uid", sa.BigInteger(), nullable=True),
        sa.Column("stuck_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("leased_until", omnikanal.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("mailbox", name=op.f("pk_service_mailboxes")),
    )


def downgrade() -> None:
    op.drop_table("service_mailboxes")
