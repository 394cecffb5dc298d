"""The matching capability's tables, on the one MetaData (omnikanal.db.schema)."""

from __future__ import annotations

from sqlalchemy import Column, Float, Index, Integer, String, Table, UniqueConstraint

from omnikanal.db.schema import ID, metadata
from omnikanal.db.types import UTCDateTime, json_type

# The trained models, newest in force; kept with the Splink version that made them.
matching_models = Table(
    "matching_models",
    metadata,
    Column("id", ID, primary_key=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("splink_version", String(20), nullable=False),
    Column("records", Integer, nullable=False),
    Column("model", json_type(), nullable=False),
)

# One card per live profile: its identifying traits, normalised (see matching/card.py).
matching_cards = Table(
    "matching_cards",
    metadata,
    Column("profile_id", ID, primary_key=True),
    Column("first_name", String(80), nullable=True),
    Column("last_name", String(80), nullable=True),
    Column("birth_date", String(10), nullable=True),
    Column("email", String(320), nullable=True),
    Column("phone", String(20), nullable=True),
    Column("postcode", String(10), nullable=True),
    Column("city", String(80), nullable=True),
    Column("street", String(200), nullable=True),
    # values left out of matching, and why: [{"field": ..., "reason": ...}]
    Column("problems", json_type(), nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)
# The candidate lookup of an incremental run: every blocking key has its index.
for _column in ("last_name", "birth_date", "email", "phone", "postcode"):
    Index(f"ix_matching_cards_{_column}", matching_cards.c[_column])

# Profiles whose traits changed since they were last matched (written by the worker's processor).
matching_dirty = Table(
    "matching_dirty",
    metadata,
    Column("profile_id", ID, primary_key=True),
    Column("marked_at", UTCDateTime, nullable=False),
)

# Every pair that was decided on: merged, waiting for review, accepted, rejected, or refused (two
# user ids). A pair is decided once: a rejected or undone one is never proposed again.
matching_pairs = Table(
    "matching_pairs",
    metadata,
    Column("id", ID, primary_key=True),
    Column("profile_a", ID, nullable=False),
    Column("profile_b", ID, nullable=False),
    Column("probability", Float, nullable=False),
    Column("weight", Float, nullable=False),
    Column("contributions", json_type(), nullable=False),
    Column("status", String(12), nullable=False),  # merged, review, accepted, rejected, refused
    Column("reason", String(40), nullable=True),
    Column("merge_id", ID, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("decided_at", UTCDateTime, nullable=True),
    Column("decided_by", String(200), nullable=True),
    UniqueConstraint("profile_a", "profile_b"),
)
Index("ix_matching_pairs_status", matching_pairs.c.status, matching_pairs.c.probability)
