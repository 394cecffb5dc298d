"""The one registry of listeners between capabilities.

The composition root (``hub.py``) creates it first, hands it to the services that announce
something, and registers the capabilities that listen, all before anything runs. No listener is
ever set on a service after it was built: a service reads the lists here when it announces.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

# Inside the announcing transaction: the profiles concerned and the time.
ProfilesListener = Callable[[Connection, list[str], datetime], None]


@dataclass
class Listeners:
    # After each commit of events (no arguments): the log's processors in this process start at
    # once instead of at their next poll.
    events_committed: list[Callable[[], None]] = field(default_factory=list)
    # Inside the ingest transaction, with the profiles a group's merges touched (both sides): a
    # processor that skips the merging event by its name still re-checks them.
    profiles_merged: list[ProfilesListener] = field(default_factory=list)
    # Inside the transaction of a change that announces no event (an unmerge, a restriction, a
    # rectification): the profiles whose derived state (segments) must be checked again.
    profiles_changed: list[ProfilesListener] = field(default_factory=list)
    # After the commit of messages that may go out at once (inline dispatch, with their ids).
    messages_enqueued: list[Callable[[list[str]], None]] = field(default_factory=list)
    # In the request of an inbound SMS or WhatsApp text that is no STOP/START keyword (channel
    # "sms" or "whatsapp", the sender's E.164 number, the text, the provider's message id).
    texts_received: list[Callable[[str, str, str, str], object]] = field(default_factory=list)
    # In the scan's request, for a known customer (live profile, scanned product, store, how many):
    # personal suggestions, or None to keep the bought-together ones. The first answer counts.
    scan_suggestions: list[Callable[[str, str, str, int], list[dict[str, Any]] | None]] = field(
        default_factory=list
    )
