"""service: cases and their entries

Revision ID: 0013_service
Revises: 0012_browser_sources
Create Date: 2026-12-02

A case gathers one customer's request across channels; its entries are the thread (messages in and
out, notes, status changes). SLA due times and the CSAT answer sit on the case.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

from omnikanal.db.types import UTCDateTime

revision = "0013_service"
down_revision = "0012_browser_sources"
branch_labels = None
depends_on = None


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "service_cases",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("ref", sa.String(20), nullable=False, unique=True),
        sa.Column("profile_id", sa.String(40), nullable=False, index=True),
        sa.Column("subject", sa.String(500), nullable=False),
        sa.Column("queue", sa.String(100), nullable=False),
        sa.Column("priority", sa.String(20), nullable=False),
        sa.Column("status", sa.String(40), nullable=False),
        sa.Column("assignee", sa.String(200), nullable=True),
        sa.Column("channel", sa.String(20), nullable=False),
        sa.Column("tags", _json(), nullable=False),
        sa.Column("links", _json(), nullable=False),
        sa.Column("entries", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("first_response_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("resolved_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("closed_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("first_response_due", UTCDateTime(timezone=True), nullable=True),
        sa.Column("resolution_due", UTCDateTime(timezone=True), nullable=True),
        sa.Column("sla_state", sa.String(20), nullable=False),
        sa.Column("sla_check_at", UTCDateTime(timezone=True), nullable=True, index=True),
        sa.Column("csat_score", sa.Integer(), nullable=True),
        sa.Column("csat_comment", sa.Text(), nullable=True),
        sa.Column("csat_at", UTCDateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_service_cases_queue_status", "service_cases", ["queue", "status", "created_at"])
    op.create_index("ix_service_cases_created", "service_cases", ["created_at"])
    op.create_table(
        "service_entries",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("case_id", sa.String(40), nullable=False, index=True),
        sa.Column("profile_id", sa.String(40), nullable=False, index=True),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("channel", sa.String(20), nullable=True),
        sa.Column("author", sa.String(200), nullable=True),
        sa.Column("body_text", sa.Text(), nullable=True),
        sa.Column("body_html", sa.Text(), nullable=True),
        sa.Column("message_id", sa.String(40), nullable=True, index=True),
        sa.Column("mail_message_id", sa.String(1000), nullable=True, index=True),
        sa.Column("data", _json(), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("service_entries")
    op.drop_index("ix_service_cases_created", "service_cases")
    op.drop_index("ix_service_cases_queue_status", "service_cases")
    op.drop_table("service_cases")
