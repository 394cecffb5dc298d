"""All tables. Every per-customer table carries ``profile_id`` so the schema can be sharded by it."""

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
    Text,
    UniqueConstraint,
    false,
    text,
)

from omnikanal.db.schema import ID as ID
from omnikanal.db.schema import BigId as BigId
from omnikanal.db.schema import metadata as metadata
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

profiles = Table(
    "profiles",
    metadata,
    Column("id", ID, primary_key=True),
    # live, or merged (then merged_into names the profile that absorbed it)
    Column("state", String(10), nullable=False),
    Column("merged_into", ID, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("first_seen", UTCDateTime, nullable=True),
    Column("last_seen", UTCDateTime, nullable=True),
    # {trait: {"value": ..., "source_id": ..., "source": name, "at": iso}}
    Column("traits", json_type(), nullable=False),
    # {"channels": {channel: count}, "types": {type: count}}
    Column("stats", json_type(), nullable=False),
    Column("event_count", Integer, nullable=False),
)
# Partial: nearly every profile is live (merged_into NULL), and with a full index SQLite's statistics
# say a lookup by merged_into returns every row, so the planner scanned the table in each merge-chain
# walk. The partial index holds only merged profiles and its statistics say so.
Index(
    "ix_profiles_merged_into",
    profiles.c.merged_into,
    sqlite_where=profiles.c.merged_into.isnot(None),
    postgresql_where=profiles.c.merged_into.isnot(None),
)

identities = Table(
    "identities",
    metadata,
    Column("type", String(40), nullable=False),
    Column("value", String(320), nullable=False),
    Column("profile_id", ID, ForeignKey("profiles.id"), nullable=False, index=True),
    # The profile the identifier was first attached to: unmerge gives it back to that branch.
    Column("origin_profile_id", ID, nullable=False, index=True),
    Column("source_id", ID, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("type", "value"),
)

events = Table(
    "events",
    metadata,
    Column("seq", BigId, primary_key=True, autoincrement=True),
    # Writing transaction's id on PostgreSQL (0 on SQLite, where commits are serial): the event log
    # orders by (txid, seq) and keeps track of committed transactions, so nothing is skipped.
    Column("txid", BigInteger, nullable=False),
    Column("source_id", ID, ForeignKey("sources.id"), nullable=False),
    Column("message_id", String(200), nullable=False),
    Column("profile_id", ID, nullable=False),
    Column("type", String(10), nullable=False),
    Column("event", String(200), nullable=True),
    Column("channel", String(20), nullable=False),
    Column("lib_channel", String(40), nullable=True),
    Column("user_id", String(320), nullable=True),
    Column("anonymous_id", String(320), nullable=True),
    Column("original_timestamp", UTCDateTime, nullable=True),
    Column("sent_at", UTCDateTime, nullable=True),
    Column("received_at", UTCDateTime, nullable=False),
    Column("timestamp", UTCDateTime, nullable=False),
    Column("payload", json_type(), nullable=False),
    UniqueConstraint("source_id", "message_id"),
    Index("ix_events_profile_time", "profile_id", "timestamp", "seq"),
    # Only PostgreSQL orders the log by txid; on SQLite (txid always 0) the index stays empty and free,
    # and readers go by seq, the primary key.
    Index("ix_events_log", "txid", "seq", sqlite_where=text("txid <> 0")),
    # Without AUTOINCREMENT SQLite reuses the seq of deleted newest rows (erasure), and a consumer
    # whose cursor passed them would skip the new events for ever.
    sqlite_autoincrement=True,
)

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

merges = Table(
    "merges",
    metadata,
    Column("id", ID, primary_key=True),
    Column("profile_id", ID, nullable=False, index=True),  # the surviving profile
    Column("merged_id", ID, nullable=False, index=True),  # the profile absorbed
    Column("reason", String(20), nullable=False),  # stitch, alias
    Column("identifier_type", String(40), nullable=True),
    Column("identifier_value", String(320), nullable=True),
    Column("source_id", ID, nullable=True),
    Column("message_id", String(200), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("undone_at", UTCDateTime, nullable=True),
    Column("undone_by", String(200), nullable=True),
    # traits of the absorbed profile at merge time, kept for the record
    Column("snapshot", json_type(), nullable=False),
)

identity_conflicts = Table(
    "identity_conflicts",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("profile_id", ID, nullable=False, index=True),
    Column("other_profile_id", ID, nullable=True),
    Column("identifier_type", String(40), nullable=False),
    Column("identifier_value", String(320), nullable=False),
    Column("reason", String(40), nullable=False),
    Column("source_id", ID, nullable=True),
    Column("message_id", String(200), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    # one record per profile, identifier and reason, however many events repeat the evidence
    UniqueConstraint("profile_id", "identifier_type", "identifier_value", "reason"),
)

# After an unmerge the two branches must not be stitched together again by the same evidence.
merge_blocks = Table(
    "merge_blocks",
    metadata,
    Column("profile_a", ID, nullable=False),
    Column("profile_b", ID, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("profile_a", "profile_b"),
)

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

access_log = Table(
    "access_log",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("actor", String(200), nullable=False),
    Column("action", String(60), nullable=False),
    Column("profile_id", ID, nullable=True, index=True),
    Column("at", UTCDateTime, nullable=False),
)

# --- consent and privacy ---

# The append-only consent ledger: every change, with where it came from and the proof.
consent_records = Table(
    "consent_records",
    metadata,
    Column("id", ID, primary_key=True),
    Column("profile_id", ID, nullable=False),
    Column("purpose", String(60), nullable=False),
    Column("status", String(20), nullable=False),
    Column("channel", String(20), nullable=True),
    Column("source", String(200), nullable=False),  # a source's name, "api", "preference_centre", ...
    Column("actor", String(200), nullable=True),  # the staff user or token that recorded it
    Column("wording", Text, nullable=True),
    Column("policy_version", String(60), nullable=True),
    # {"ip", "user_agent", "confirmed_at", "staff_user", "message_id", ...}
    Column("proof", json_type(), nullable=False),
    Column("occurred_at", UTCDateTime, nullable=False),
    Column("recorded_at", UTCDateTime, nullable=False),
    Index("ix_consent_records_profile", "profile_id", "purpose", "occurred_at"),
)

# The current status per profile and purpose, derived from the ledger in the same transaction, so the
# contact question is one primary-key read.
consent_state = Table(
    "consent_state",
    metadata,
    Column("profile_id", ID, nullable=False),
    Column("purpose", String(60), nullable=False),
    Column("status", String(20), nullable=False),
    Column("record_id", ID, nullable=False),
    Column("occurred_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("profile_id", "purpose"),
)

# Double opt-in: one row per confirmation link sent; used_at makes the link single-use.
consent_confirmations = Table(
    "consent_confirmations",
    metadata,
    Column("token_id", String(40), primary_key=True),
    Column("profile_id", ID, nullable=False, index=True),
    Column("purpose", String(60), nullable=False),
    Column("record_id", ID, nullable=False),
    Column("email", String(320), nullable=True),
    Column("token", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("used_at", UTCDateTime, nullable=True),
    Column("sent_at", UTCDateTime, nullable=True),
)

# Identifiers that must never be stored again (erased persons) or contacted (bounces, complaints):
# only a salted hash, never the value.
suppressions = Table(
    "suppressions",
    metadata,
    Column("hash", String(64), primary_key=True),
    Column("identifier_type", String(40), nullable=False),
    Column("reason", String(40), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    # events dropped because they carried this identifier
    Column("dropped_events", Integer, nullable=False),
    Column("last_dropped_at", UTCDateTime, nullable=True),
)

# Restriction of processing (DSGVO Art. 18): the profile stays but is kept out of marketing,
# personalisation and segments.
restrictions = Table(
    "restrictions",
    metadata,
    Column("profile_id", ID, primary_key=True),
    Column("request_id", ID, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
)

# Small installation-wide values (the suppression salt), created on first use.
hub_meta = Table(
    "hub_meta",
    metadata,
    Column("key", String(60), primary_key=True),
    Column("value", Text, nullable=False),
)

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
# --- commerce ---
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

# --- segments ---

# Segment definitions: a condition document (segments/model.py) each.
segments = Table(
    "segments",
    metadata,
    Column("id", ID, primary_key=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("description", Text, nullable=True),
    Column("condition", json_type(), nullable=False),
    Column("created_by", String(200), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("computed_at", UTCDateTime, nullable=True),
)

# Computed trait definitions, and each profile's current values (kept by the segments processor).
computed_trait_defs = Table(
    "computed_trait_defs",
    metadata,
    Column("name", String(60), primary_key=True),
    Column("definition", json_type(), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

computed_traits = Table(
    "computed_traits",
    metadata,
    Column("profile_id", ID, nullable=False),
    Column("name", String(60), nullable=False),
    Column("value", json_type(), nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("profile_id", "name"),
    Index("ix_computed_traits_name", "name"),
)

# Current membership: one row per segment and live profile inside it.
segment_members = Table(
    "segment_members",
    metadata,
    Column("segment_id", ID, nullable=False),
    Column("profile_id", ID, nullable=False, index=True),
    Column("entered_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("segment_id", "profile_id"),
)

# Every entry and exit, in order: what a journey engine (or an export) subscribes to. txid as in
# events: the writing transaction's id on PostgreSQL, 0 on SQLite.
segment_changes = Table(
    "segment_changes",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("txid", BigInteger, nullable=False),
    Column("segment_id", ID, nullable=False, index=True),
    Column("profile_id", ID, nullable=False, index=True),
    Column("change", String(10), nullable=False),  # entered, exited
    Column("at", UTCDateTime, nullable=False),
    sqlite_autoincrement=True,
)

# When a profile's segments or computed traits may next change by themselves as time passes (a
# counted event leaving its window): the re-check job re-evaluates the profiles that are due.
segment_due = Table(
    "segment_due",
    metadata,
    Column("profile_id", ID, primary_key=True),
    Column("due_at", UTCDateTime, nullable=False, index=True),
)

# Batch computation counts events by name and time.
Index("ix_events_event_time", events.c.event, events.c.timestamp)

# --- messaging ---

message_templates = Table(
    "message_templates",
    metadata,
    Column("id", ID, primary_key=True),
    Column("name", String(200), nullable=False),
    Column("channel", String(20), nullable=False),
    Column("locale", String(10), nullable=False),
    Column("subject", Text, nullable=True),
    Column("body_text", Text, nullable=False),
    Column("body_html", Text, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    UniqueConstraint("name", "channel", "locale"),
)

# The outbox: a message is written here in the caller's transaction and sent after commit.
messages = Table(
    "messages",
    metadata,
    Column("id", ID, primary_key=True),
    Column("profile_id", ID, nullable=False, index=True),
    Column("requested_channel", String(20), nullable=False),  # a channel, or "auto"
    Column("channel", String(20), nullable=True),  # the channel the gate chose
    Column("template", String(200), nullable=True),
    Column("locale", String(10), nullable=True),
    Column("purpose", String(40), nullable=True),
    Column("transactional", Boolean, nullable=False),
    Column("status", String(20), nullable=False),
    Column("reason", String(60), nullable=True),
    Column("idempotency_key", String(200), nullable=True, unique=True),
    Column("content", json_type(), nullable=True),  # inline subject/text/html, when no template
    Column("data", json_type(), nullable=False),  # caller data for the template
    Column("options", json_type(), nullable=False),  # address override, task queue, ...
    Column("address", String(2000), nullable=True),
    Column("rendered", json_type(), nullable=True),
    Column("decision", json_type(), nullable=True),  # the gate's last decision
    Column("attempts", Integer, nullable=False),
    # When the dispatcher may look at it next (send time, deferral, retry backoff); NULL once final.
    Column("due_at", UTCDateTime, nullable=True),
    Column("claimed_until", UTCDateTime, nullable=True),
    Column("passed_at", UTCDateTime, nullable=True),  # when the gate let it through (caps count these)
    Column("provider_id", String(200), nullable=True, index=True),
    Column("error", Text, nullable=True),
    Column("created_by", String(200), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("sent_at", UTCDateTime, nullable=True),
    Index("ix_messages_due", "due_at"),
    Index("ix_messages_profile_passed", "profile_id", "passed_at"),
)

message_statuses = Table(
    "message_statuses",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("message_id", ID, nullable=False, index=True),
    Column("profile_id", ID, nullable=False, index=True),
    Column("status", String(20), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("detail", json_type(), nullable=False),
)

staff_tasks = Table(
    "staff_tasks",
    metadata,
    Column("id", ID, primary_key=True),
    Column("profile_id", ID, nullable=False, index=True),
    Column("message_id", ID, nullable=True, unique=True),
    Column("queue", String(80), nullable=False),
    Column("kind", String(40), nullable=False),
    Column("title", Text, nullable=False),
    Column("body", Text, nullable=False),
    Column("status", String(20), nullable=False),  # open, claimed, done
    Column("claimed_by", String(200), nullable=True),
    Column("claimed_at", UTCDateTime, nullable=True),
    Column("completed_at", UTCDateTime, nullable=True),
    Column("outcome", Text, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Index("ix_staff_tasks_queue_status", "queue", "status", "created_at"),
)

# --- console ---

# Staff who log in to the console. A store user is tied to one store (a commerce location id) and
# sees and handles only that store's reservations and pick-ups.
staff_users = Table(
    "staff_users",
    metadata,
    Column("id", ID, primary_key=True),
    Column("username", String(100), nullable=False, unique=True),
    Column("password_hash", String(200), nullable=False),
    Column("role", String(20), nullable=False),
    Column("store_id", String(100), nullable=True),
    Column("disabled", Boolean, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

# Server-side console sessions; the cookie holds a random secret, the table only its hash.
staff_sessions = Table(
    "staff_sessions",
    metadata,
    Column("id_hash", String(64), primary_key=True),
    Column("user_id", ID, nullable=False, index=True),
    Column("csrf_token", String(64), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False, index=True),
)

# Failed logins, counted per user name and per client address within a window (rate limit).
staff_login_failures = Table(
    "staff_login_failures",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("username", String(100), nullable=False),
    Column("ip", String(64), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Index("ix_staff_login_failures_username_at", "username", "at"),
    Index("ix_staff_login_failures_ip_at", "ip", "at"),
)

# The store an API token is tied to (a till system of one store); tokens without a row see every store.
api_token_stores = Table(
    "api_token_stores",
    metadata,
    Column("token_id", ID, primary_key=True),
    Column("store_id", String(100), nullable=False),
)

# --- messaging: web push ---
# A browser's or app's Web Push subscription (the PushSubscription a site registers): where the
# push service takes messages for it, and the keys the payload is encrypted to (RFC 8291).
push_subscriptions = Table(
    "push_subscriptions",
    metadata,
    Column("id", ID, primary_key=True),
    Column("profile_id", ID, nullable=False, index=True),
    Column("endpoint", String(2000), nullable=False, unique=True),
    Column("p256dh", String(200), nullable=False),  # the user agent's public key, base64url
    Column("auth", String(100), nullable=False),  # the shared authentication secret, base64url
    Column("user_agent", String(400), nullable=True),
    Column("source_id", ID, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    # Set when the push service answered 404/410 or the site unregistered it; never sent to again.
    Column("expired_at", UTCDateTime, nullable=True),
    Column("expired_reason", String(40), nullable=True),
)


# --- journeys ---

journeys = Table(
    "journeys",
    metadata,
    Column("id", ID, primary_key=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("status", String(10), nullable=False),  # draft, active, paused
    Column("version", Integer, nullable=False),  # the version new entries start on
    Column("created_by", String(200), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

journey_versions = Table(
    "journey_versions",
    metadata,
    Column("journey_id", ID, primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("document", json_type(), nullable=False),
    # names the document uses resolved at save time (segment name -> id), so a rename cannot change it
    Column("resolved", json_type(), nullable=False),
    Column("created_by", String(200), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
)

journey_runs = Table(
    "journey_runs",
    metadata,
    Column("id", ID, primary_key=True),
    Column("journey_id", ID, nullable=False),
    Column("version", Integer, nullable=False),
    Column("profile_id", ID, nullable=False),
    Column("run_key", String(200), nullable=False),  # the journey key's value ("" without a key)
    # what caused the entry (an event's seq, a date, an API call): the same cause never enters twice
    Column("origin", String(200), nullable=False),
    # "<profile>|<key>" while a run that excludes parallel runs is active; NULL otherwise
    Column("active_key", String(300), nullable=True),
    Column("status", String(10), nullable=False),  # active, ended
    Column("step", String(60), nullable=True),  # the step it is at (waiting in)
    Column("seq", Integer, nullable=False),  # steps run so far: the next step log's sequence number
    Column("wait_event", String(260), nullable=True),  # an event name or "segment:<id>" it waits for
    Column("variant", String(60), nullable=True),
    Column("data", json_type(), nullable=False),  # the trigger's properties, for templates
    Column("last_message_id", ID, nullable=True),
    Column("exit_reason", String(60), nullable=True),
    Column("entered_at", UTCDateTime, nullable=False),
    Column("ended_at", UTCDateTime, nullable=True),
    Column("goal_until", UTCDateTime, nullable=True),
    Column("goal_at", UTCDateTime, nullable=True),
    Column("goal_message_id", ID, nullable=True),
    Column("updated_at", UTCDateTime, nullable=False),
    UniqueConstraint("journey_id", "origin", "profile_id", name="uq_journey_runs_origin"),
    UniqueConstraint("journey_id", "active_key", name="uq_journey_runs_active"),
    Index("ix_journey_runs_profile", "profile_id", "status"),
    Index("ix_journey_runs_journey", "journey_id", "version", "status"),
)

journey_timers = Table(
    "journey_timers",
    metadata,
    Column("run_id", ID, primary_key=True),  # at most one timer per run
    Column("seq", Integer, nullable=False),  # the run's seq when it was set; stale once the run moved on
    Column("due_at", UTCDateTime, nullable=False),
    Column("profile_id", ID, nullable=False),
    Index("ix_journey_timers_due", "due_at"),
)

journey_steps = Table(
    "journey_steps",
    metadata,
    # the step log: one row per (run, sequence number), so no step can run twice
    Column("run_id", ID, primary_key=True),
    Column("seq", Integer, primary_key=True),
    Column("profile_id", ID, nullable=False, index=True),
    Column("step", String(60), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("outcome", String(60), nullable=True),
    Column("message_id", ID, nullable=True, index=True),
    Column("at", UTCDateTime, nullable=False),
)
