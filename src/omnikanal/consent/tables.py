"""The consent capability's tables, on the one MetaData (omnikanal.db.schema)."""

from __future__ import annotations

from sqlalchemy import (
    Column,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
)

from omnikanal.db.schema import ID, metadata
from omnikanal.db.types import UTCDateTime, json_type

# The append-only consent ledger: every change, with where it came from and the proof.
consent_records = Table(
    "consent_records",
    metadata,
    Column("id", ID, primary_key=True),
    Column("profile_id", ID, nullable=False),
    Column("purpose", String(60), nullable=False),
    Column("status", String(20), nullable=False),
    Column("channel", String(20), nullable=True),
    Column("source", String(200), nullable=False),  # a source's name, "api", "preference_centre", ...
    Column("actor", String(200), nullable=True),  # the staff user or token that recorded it
    Column("wording", Text, nullable=True),
    Column("policy_version", String(60), nullable=True),
    # {"ip", "user_agent", "confirmed_at", "staff_user", "message_id", ...}
    Column("proof", json_type(), nullable=False),
    Column("occurred_at", UTCDateTime, nullable=False),
    Column("recorded_at", UTCDateTime, nullable=False),
    Index("ix_consent_records_profile", "profile_id", "purpose", "occurred_at"),
)


# The current status per profile and purpose, derived from the ledger in the same transaction, so the
# contact question is one primary-key read.
consent_state = Table(
    "consent_state",
    metadata,
    Column("profile_id", ID, nullable=False),
    Column("purpose", String(60), nullable=False),
    Column("status", String(20), nullable=False),
    Column("record_id", ID, nullable=False),
    Column("occurred_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("profile_id", "purpose"),
)


# Double opt-in: one row per confirmation link sent; used_at makes the link single-use.
consent_confirmations = Table(
    "consent_confirmations",
    metadata,
    Column("token_id", String(40), primary_key=True),
    Column("profile_id", ID, nullable=False, index=True),
    Column("purpose", String(60), nullable=False),
    Column("record_id", ID, nullable=False),
    Column("email", String(320), nullable=True),
    Column("token", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("used_at", UTCDateTime, nullable=True),
    Column("sent_at", UTCDateTime, nullable=True),
)


# Identifiers that must never be stored again (erased persons) or contacted (bounces, complaints):
# only a salted hash, never the value.
suppressions = Table(
    "suppressions",
    metadata,
    Column("hash", String(64), primary_key=True),
    Column("identifier_type", String(40), nullable=False),
    Column("reason", String(40), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    # events dropped because they carried this identifier
    Column("dropped_events", Integer, nullable=False),
    Column("last_dropped_at", UTCDateTime, nullable=True),
)


# Restriction of processing (DSGVO Art. 18): the profile stays but is kept out of marketing,
# personalisation and segments.
restrictions = Table(
    "restrictions",
    metadata,
    Column("profile_id", ID, primary_key=True),
    Column("request_id", ID, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
)


# Small installation-wide values (the suppression salt), created on first use.
hub_meta = Table(
    "hub_meta",
    metadata,
    Column("key", String(60), primary_key=True),
    Column("value", Text, nullable=False),
)
