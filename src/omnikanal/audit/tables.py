"""The audit capability's tables, on the one MetaData (omnikanal.db.schema)."""

from __future__ import annotations

from sqlalchemy import (
    Column,
    String,
    Table,
)

from omnikanal.db.schema import ID, BigId, metadata
from omnikanal.db.types import UTCDateTime

access_log = Table(
    "access_log",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("actor", String(200), nullable=False),
    Column("action", String(60), nullable=False),
    Column("profile_id", ID, nullable=True, index=True),
    Column("at", UTCDateTime, nullable=False),
)
