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
