"""journeys

Revision ID: 0006_journeys
Revises: 0005_segments
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import omnikanal.db.types

revision = "0006_journeys"
down_revision = "0005_segments"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "journey_runs",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("journey_id", sa.String(length=40), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("profile_id", sa.String(length=40), nullable=False),
        sa.Column("run_key", sa.String(length=200), nullable=False),
        sa.Column("origin", sa.String(length=200), nullable=False),
        sa.Column("active_key", sa.String(length=300), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("step", sa.String(length=60), nullable=True),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("wait_event", sa.String(length=260), nullable=True),
        sa.Column("variant", sa.String(length=60), nullable=True),
        sa.Column(
            "data",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("last_message_id", sa.String(length=40), nullable=True),
        sa.Column("exit_reason", sa.String(length=60), nullable=True),
        sa.Column("entered_at", omnikanal.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ended_at", omnikanal.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("goal_until", omnikanal.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("goal_at", omnikanal.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("goal_message_id", sa.String(length=40), nullable=True),
        sa.Column("updated_at", omnikanal.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_journey_runs")),
        sa.UniqueConstraint("journey_id", "active_key", name="uq_journey_runs_active"),
        sa.UniqueConstraint("journey_id", "origin", "profile_id", name="uq_journey_runs_origin"),
    )
    with op.batch_alter_table("journey_runs", schema=None) as batch_op:
        batch_op.create_index("ix_journey_runs_journey", ["journey_id", "version", "status"], unique=False)
        batch_op.create_index("ix_journey_runs_profile", ["profile_id", "status"], unique=False)

    op.create_table(
        "journey_steps",
        sa.Column("run_id", sa.String(length=40), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("profile_id", sa.String(length=40), nullable=False),
        sa.Column("step", sa.String(length=60), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("outcome", sa.String(length=60), nullable=True),
        sa.Column("message_id", sa.String(length=40), nullable=True),
        sa.Column("at", omnikanal.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("run_id", "seq", name=op.f("pk_journey_steps")),
    )
    with op.batch_alter_table("journey_steps", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_journey_steps_message_id"), ["message_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_journey_steps_profile_id"), ["profile_id"], unique=False)

    op.create_table(
        "journey_timers",
        sa.Column("run_id", sa.String(length=40), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("due_at", omnikanal.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("profile_id", sa.String(length=40), nullable=False),
        sa.PrimaryKeyConstraint("run_id", name=op.f("pk_journey_timers")),
    )
    with op.batch_alter_table("journey_timers", schema=None) as batch_op:
        batch_op.create_index("ix_journey_timers_due", ["due_at"], unique=False)

    op.create_table(
        "journey_versions",
        sa.Column("journey_id", sa.String(length=40), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column(
            "document",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "resolved",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_by", sa.String(length=200), nullable=True),
        sa.Column("created_at", omnikanal.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("journey_id", "version", name=op.f("pk_journey_versions")),
    )
    op.create_table(
        "journeys",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=True),
        sa.Column("created_at", omnikanal.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", omnikanal.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_journeys")),
        sa.UniqueConstraint("name", name=op.f("uq_journeys_name")),
    )


def downgrade() -> None:
    op.drop_table("journeys")
    op.drop_table("journey_versions")
    with op.batch_alter_table("journey_timers", schema=None) as batch_op:
        batch_op.drop_index("ix_journey_timers_due")

    op.drop_table("journey_timers")
    with op.batch_alter_table("journey_steps", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_journey_steps_profile_id"))
        batch_op.drop_index(batch_op.f("ix_journey_steps_message_id"))

    op.drop_table("journey_steps")
    with op.batch_alter_table("journey_runs", schema=None) as batch_op:
        batch_op.drop_index("ix_journey_runs_profile")
        batch_op.drop_index("ix_journey_runs_journey")

    op.drop_table("journey_runs")
