"""The ingest capability's tables, on the one MetaData (omnikanal.db.schema)."""

from __future__ import annotations

from sqlalchemy import (
    Column,
    String,
    Table,
    Text,
)

from omnikanal.db.schema import ID, BigId, metadata
from omnikanal.db.types import UTCDateTime

quarantine = Table(
    "quarantine",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("source_id", ID, nullable=True, index=True),
    Column("received_at", UTCDateTime, nullable=False, index=True),
    Column("code", String(40), nullable=False),
    Column("field", String(200), nullable=True),
    Column("reason", Text, nullable=False),
    Column("payload", Text, nullable=False),
)
