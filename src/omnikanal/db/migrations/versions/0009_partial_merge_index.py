"""partial index on profiles.merged_into

Revision ID: 0009_partial_merge_index
Revises: 0008_push
Create Date: 2026-11-23

The full index on a column that is NULL for nearly every row makes SQLite's planner (after ANALYZE)
scan the profiles table in every merge-chain walk; the partial index holds only merged profiles.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_partial_merge_index"
down_revision: str | None = "0008_push"
branch_labels = None
depends_on = None

WHERE = sa.text("merged_into IS NOT NULL")


def upgrade() -> None:
    op.drop_index("ix_profiles_merged_into", table_name="profiles")
    op.create_index(
        "ix_profiles_merged_into",
        "profiles",
        ["merged_into"],
        unique=False,
        sqlite_where=WHERE,
        postgresql_where=WHERE,
    )


def downgrade() -> None:
    op.drop_index("ix_profiles_merged_into", table_name="profiles")
    op.create_index("ix_profiles_merged_into", "profiles", ["merged_into"], unique=False)
