"""The privacy capability's tables, on the one MetaData (omnikanal.db.schema)."""

from __future__ import annotations

from sqlalchemy import (
    Column,
    String,
    Table,
    Text,
)

from omnikanal.db.schema import ID, metadata
from omnikanal.db.types import UTCDateTime, json_type

# Data-subject requests. After an erasure the row names nobody: the subject columns are cleared and
# only counts remain.
privacy_requests = Table(
    "privacy_requests",
    metadata,
    Column("id", ID, primary_key=True),
    Column("type", String(20), nullable=False),
    Column("status", String(20), nullable=False),
    Column("profile_id", ID, nullable=True, index=True),
    Column("origin", String(40), nullable=False),  # api, preference_centre
    Column("requested_by", String(200), nullable=True),
    Column("details", json_type(), nullable=False),  # rectification traits, notes
    Column("result", json_type(), nullable=False),  # counts per part, never values
    Column("error", Text, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("due_at", UTCDateTime, nullable=False),
    Column("completed_at", UTCDateTime, nullable=True),
    Column("completed_by", String(200), nullable=True),
)


# The export of an access request, kept for download until the person is erased or it expires.
privacy_exports = Table(
    "privacy_exports",
    metadata,
    Column("request_id", ID, primary_key=True),
    Column("profile_id", ID, nullable=False, index=True),
    Column("document", json_type(), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)
