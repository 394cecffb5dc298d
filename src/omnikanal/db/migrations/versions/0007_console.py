"""console: staff users, sessions, login failures, token stores

Revision ID: 0007_console
Revises: 0006_journeys
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import omnikanal.db.types

revision = "0007_console"
down_revision = "0006_journeys"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "staff_users",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("username", sa.String(length=100), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("store_id", sa.String(length=100), nullable=True),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", omnikanal.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", omnikanal.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_users")),
        sa.UniqueConstraint("username", name=op.f("uq_staff_users_username")),
    )
    op.create_table(
        "staff_sessions",
        sa.Column("id_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.String(length=40), nullable=False),
        sa.Column("csrf_token", sa.String(length=64), nullable=False),
        sa.Column("created_at", omnikanal.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", omnikanal.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id_hash", name=op.f("pk_staff_sessions")),
    )
    with op.batch_alter_table("staff_sessions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_staff_sessions_user_id"), ["user_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_staff_sessions_expires_at"), ["expires_at"], unique=False)
    op.create_table(
        "staff_login_failures",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("username", sa.String(length=100), nullable=False),
        sa.Column("ip", sa.String(length=64), nullable=False),
        sa.Column("at", omnikanal.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_login_failures")),
    )
    with op.batch_alter_table("staff_login_failures", schema=None) as batch_op:
        batch_op.create_index("ix_staff_login_failures_username_at", ["username", "at"], unique=False)
        batch_op.create_index("ix_staff_login_failures_ip_at", ["ip", "at"], unique=False)
    op.create_table(
        "api_token_stores",
        sa.Column("token_id", sa.String(length=40), nullable=False),
        sa.Column("store_id", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("token_id", name=op.f("pk_api_token_stores")),
    )


def downgrade() -> None:
    op.drop_table("api_token_stores")
    op.drop_table("staff_login_failures")
    op.drop_table("staff_sessions")
    op.drop_table("staff_users")
