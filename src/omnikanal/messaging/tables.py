"""The messaging capability's tables, on the one MetaData (omnikanal.db.schema)."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from omnikanal.db.schema import ID, BigId, metadata
from omnikanal.db.types import UTCDateTime, json_type

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
