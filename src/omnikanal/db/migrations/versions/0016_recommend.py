"""recommend: interactions, models, factors, popularity lists

Revision ID: 0016_recommend
Revises: 0015_matching
Create Date: 2026-12-03

Product recommendations: the interactions taken from the event log, the trained implicit-feedback
models with their user and item factors, and the non-personal popularity lists of each model.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

from omnikanal.db.types import UTCDateTime

revision = "0016_recommend"
down_revision: str | None = "0015_matching"
branch_labels = None
depends_on = None

ID = sa.String(40)
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "recommend_interactions",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("profile_id", ID, nullable=False),
        sa.Column("sku", sa.String(100), nullable=True),
        sa.Column("product_id", sa.String(100), nullable=True),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("weight", sa.Float(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(20), nullable=True),
        sa.Column("store_id", sa.String(100), nullable=True),
        sa.Column("at", UTCDateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_recommend_interactions_profile", "recommend_interactions", ["profile_id"])
    op.create_index("ix_recommend_interactions_at", "recommend_interactions", ["at"])
    op.create_table(
        "recommend_models",
        sa.Column("version", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("ready", sa.Boolean(), nullable=False),
        sa.Column("trained_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("algorithm", sa.String(40), nullable=False),
        sa.Column("params", _json(), nullable=False),
        sa.Column("figures", _json(), nullable=False),
    )
    op.create_table(
        "recommend_user_factors",
        sa.Column("model_version", sa.Integer(), nullable=False),
        sa.Column("profile_id", ID, nullable=False),
        sa.Column("factors", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("model_version", "profile_id"),
    )
    op.create_index("ix_recommend_user_factors_profile", "recommend_user_factors", ["profile_id"])
    op.create_table(
        "recommend_item_factors",
        sa.Column("model_version", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.String(100), nullable=False),
        sa.Column("factors", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("model_version", "product_id"),
    )
    op.create_table(
        "recommend_popular",
        sa.Column("model_version", sa.Integer(), nullable=False),
        sa.Column("scope", sa.String(120), nullable=False),
        sa.Column("product_id", sa.String(100), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("model_version", "scope", "product_id"),
    )


def downgrade() -> None:
    for table in (
        "recommend_popular",
        "recommend_item_factors",
        "recommend_user_factors",
        "recommend_models",
        "recommend_interactions",
    ):
        op.drop_table(table)
