"""The service capability's tables, on the one MetaData (omnikanal.db.schema)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Float, Index, Integer, LargeBinary, String, Table, Text

from omnikanal.db.schema import ID, metadata
from omnikanal.db.types import UTCDateTime, json_type

# A case: one customer's request, whatever channels it arrives on.
service_cases = Table(
    "service_cases",
    metadata,
    Column("id", ID, primary_key=True),
    # the short reference customers see in subjects and addresses ("C-1A2B3C4D5E")
    Column("ref", String(20), nullable=False, unique=True),
    Column("profile_id", ID, nullable=False, index=True),
    Column("subject", String(500), nullable=False),
    Column("queue", String(100), nullable=False),
    Column("priority", String(20), nullable=False),
    Column("status", String(40), nullable=False),
    Column("assignee", String(200), nullable=True),
    Column("channel", String(20), nullable=False),  # the channel it was opened on; answers go there
    Column("tags", json_type(), nullable=False),
    Column("links", json_type(), nullable=False),  # {"order_id": ..., "reservation_id": ..., ...}
    Column("entries", Integer, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("first_response_at", UTCDateTime, nullable=True),
    Column("resolved_at", UTCDateTime, nullable=True),
    Column("closed_at", UTCDateTime, nullable=True),
    # the SLA promise, fixed when the case opens (business hours of its queue)
    Column("first_response_due", UTCDateTime, nullable=True),
    Column("resolution_due", UTCDateTime, nullable=True),
    # the SLA state the watch last recorded, and when it must look again (NULL: all promises decided)
    Column("sla_state", String(20), nullable=False),
    Column("sla_check_at", UTCDateTime, nullable=True, index=True),
    # the clock stops while the case waits for the customer (since when), and the business hours
    # it stood still in all (the due times moved on by them)
    Column("sla_paused_at", UTCDateTime, nullable=True),
    Column("sla_paused_hours", Float, nullable=False, server_default="0"),
    Column("merged_into", ID, nullable=True, index=True),  # a duplicate merged into this case
    Column("csat_score", Integer, nullable=True),
    Column("csat_comment", Text, nullable=True),
    Column("csat_at", UTCDateTime, nullable=True),
    Index("ix_service_cases_queue_status", "queue", "status", "created_at"),
    Index("ix_service_cases_created", "created_at"),
    Index("ix_service_cases_closed", "closed_at"),  # the retention job's reading
)

# The thread of a case: inbound and outbound messages, notes, status changes, assignments.
service_entries = Table(
    "service_entries",
    metadata,
    Column("id", ID, primary_key=True),
    Column("case_id", ID, nullable=False, index=True),
    Column("profile_id", ID, nullable=False, index=True),
    Column("kind", String(20), nullable=False),  # inbound, outbound, note, status, assign
    Column("channel", String(20), nullable=True),
    Column("author", String(200), nullable=True),
    Column("body_text", Text, nullable=True),
    Column("body_html", Text, nullable=True),  # sanitised before it is stored
    Column("message_id", ID, nullable=True, index=True),  # the outbound message in messaging
    Column("mail_message_id", String(1000), nullable=True, index=True),  # RFC 5322 Message-ID
    Column("data", json_type(), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

# Canned replies and macros: per queue ("*": every queue), a text per locale with placeholders,
# and what else one click does (status, tags added, assignee).
service_macros = Table(
    "service_macros",
    metadata,
    Column("id", ID, primary_key=True),
    Column("queue", String(100), nullable=False),
    Column("name", String(200), nullable=False),
    Column("texts", json_type(), nullable=False),  # {"de": "...", "en": "..."}
    Column("status", String(40), nullable=True),
    Column("tags", json_type(), nullable=False),
    Column("assignee", String(200), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Index("ux_service_macros_queue_name", "queue", "name", unique=True),
)

# Merges of duplicate cases, kept for their undo: what moved and what the cases were before.
service_case_merges = Table(
    "service_case_merges",
    metadata,
    Column("id", ID, primary_key=True),
    Column("merged_id", ID, nullable=False, index=True),
    Column("survivor_id", ID, nullable=False, index=True),
    Column("profile_id", ID, nullable=False, index=True),
    Column("entry_ids", json_type(), nullable=False),  # the entries moved to the survivor
    Column("before", json_type(), nullable=False),  # status, tags, links of both cases
    Column("actor", String(200), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("undone_at", UTCDateTime, nullable=True),
)

# Files that came with inbound mail (allowed types, within the size limit), downloadable by staff.
service_attachments = Table(
    "service_attachments",
    metadata,
    Column("id", ID, primary_key=True),
    Column("entry_id", ID, nullable=False, index=True),
    Column("profile_id", ID, nullable=False, index=True),
    Column("filename", String(255), nullable=False),
    Column("content_type", String(100), nullable=False),
    Column("size", Integer, nullable=False),
    Column("content", LargeBinary, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

# How far the IMAP poller has read each support mailbox: the folder's UIDVALIDITY and the highest UID
# handed to the intake (a new UIDVALIDITY means the UIDs were renumbered: read the unseen mail again),
# and the outcome of the last poll, for operations.
service_mailboxes = Table(
    "service_mailboxes",
    metadata,
    Column("mailbox", String(500), primary_key=True),  # user@host:port/folder
    Column("uidvalidity", BigInteger, nullable=True),
    Column("last_uid", BigInteger, nullable=False),
    Column("fetched", BigInteger, nullable=False),  # messages handed to the intake in all
    Column("last_poll_at", UTCDateTime, nullable=True),
    Column("last_ok_at", UTCDateTime, nullable=True),
    Column("last_error", String(1000), nullable=True),  # None after a poll that worked
    # a message the intake failed on, and how often: after a few attempts it is flagged and skipped
    Column("stuck_uid", BigInteger, nullable=True),
    Column("stuck_count", Integer, nullable=False, server_default="0"),
    # the worker polling it now, until then (two workers never read one mailbox at once)
    Column("leased_until", UTCDateTime, nullable=True),
)
