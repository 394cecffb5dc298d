"""The profiles capability's tables, on the one MetaData (omnikanal.db.schema)."""

from __future__ import annotations

from sqlalchemy import (
    Column,
    Index,
    Integer,
    String,
    Table,
)

from omnikanal.db.schema import ID, metadata
from omnikanal.db.types import UTCDateTime, json_type

profiles = Table(
    "profiles",
    metadata,
    Column("id", ID, primary_key=True),
    # live, or merged (then merged_into names the profile that absorbed it)
    Column("state", String(10), nullable=False),
    Column("merged_into", ID, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("first_seen", UTCDateTime, nullable=True),
    Column("last_seen", UTCDateTime, nullable=True),
    # {trait: {"value": ..., "source_id": ..., "source": name, "at": iso}}
    Column("traits", json_type(), nullable=False),
    # {"channels": {channel: count}, "types": {type: count}}
    Column("stats", json_type(), nullable=False),
    Column("event_count", Integer, nullable=False),
)


# Partial: nearly every profile is live (merged_into NULL), and with a full index SQLite's statistics
# say a lookup by merged_into returns every row, so the planner scanned the table in each merge-chain
# walk. The partial index holds only merged profiles and its statistics say so.
Index(
    "ix_profiles_merged_into",
    profiles.c.merged_into,
    sqlite_where=profiles.c.merged_into.isnot(None),
    postgresql_where=profiles.c.merged_into.isnot(None),
)
