"""The identity capability's tables, on the one MetaData (omnikanal.db.schema)."""

from __future__ import annotations

from sqlalchemy import (
    Column,
    ForeignKey,
    PrimaryKeyConstraint,
    String,
    Table,
    UniqueConstraint,
)

from omnikanal.db.schema import ID, BigId, metadata
from omnikanal.db.types import UTCDateTime, json_type

identities = Table(
    "identities",
    metadata,
    Column("type", String(40), nullable=False),
    Column("value", String(320), nullable=False),
    Column("profile_id", ID, ForeignKey("profiles.id"), nullable=False, index=True),
    # The profile the identifier was first attached to: unmerge gives it back to that branch.
    Column("origin_profile_id", ID, nullable=False, index=True),
    Column("source_id", ID, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("type", "value"),
)


merges = Table(
    "merges",
    metadata,
    Column("id", ID, primary_key=True),
    Column("profile_id", ID, nullable=False, index=True),  # the surviving profile
    Column("merged_id", ID, nullable=False, index=True),  # the profile absorbed
    Column("reason", String(20), nullable=False),  # stitch, alias
    Column("identifier_type", String(40), nullable=True),
    Column("identifier_value", String(320), nullable=True),
    Column("source_id", ID, nullable=True),
    Column("message_id", String(200), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("undone_at", UTCDateTime, nullable=True),
    Column("undone_by", String(200), nullable=True),
    # traits of the absorbed profile at merge time, kept for the record
    Column("snapshot", json_type(), nullable=False),
)


identity_conflicts = Table(
    "identity_conflicts",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("profile_id", ID, nullable=False, index=True),
    Column("other_profile_id", ID, nullable=True),
    Column("identifier_type", String(40), nullable=False),
    Column("identifier_value", String(320), nullable=False),
    Column("reason", String(40), nullable=False),
    Column("source_id", ID, nullable=True),
    Column("message_id", String(200), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    # one record per profile, identifier and reason, however many events repeat the evidence
    UniqueConstraint("profile_id", "identifier_type", "identifier_value", "reason"),
)


# After an unmerge the two branches must not be stitched together again by the same evidence.
merge_blocks = Table(
    "merge_blocks",
    metadata,
    Column("profile_a", ID, nullable=False),
    Column("profile_b", ID, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("profile_a", "profile_b"),
)
