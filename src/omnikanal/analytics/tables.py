"""The analytics capability's tables: its copy of the touchpoints, media costs, and the profiles a
merge touched (whose touchpoints are re-keyed to the surviving profile)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Date, Index, Integer, String, Table, UniqueConstraint

from omnikanal.db.schema import ID, metadata
from omnikanal.db.types import UTCDateTime

# One row per page, screen or track event (its seq in the event log), written by the analytics
# processor in the worker role; reports read this (or its columnar copy), never the event log.
analytics_touchpoints = Table(
    "analytics_touchpoints",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("profile_id", ID, nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("type", String(10), nullable=False),
    Column("event", String(200), nullable=True),
    Column("channel", String(20), nullable=False),
    Column("source", String(100), nullable=False),
    Column("medium", String(100), nullable=False),
    Column("campaign", String(200), nullable=True),
    Column("order_id", String(200), nullable=True),
    Column("value_cents", BigInteger, nullable=True),
    Column("currency", String(3), nullable=True),
    Index("ix_analytics_touchpoints_at", "at"),
    Index("ix_analytics_touchpoints_profile", "profile_id", "at"),
    Index("ix_analytics_touchpoints_order", "order_id"),
)

# Media spend per day and key; a newer upload for the same day and key replaces the older one. The
# key's parts are '' where not given (so the unique constraint holds on both engines).
analytics_costs = Table(
    "analytics_costs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("day", Date, nullable=False),
    Column("channel", String(20), nullable=False),
    Column("source", String(100), nullable=False),
    Column("medium", String(100), nullable=False),
    Column("campaign", String(200), nullable=False),
    Column("cost_cents", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("clicks", BigInteger, nullable=True),
    Column("impressions", BigInteger, nullable=True),
    # where the figure came from: "import:<file name>" or "api"
    Column("origin", String(300), nullable=False),
    Column("imported_at", UTCDateTime, nullable=False),
    UniqueConstraint("day", "channel", "source", "medium", "campaign"),
)

# Profiles a merge touched since the last re-keying (the event log moved their events already).
analytics_merged = Table(
    "analytics_merged",
    metadata,
    Column("profile_id", ID, primary_key=True),
    Column("at", UTCDateTime, nullable=False),
)

# What the hub itself did that costs money, one row per event (its seq in the event log), written
# by the analytics processor from the hub's own timeline events: a message sent (by channel, SMS
# segments as quantity), a service case resolved (by queue). The own costs are computed from these
# at report time with the configured prices, so a changed price applies to the past as well.
analytics_usage = Table(
    "analytics_usage",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("profile_id", ID, nullable=False),
    Column("at", UTCDateTime, nullable=False),
    # sms, whatsapp, email, push, task (a message to staff) or case (a resolved service case)
    Column("kind", String(20), nullable=False),
    # the business channel the cost belongs to (the event's)
    Column("channel", String(20), nullable=False),
    Column("queue", String(100), nullable=False),
    Column("quantity", Integer, nullable=False),
    # the campaign the message was sent for (its journey's name, or the sender's data.campaign)
    Column("campaign", String(200), nullable=True),
    Index("ix_analytics_usage_at", "at"),
    Index("ix_analytics_usage_profile", "profile_id"),
)

# Products viewed and bought (one row per Product Viewed event and per order line), written by the
# analytics processor: research online, purchase offline, and channel preference per category.
analytics_products = Table(
    "analytics_products",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("line", Integer, primary_key=True, autoincrement=False),
    Column("profile_id", ID, nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("kind", String(10), nullable=False),  # view or purchase
    Column("channel", String(20), nullable=False),
    Column("sku", String(200), nullable=False),
    Column("category", String(200), nullable=True),
    Column("value_cents", BigInteger, nullable=True),
    Index("ix_analytics_products_at", "at"),
    Index("ix_analytics_products_profile", "profile_id", "at"),
)
