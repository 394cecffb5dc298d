"""The recommend capability's tables, on the one MetaData (omnikanal.db.schema).

Interactions and user factors are personal (profile_id); item factors and popularity lists are not.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Float,
    Index,
    Integer,
    LargeBinary,
    PrimaryKeyConstraint,
    String,
    Table,
)

from omnikanal.db.schema import ID, BigId, metadata
from omnikanal.db.types import UTCDateTime, json_type

# One row per product a customer touched in an event: viewed, scanned, added to a cart, reserved,
# ordered, returned (a negative weight). Written by the worker's processor from the event log.
recommend_interactions = Table(
    "recommend_interactions",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("profile_id", ID, nullable=False),
    Column("sku", String(100), nullable=True),
    Column("product_id", String(100), nullable=True),
    Column("kind", String(20), nullable=False),
    Column("weight", Float, nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("channel", String(20), nullable=True),
    Column("store_id", String(100), nullable=True),
    Column("at", UTCDateTime, nullable=False),
)
Index("ix_recommend_interactions_profile", recommend_interactions.c.profile_id)
Index("ix_recommend_interactions_at", recommend_interactions.c.at)

# The trained models; the newest ready one is in force. figures: what training saw and how long it
# took. A model is ready once all its factors are written (they are written in many short
# transactions, so that SQLite's write lock is never held for the whole model).
recommend_models = Table(
    "recommend_models",
    metadata,
    Column("version", Integer, primary_key=True, autoincrement=True),
    Column("ready", Boolean, nullable=False),
    Column("trained_at", UTCDateTime, nullable=False),
    Column("algorithm", String(40), nullable=False),
    Column("params", json_type(), nullable=False),
    Column("figures", json_type(), nullable=False),
)

# Factors as float32 bytes (the model's own dimension): one row per customer and per product.
recommend_user_factors = Table(
    "recommend_user_factors",
    metadata,
    Column("model_version", Integer, nullable=False),
    Column("profile_id", ID, nullable=False),
    Column("factors", LargeBinary, nullable=False),
    PrimaryKeyConstraint("model_version", "profile_id"),
)
Index("ix_recommend_user_factors_profile", recommend_user_factors.c.profile_id)

recommend_item_factors = Table(
    "recommend_item_factors",
    metadata,
    Column("model_version", Integer, nullable=False),
    Column("product_id", String(100), nullable=False),
    Column("factors", LargeBinary, nullable=False),
    PrimaryKeyConstraint("model_version", "product_id"),
)

# The non-personal fallbacks of a model: scope "all", "store:<id>", "category:<id>", "month:<1-12>".
recommend_popular = Table(
    "recommend_popular",
    metadata,
    Column("model_version", Integer, nullable=False),
    Column("scope", String(120), nullable=False),
    Column("product_id", String(100), nullable=False),
    Column("score", Float, nullable=False),
    PrimaryKeyConstraint("model_version", "scope", "product_id"),
)

# Next best channel: one row per message that went out on a scored channel (from the event log's
# "Message Sent"), with the first direct reaction to it (opened, clicked). A message counts as
# acted on when it has one, or when a reply, a call or an interaction with products of the same
# customer falls after it and before ``window_end`` (sent_at + the reaction window).
recommend_channel_messages = Table(
    "recommend_channel_messages",
    metadata,
    Column("message_id", String(40), primary_key=True),
    Column("profile_id", ID, nullable=False),
    Column("channel", String(20), nullable=False),
    Column("sent_at", UTCDateTime, nullable=False),
    Column("window_end", UTCDateTime, nullable=False),
    Column("reacted_at", UTCDateTime, nullable=True),
    Column("reaction", String(20), nullable=True),
)
Index("ix_recommend_channel_messages_profile", recommend_channel_messages.c.profile_id)

# Reactions not tied to one message: a reply on a channel, a call (channel NULL: any phone channel).
recommend_channel_reactions = Table(
    "recommend_channel_reactions",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("profile_id", ID, nullable=False),
    Column("channel", String(20), nullable=True),
    Column("kind", String(20), nullable=False),
    Column("at", UTCDateTime, nullable=False),
)
Index("ix_recommend_channel_reactions_profile", recommend_channel_reactions.c.profile_id)

# Each customer's smoothed chance to act after a message, per channel (Beta prior around the
# channel's population rate), with the counts it comes from.
recommend_channel_scores = Table(
    "recommend_channel_scores",
    metadata,
    Column("profile_id", ID, nullable=False),
    Column("channel", String(20), nullable=False),
    Column("messages", Integer, nullable=False),
    Column("reactions", Integer, nullable=False),
    Column("score", Float, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("profile_id", "channel"),
)

# The population rate of each channel at the last full refresh: the prior mean of every score.
recommend_channel_rates = Table(
    "recommend_channel_rates",
    metadata,
    Column("channel", String(20), primary_key=True),
    Column("messages", Integer, nullable=False),
    Column("reactions", Integer, nullable=False),
    Column("rate", Float, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)
