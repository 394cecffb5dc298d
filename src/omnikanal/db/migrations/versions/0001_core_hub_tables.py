"""core hub tables

Revision ID: 0001
Revises:
Create Date: 2026-11-22 23:41:42.915353
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import omnikanal.db.types

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "access_log",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("action", sa.String(length=60), nullable=False),
        sa.Column("profile_id", sa.String(length=40), nullable=True),
        sa.Column("at", omnikanal.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_access_log")),
    )
    with op.batch_alter_table("access_log", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_access_log_profile_id"), ["profile_id"], unique=False)

    op.create_table(
        "api_tokens",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", omnikanal.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", omnikanal.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_api_tokens_token_hash")),
    )
    op.create_table(
        "consumer_cursors",
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("txid", sa.BigInteger(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", omnikanal.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_consumer_cursors")),
    )
    op.create_table(
        "identity_conflicts",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("profile_id", sa.String(length=40), nullable=False),
        sa.Column("other_profile_id", sa.String(length=40), nullable=True),
        sa.Column("identifier_type", sa.String(length=40), nullable=False),
        sa.Column("identifier_value", sa.String(length=320), nullable=False),
        sa.Column("reason", sa.String(length=40), nullable=False),
        sa.Column("source_id", sa.String(length=40), nullable=True),
        sa.Column("message_id", sa.String(length=200), nullable=True),
        sa.Column("created_at", omnikanal.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_identity_conflicts")),
        sa.UniqueConstraint(
            "profile_id",
            "identifier_type",
            "identifier_value",
            "reason",
            name=op.f("uq_identity_conflicts_profile_id_identifier_type_identifier_value_reason"),
        ),
    )
    with op.batch_alter_table("identity_conflicts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_identity_conflicts_profile_id"), ["profile_id"], unique=False)

    op.create_table(
        "merge_blocks",
        sa.Column("profile_a", sa.String(length=40), nullable=False),
        sa.Column("profile_b", sa.String(length=40), nullable=False),
        sa.Column("created_at", omnikanal.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("profile_a", "profile_b", name=op.f("pk_merge_blocks")),
    )
    op.create_table(
        "merges",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("profile_id", sa.String(length=40), nullable=False),
        sa.Column("merged_id", sa.String(length=40), nullable=False),
        sa.Column("reason", sa.String(length=20), nullable=False),
        sa.Column("identifier_type", sa.String(length=40), nullable=True),
        sa.Column("identifier_value", sa.String(length=320), nullable=True),
        sa.Column("source_id", sa.String(length=40), nullable=True),
        sa.Column("message_id", sa.String(length=200), nullable=True),
        sa.Column("created_at", omnikanal.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("undone_at", omnikanal.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("undone_by", sa.String(length=200), nullable=True),
        sa.Column(
            "snapshot",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_merges")),
    )
    with op.batch_alter_table("merges", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_merges_merged_id"), ["merged_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_merges_profile_id"), ["profile_id"], unique=False)

    op.create_table(
        "profiles",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("merged_into", sa.String(length=40), nullable=True),
        sa.Column("created_at", omnikanal.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", omnikanal.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("first_seen", omnikanal.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_seen", omnikanal.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "traits",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "stats",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("event_count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_profiles")),
    )
    with op.batch_alter_table("profiles", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_profiles_merged_into"), ["merged_into"], unique=False)

    op.create_table(
        "quarantine",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("source_id", sa.String(length=40), nullable=True),
        sa.Column("received_at", omnikanal.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("field", sa.String(length=200), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quarantine")),
    )
    with op.batch_alter_table("quarantine", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_quarantine_received_at"), ["received_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_quarantine_source_id"), ["source_id"], unique=False)

    op.create_table(
        "sources",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("write_key_hash", sa.String(length=64), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", omnikanal.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("key_rotated_at", omnikanal.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sources")),
        sa.UniqueConstraint("name", name=op.f("uq_sources_name")),
        sa.UniqueConstraint("write_key_hash", name=op.f("uq_sources_write_key_hash")),
    )
    op.create_table(
        "events",
        sa.Column(
            "seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("txid", sa.BigInteger(), nullable=False),
        sa.Column("source_id", sa.String(length=40), nullable=False),
        sa.Column("message_id", sa.String(length=200), nullable=False),
        sa.Column("profile_id", sa.String(length=40), nullable=False),
        sa.Column("type", sa.String(length=10), nullable=False),
        sa.Column("event", sa.String(length=200), nullable=True),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("lib_channel", sa.String(length=40), nullable=True),
        sa.Column("user_id", sa.String(length=320), nullable=True),
        sa.Column("anonymous_id", sa.String(length=320), nullable=True),
        sa.Column("original_timestamp", omnikanal.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("sent_at", omnikanal.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("received_at", omnikanal.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("timestamp", omnikanal.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "payload",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(["source_id"], ["sources.id"], name=op.f("fk_events_source_id_sources")),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_events")),
        sa.UniqueConstraint("source_id", "message_id", name=op.f("uq_events_source_id_message_id")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.create_index(
            "ix_events_log", ["txid", "seq"], unique=False, sqlite_where=sa.text("txid <> 0")
        )
        batch_op.create_index("ix_events_profile_time", ["profile_id", "timestamp", "seq"], unique=False)

    op.create_table(
        "identities",
        sa.Column("type", sa.String(length=40), nullable=False),
        sa.Column("value", sa.String(length=320), nullable=False),
        sa.Column("profile_id", sa.String(length=40), nullable=False),
        sa.Column("origin_profile_id", sa.String(length=40), nullable=False),
        sa.Column("source_id", sa.String(length=40), nullable=True),
        sa.Column("created_at", omnikanal.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["profile_id"], ["profiles.id"], name=op.f("fk_identities_profile_id_profiles")
        ),
        sa.PrimaryKeyConstraint("type", "value", name=op.f("pk_identities")),
    )
    with op.batch_alter_table("identities", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_identities_origin_profile_id"), ["origin_profile_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_identities_profile_id"), ["profile_id"], unique=False)


def downgrade() -> None:

    with op.batch_alter_table("identities", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_identities_profile_id"))
        batch_op.drop_index(batch_op.f("ix_identities_origin_profile_id"))

    op.drop_table("identities")
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index("ix_events_profile_time")
        batch_op.drop_index("ix_events_log", sqlite_where=sa.text("txid <> 0"))

    op.drop_table("events")
    op.drop_table("sources")
    with op.batch_alter_table("quarantine", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_quarantine_source_id"))
        batch_op.drop_index(batch_op.f("ix_quarantine_received_at"))

    op.drop_table("quarantine")
    with op.batch_alter_table("profiles", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_profiles_merged_into"))

    op.drop_table("profiles")
    with op.batch_alter_table("merges", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_merges_profile_id"))
        batch_op.drop_index(batch_op.f("ix_merges_merged_id"))

    op.drop_table("merges")
    op.drop_table("merge_blocks")
    with op.batch_alter_table("identity_conflicts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_identity_conflicts_profile_id"))

    op.drop_table("identity_conflicts")
    op.drop_table("consumer_cursors")
    op.drop_table("api_tokens")
    with op.batch_alter_table("access_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_access_log_profile_id"))

    op.drop_table("access_log")
