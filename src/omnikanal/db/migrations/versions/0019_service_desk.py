"""service desk: paused SLA clocks, macros, case merges, retention, attachments

Revision ID: 0019_service_desk
Revises: 0016_recommend
Create Date: 2026-12-03

The SLA clock of a case stops while it waits for the customer; canned replies and macros per queue.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

from omnikanal.db.types import UTCDateTime

revision = "0019_service_desk"
down_revision: str | None = "0016_recommend"
branch_labels = None
depends_on = None

ID = sa.String(40)


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(JSONB(), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("service_cases") as batch:
        batch.add_column(sa.Column("sla_paused_at", UTCDateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("sla_paused_hours", sa.Float(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("merged_into", ID, nullable=True))
        batch.create_index("ix_service_cases_merged_into", ["merged_into"])
        batch.create_index("ix_service_cases_closed", ["closed_at"])
    op.create_table(
        "service_case_merges",
        sa.Column("id", ID, primary_key=True),
        sa.Column("merged_id", ID, nullable=False),
        sa.Column("survivor_id", ID, nullable=False),
        sa.Column("profile_id", ID, nullable=False),
        sa.Column("entry_ids", _json(), nullable=False),
        sa.Column("before", _json(), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("undone_at", UTCDateTime(timezone=True), nullable=True),
    )
    for column in ("merged_id", "survivor_id", "profile_id"):
        op.create_index(f"ix_service_case_merges_{column}", "service_case_merges", [column])
    op.create_table(
        "service_macros",
        sa.Column("id", ID, primary_key=True),
        sa.Column("queue", sa.String(100), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("texts", _json(), nullable=False),
        sa.Column("status", sa.String(40), nullable=True),
        sa.Column("tags", _json(), nullable=False),
        sa.Column("assignee", sa.String(200), nullable=True),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "service_attachments",
        sa.Column("id", ID, primary_key=True),
        sa.Column("entry_id", ID, nullable=False),
        sa.Column("profile_id", ID, nullable=False),
        sa.Column("filename", sa.String(255), nullable=False),
        sa.Column("content_type", sa.String(100), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_service_attachments_entry_id", "service_attachments", ["entry_id"])
    op.create_index("ix_service_attachments_profile_id", "service_attachments", ["profile_id"])
    op.create_index("ux_service_macros_queue_name", "service_macros", ["queue", "name"], unique=True)


def downgrade() -> None:
    op.drop_table("service_macros")
    op.drop_table("service_attachments")
    op.drop_table("service_case_merges")
    with op.batch_alter_table("service_cases") as batch:
        batch.drop_index("ix_service_cases_closed")
        batch.drop_index("ix_service_cases_merged_into")
        batch.drop_column("merged_into")
        batch.drop_column("sla_paused_hours")
        batch.drop_column("sla_paused_at")
