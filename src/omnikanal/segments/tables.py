"""The segments capability's tables, on the one MetaData (omnikanal.db.schema)."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Index,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
)

from omnikanal.db.schema import ID, BigId, metadata
from omnikanal.db.types import UTCDateTime, json_type

# Segment definitions: a condition document (segments/model.py) each.
segments = Table(
    "segments",
    metadata,
    Column("id", ID, primary_key=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("description", Text, nullable=True),
    Column("condition", json_type(), nullable=False),
    Column("created_by", String(200), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("computed_at", UTCDateTime, nullable=True),
)


# Computed trait definitions, and each profile's current values (kept by the segments processor).
computed_trait_defs = Table(
    "computed_trait_defs",
    metadata,
    Column("name", String(60), primary_key=True),
    Column("definition", json_type(), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)


computed_traits = Table(
    "computed_traits",
    metadata,
    Column("profile_id", ID, nullable=False),
    Column("name", String(60), nullable=False),
    Column("value", json_type(), nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("profile_id", "name"),
    Index("ix_computed_traits_name", "name"),
)


# Current membership: one row per segment and live profile inside it.
segment_members = Table(
    "segment_members",
    metadata,
    Column("segment_id", ID, nullable=False),
    Column("profile_id", ID, nullable=False, index=True),
    Column("entered_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("segment_id", "profile_id"),
)


# Every entry and exit, in order: what a journey engine (or an export) subscribes to. txid as in
# events: the writing transaction's id on PostgreSQL, 0 on SQLite.
segment_changes = Table(
    "segment_changes",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("txid", BigInteger, nullable=False),
    Column("segment_id", ID, nullable=False, index=True),
    Column("profile_id", ID, nullable=False, index=True),
    Column("change", String(10), nullable=False),  # entered, exited
    Column("at", UTCDateTime, nullable=False),
    sqlite_autoincrement=True,
)


# When a profile's segments or computed traits may next change by themselves as time passes (a
# counted event leaving its window): the re-check job re-evaluates the profiles that are due.
segment_due = Table(
    "segment_due",
    metadata,
    Column("profile_id", ID, primary_key=True),
    Column("due_at", UTCDateTime, nullable=False, index=True),
)
