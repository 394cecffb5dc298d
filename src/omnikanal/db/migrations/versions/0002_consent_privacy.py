"""consent and privacy

Revision ID: 0002_consent_privacy
Revises: 0001
Create Date: 2026-11-23
"""

from __future__ import annotations

import os

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import omnikanal.db.types

revision = "0002_consent_privacy"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "consent_confirmations",
        sa.Column("token_id", sa.String(length=40), nullable=False),
        sa.Column("profile_id", sa.String(length=40), nullable=False),
        sa.Column("purpose", sa.String(length=60), nullable=False),
        sa.Column("record_id", sa.String(length=40), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("token", sa.Text(), nullable=False),
        sa.Column("created_at", omnikanal.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", omnikanal.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("used_at", omnikanal.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("sent_at", omnikanal.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("token_id", name=op.f("pk_consent_confirmations")),
    )
    with op.batch_alter_table("consent_confirmations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_consent_confirmations_profile_id"), ["profile_id"], unique=False)

    op.create_table(
        "consent_records",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("profile_id", sa.String(length=40), nullable=False),
        sa.Column("purpose", sa.String(length=60), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=True),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=True),
        sa.Column("wording", sa.Text(), nullable=True),
        sa.Column("policy_version", sa.String(length=60), nullable=True),
        sa.Column(
            "proof",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("occurred_at", omnikanal.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("recorded_at", omnikanal.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consent_records")),
    )
    with op.batch_alter_table("consent_records", schema=None) as batch_op:
        batch_op.create_index(
            "ix_consent_records_profile", ["profile_id", "purpose", "occurred_at"], unique=False
        )

    op.create_table(
        "consent_state",
        sa.Column("profile_id", sa.String(length=40), nullable=False),
        sa.Column("purpose", sa.String(length=60), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("record_id", sa.String(length=40), nullable=False),
        sa.Column("occurred_at", omnikanal.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("profile_id", "purpose", name=op.f("pk_consent_state")),
    )
    op.create_table(
        "hub_meta",
        sa.Column("key", sa.String(length=60), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_hub_meta")),
    )
    # The suppression list's salt, made once per installation, so no process ever has to create it
    # while holding a write transaction.
    op.execute(
        sa.text("INSERT INTO hub_meta (key, value) VALUES ('suppression_salt', :salt)").bindparams(
            salt=os.urandom(32).hex()
        )
    )
    op.create_table(
        "privacy_exports",
        sa.Column("request_id", sa.String(length=40), nullable=False),
        sa.Column("profile_id", sa.String(length=40), nullable=False),
        sa.Column(
            "document",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_at", omnikanal.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("request_id", name=op.f("pk_privacy_exports")),
    )
    with op.batch_alter_table("privacy_exports", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_privacy_exports_profile_id"), ["profile_id"], unique=False)

    op.create_table(
        "privacy_requests",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("type", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("profile_id", sa.String(length=40), nullable=True),
        sa.Column("origin", sa.String(length=40), nullable=False),
        sa.Column("requested_by", sa.String(length=200), nullable=True),
        sa.Column(
            "details",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "result",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", omnikanal.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("due_at", omnikanal.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("completed_at", omnikanal.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("completed_by", sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_privacy_requests")),
    )
    with op.batch_alter_table("privacy_requests", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_privacy_requests_profile_id"), ["profile_id"], unique=False)

    op.create_table(
        "restrictions",
        sa.Column("profile_id", sa.String(length=40), nullable=False),
        sa.Column("request_id", sa.String(length=40), nullable=True),
        sa.Column("created_at", omnikanal.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("profile_id", name=op.f("pk_restrictions")),
    )
    op.create_table(
        "suppressions",
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("identifier_type", sa.String(length=40), nullable=False),
        sa.Column("reason", sa.String(length=40), nullable=False),
        sa.Column("created_at", omnikanal.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("dropped_events", sa.Integer(), nullable=False),
        sa.Column("last_dropped_at", omnikanal.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("hash", name=op.f("pk_suppressions")),
    )


def downgrade() -> None:

    op.drop_table("suppressions")
    op.drop_table("restrictions")
    with op.batch_alter_table("privacy_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_privacy_requests_profile_id"))

    op.drop_table("privacy_requests")
    with op.batch_alter_table("privacy_exports", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_privacy_exports_profile_id"))

    op.drop_table("privacy_exports")
    op.drop_table("hub_meta")
    op.drop_table("consent_state")
    with op.batch_alter_table("consent_records", schema=None) as batch_op:
        batch_op.drop_index("ix_consent_records_profile")

    op.drop_table("consent_records")
    with op.batch_alter_table("consent_confirmations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_consent_confirmations_profile_id"))

    op.drop_table("consent_confirmations")
