"""The auth capability's tables, on the one MetaData (omnikanal.db.schema)."""

from __future__ import annotations

from sqlalchemy import (
    Column,
    String,
    Table,
)

from omnikanal.db.schema import ID, metadata
from omnikanal.db.types import UTCDateTime

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", ID, primary_key=True),
    Column("name", String(200), nullable=False),
    Column("role", String(20), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("revoked_at", UTCDateTime, nullable=True),
)


# The store an API token is tied to (a till system of one store); tokens without a row see every store.
api_token_stores = Table(
    "api_token_stores",
    metadata,
    Column("token_id", ID, primary_key=True),
    Column("store_id", String(100), nullable=False),
)
