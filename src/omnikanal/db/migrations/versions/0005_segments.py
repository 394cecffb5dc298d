"""segments

Revision ID: 0005_segments
Revises: 0002_consent_privacy
Create Date: 2026-11-23

Re-chained at merge after the other branches' 0003/0004.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import omnikanal.db.types

revision = "0005_segments"
down_revision = "0004_messaging"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "computed_trait_defs",
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column(
            "definition",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_at", omnikanal.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", omnikanal.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_computed_trait_defs")),
    )
    op.create_table(
        "computed_traits",
        sa.Column("profile_id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column(
            "value",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("updated_at", omnikanal.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("profile_id", "name", name=op.f("pk_computed_traits")),
    )
    with op.batch_alter_table("computed_traits", schema=None) as batch_op:
        batch_op.create_index("ix_computed_traits_name", ["name"], unique=False)

    op.create_table(
        "segment_changes",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("txid", sa.BigInteger(), nullable=False),
        sa.Column("segment_id", sa.String(length=40), nullable=False),
        sa.Column("profile_id", sa.String(length=40), nullable=False),
        sa.Column("change", sa.String(length=10), nullable=False),
        sa.Column("at", omnikanal.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_segment_changes")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("segment_changes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_segment_changes_profile_id"), ["profile_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_segment_changes_segment_id"), ["segment_id"], unique=False)

    op.create_table(
        "segment_due",
        sa.Column("profile_id", sa.String(length=40), nullable=False),
        sa.Column("due_at", omnikanal.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("profile_id", name=op.f("pk_segment_due")),
    )
    with op.batch_alter_table("segment_due", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_segment_due_due_at"), ["due_at"], unique=False)

    op.create_table(
        "segment_members",
        sa.Column("segment_id", sa.String(length=40), nullable=False),
        sa.Column("profile_id", sa.String(length=40), nullable=False),
        sa.Column("entered_at", omnikanal.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("segment_id", "profile_id", name=op.f("pk_segment_members")),
    )
    with op.batch_alter_table("segment_members", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_segment_members_profile_id"), ["profile_id"], unique=False)

    op.create_table(
        "segments",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column(
            "condition",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_by", sa.String(length=200), nullable=True),
        sa.Column("created_at", omnikanal.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", omnikanal.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("computed_at", omnikanal.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_segments")),
        sa.UniqueConstraint("name", name=op.f("uq_segments_name")),
    )
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.create_index("ix_events_event_time", ["event", "timestamp"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index("ix_events_event_time")

    op.drop_table("segments")
    with op.batch_alter_table("segment_members", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_segment_members_profile_id"))

    op.drop_table("segment_members")
    with op.batch_alter_table("segment_due", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_segment_due_due_at"))

    op.drop_table("segment_due")
    with op.batch_alter_table("segment_changes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_segment_changes_segment_id"))
        batch_op.drop_index(batch_op.f("ix_segment_changes_profile_id"))

    op.drop_table("segment_changes")
    with op.batch_alter_table("computed_traits", schema=None) as batch_op:
        batch_op.drop_index("ix_computed_traits_name")

    op.drop_table("computed_traits")
    op.drop_table("computed_trait_defs")
