"""matching: models, cards, dirty profiles, decided pairs

Revision ID: 0015_matching
Revises: 0014_analytics
Create Date: 2026-12-02

Probabilistic identity matching (Splink): a card of identifying traits per profile, the trained
models, the profiles waiting to be matched, and every decided pair (merged, in review, rejected).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

from omnikanal.db.types import UTCDateTime

revision = "0015_matching"
down_revision: str | None = "0014_analytics"
branch_labels = None
depends_on = None

ID = sa.String(40)


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "matching_models",
        sa.Column("id", ID, primary_key=True),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("splink_version", sa.String(20), nullable=False),
        sa.Column("records", sa.Integer(), nullable=False),
        sa.Column("model", _json(), nullable=False),
    )
    op.create_table(
        "matching_cards",
        sa.Column("profile_id", ID, primary_key=True),
        sa.Column("first_name", sa.String(80), nullable=True),
        sa.Column("last_name", sa.String(80), nullable=True),
        sa.Column("birth_date", sa.String(10), nullable=True),
        sa.Column("email", sa.String(320), nullable=True),
        sa.Column("phone", sa.String(20), nullable=True),
        sa.Column("postcode", sa.String(10), nullable=True),
        sa.Column("city", sa.String(80), nullable=True),
        sa.Column("street", sa.String(200), nullable=True),
        sa.Column("problems", _json(), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
    )
    for column in ("last_name", "birth_date", "email", "phone", "postcode"):
        op.create_index(f"ix_matching_cards_{column}", "matching_cards", [column])
    op.create_table(
        "matching_dirty",
        sa.Column("profile_id", ID, primary_key=True),
        sa.Column("marked_at", UTCDateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "matching_pairs",
        sa.Column("id", ID, primary_key=True),
        sa.Column("profile_a", ID, nullable=False),
        sa.Column("profile_b", ID, nullable=False),
        sa.Column("probability", sa.Float(), nullable=False),
        sa.Column("weight", sa.Float(), nullable=False),
        sa.Column("contributions", _json(), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("reason", sa.String(40), nullable=True),
        sa.Column("merge_id", ID, nullable=True),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("decided_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("decided_by", sa.String(200), nullable=True),
        sa.UniqueConstraint("profile_a", "profile_b"),
    )
    op.create_index("ix_matching_pairs_status", "matching_pairs", ["status", "probability"])


def downgrade() -> None:
    op.drop_table("matching_pairs")
    op.drop_table("matching_dirty")
    op.drop_table("matching_cards")
    op.drop_table("matching_models")
