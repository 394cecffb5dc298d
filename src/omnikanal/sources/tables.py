"""The sources capability's tables, on the one MetaData (omnikanal.db.schema)."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    String,
    Table,
    false,
)

from omnikanal.db.schema import ID, metadata
from omnikanal.db.types import UTCDateTime, json_type

sources = Table(
    "sources",
    metadata,
    Column("id", ID, primary_key=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("channel", String(20), nullable=False),
    Column("write_key_hash", String(64), nullable=False, unique=True),
    Column("enabled", Boolean, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("key_rotated_at", UTCDateTime, nullable=True),
    # Browser sources: the page origins allowed to send (CORS), whether the write key is public (rate
    # limited per client address), and what happens to the visitor's IP address before storing.
    Column("allowed_origins", json_type(), nullable=True),
    Column("public", Boolean, nullable=False, server_default=false()),
    Column("ip_policy", String(10), nullable=False, server_default="keep"),
)
