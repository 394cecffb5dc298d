"""The eventlog capability's tables, on the one MetaData (omnikanal.db.schema)."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    String,
    Table,
)

from omnikanal.db.schema import metadata
from omnikanal.db.types import UTCDateTime, json_type

consumer_cursors = Table(
    "consumer_cursors",
    metadata,
    Column("name", String(100), primary_key=True),
    Column("txid", BigInteger, nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    # PostgreSQL: ids of committed transactions past the horizon that the consumer has read already
    # (eventlog/service.py); NULL when there are none
    Column("ahead", json_type(), nullable=True),
)
