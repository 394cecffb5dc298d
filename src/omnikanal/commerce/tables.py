"""The commerce capability's tables, on the one MetaData (omnikanal.db.schema)."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
)

from omnikanal.db.schema import ID, BigId, metadata
from omnikanal.db.types import UTCDateTime, json_type

# Catalogue, locations and stock are not personal; orders, reservations, returns, carts, scans and
# notifications are, and carry profile_id (nullable where a sale may be anonymous, e.g. at the till).
# Money is integer cents with an ISO 4217 currency; quantities are integers.

commerce_categories = Table(
    "commerce_categories",
    metadata,
    Column("id", String(100), primary_key=True),
    Column("parent_id", String(100), ForeignKey("commerce_categories.id"), nullable=True, index=True),
    Column("names", json_type(), nullable=False),  # {locale: name}
    Column("created_at", UTCDateTime, nullable=False),
)


commerce_products = Table(
    "commerce_products",
    metadata,
    Column("id", String(100), primary_key=True),  # the retailer's product (style) number
    Column("names", json_type(), nullable=False),  # {locale: text}
    Column("descriptions", json_type(), nullable=False),  # {locale: text}
    Column("category_id", String(100), ForeignKey("commerce_categories.id"), nullable=True, index=True),
    Column("brand", String(200), nullable=True),
    Column("attributes", json_type(), nullable=False),
    Column("active", Boolean, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)


# The sellable unit: stock, prices and order lines refer to a variant (one per colour and size).
commerce_variants = Table(
    "commerce_variants",
    metadata,
    Column("id", ID, primary_key=True),
    Column("product_id", String(100), ForeignKey("commerce_products.id"), nullable=False, index=True),
    Column("sku", String(100), nullable=False, unique=True),
    Column("gtin", String(14), nullable=True, unique=True),  # normalised to 14 digits
    Column("colour", String(100), nullable=True),
    Column("size", String(100), nullable=True),
    Column("attributes", json_type(), nullable=False),
    Column("active", Boolean, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)


commerce_prices = Table(
    "commerce_prices",
    metadata,
    Column("variant_id", ID, ForeignKey("commerce_variants.id"), nullable=False),
    Column("channel", String(20), nullable=False),
    Column("amount_cents", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    PrimaryKeyConstraint("variant_id", "channel"),
)


commerce_locations = Table(
    "commerce_locations",
    metadata,
    Column("id", String(100), primary_key=True),  # the retailer's store or warehouse code
    Column("kind", String(20), nullable=False),  # store, warehouse
    Column("name", String(200), nullable=False),
    Column("address", json_type(), nullable=False),
    Column("latitude", Float, nullable=True),
    Column("longitude", Float, nullable=True),
    Column("timezone", String(64), nullable=False),
    Column("opening_hours", json_type(), nullable=False),  # {"mon": [["09:00", "20:00"]], ...}
    Column("services", json_type(), nullable=False),  # ["click_and_collect", "reservations", "returns"]
    Column("active", Boolean, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)


# available = on_hand - reserved - allocated; writers change it only with conditional updates
# (commerce/stock_store.py), so it cannot go below zero through a reservation, sale or allocation.
commerce_stock = Table(
    "commerce_stock",
    metadata,
    Column("variant_id", ID, ForeignKey("commerce_variants.id"), nullable=False),
    Column("location_id", String(100), ForeignKey("commerce_locations.id"), nullable=False),
    Column("on_hand", Integer, nullable=False),
    Column("reserved", Integer, nullable=False),
    Column("allocated", Integer, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    # variant first: the scan reads one variant's stock in every location
    PrimaryKeyConstraint("variant_id", "location_id"),
    CheckConstraint("on_hand >= 0 AND reserved >= 0 AND allocated >= 0", name="ck_commerce_stock_counts"),
)


# Append-only: every change of a stock row, with the deltas it applied.
commerce_stock_movements = Table(
    "commerce_stock_movements",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("variant_id", ID, nullable=False),
    Column("location_id", String(100), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("on_hand_delta", Integer, nullable=False),
    Column("reserved_delta", Integer, nullable=False),
    Column("allocated_delta", Integer, nullable=False),
    Column("reference", String(100), nullable=True),  # order, reservation, return or transfer id
    Column("note", String(500), nullable=True),
    Column("actor", String(200), nullable=True),
    Column("at", UTCDateTime, nullable=False),
    Index("ix_commerce_stock_movements_variant_location", "variant_id", "location_id", "id"),
)


commerce_reservations = Table(
    "commerce_reservations",
    metadata,
    Column("id", ID, primary_key=True),
    Column("profile_id", ID, nullable=True, index=True),
    Column("location_id", String(100), nullable=False),
    Column("variant_id", ID, nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("status", String(20), nullable=False),  # active, fulfilled, expired, cancelled
    Column("order_id", String(100), nullable=True, index=True),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("reminded_at", UTCDateTime, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Index("ix_commerce_reservations_status_expires", "status", "expires_at"),
)


commerce_orders = Table(
    "commerce_orders",
    metadata,
    Column("id", String(100), primary_key=True),  # the shop's order id, or one given by the hub
    Column("profile_id", ID, nullable=True, index=True),
    Column("channel", String(20), nullable=False),
    Column("origin_location_id", String(100), nullable=True),
    Column("fulfilment", String(30), nullable=False),
    Column("fulfilment_location_id", String(100), nullable=True),
    Column("status", String(20), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("total_cents", BigInteger, nullable=False),
    # commerce: recorded through the commerce API (which emitted its events); ingest: from a shop's
    # Order Completed event (which is on the timeline already)
    Column("recorded_by", String(10), nullable=False),
    Column("shipping_address", json_type(), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)


commerce_order_lines = Table(
    "commerce_order_lines",
    metadata,
    Column("order_id", String(100), ForeignKey("commerce_orders.id"), nullable=False),
    Column("line_no", Integer, nullable=False),
    Column("profile_id", ID, nullable=True),
    Column("variant_id", ID, nullable=True, index=True),  # None: a shop's product not in the catalogue
    Column("sku", String(100), nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("unit_price_cents", BigInteger, nullable=False),
    Column("returned_quantity", Integer, nullable=False),
    # where the line's stock is held: reserved there (click & collect) or allocated (delivery)
    Column("stock_location_id", String(100), nullable=True),
    Column("reservation_id", ID, nullable=True),
    PrimaryKeyConstraint("order_id", "line_no"),
)


commerce_order_history = Table(
    "commerce_order_history",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("order_id", String(100), nullable=False, index=True),
    Column("profile_id", ID, nullable=True, index=True),
    Column("from_status", String(20), nullable=True),
    Column("to_status", String(20), nullable=False),
    Column("channel", String(20), nullable=True),
    Column("location_id", String(100), nullable=True),
    Column("actor", String(200), nullable=True),
    Column("at", UTCDateTime, nullable=False),
)


commerce_returns = Table(
    "commerce_returns",
    metadata,
    Column("id", ID, primary_key=True),
    Column("order_id", String(100), nullable=False, index=True),
    Column("profile_id", ID, nullable=True, index=True),
    Column("channel", String(20), nullable=False),
    Column("location_id", String(100), nullable=True),
    Column("condition", String(20), nullable=False),  # resellable, damaged
    Column("reason", String(500), nullable=True),
    Column("lines", json_type(), nullable=False),  # [{"sku", "quantity", "restocked"}]
    Column("refund_cents", BigInteger, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)


commerce_cart_items = Table(
    "commerce_cart_items",
    metadata,
    Column("profile_id", ID, nullable=False),
    Column("sku", String(100), nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("profile_id", "sku"),
)


commerce_scans = Table(
    "commerce_scans",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("profile_id", ID, nullable=True, index=True),
    Column("location_id", String(100), nullable=False),
    Column("variant_id", ID, nullable=False),
    Column("at", UTCDateTime, nullable=False),
)


# Outbox for transactional messages; written in the transaction of the change that causes them and
# sent by messaging (messaging/jobs.py CommerceNotifier) on the customer's preferred channel.
commerce_notifications = Table(
    "commerce_notifications",
    metadata,
    Column("id", ID, primary_key=True),
    Column("profile_id", ID, nullable=True, index=True),
    Column("kind", String(40), nullable=False),
    Column("order_id", String(100), nullable=True),
    Column("reservation_id", ID, nullable=True),
    Column("payload", json_type(), nullable=False),
    Column("status", String(20), nullable=False),  # pending, then whatever messaging records
    Column("created_at", UTCDateTime, nullable=False),
    Index("ix_commerce_notifications_status_created", "status", "created_at"),
)
