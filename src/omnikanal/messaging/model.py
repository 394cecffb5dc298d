"""Types of the messaging capability: channels, statuses, gate decisions, outgoing messages. No I/O."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from omnikanal.clock import isoformat
from omnikanal.consent.model import CHANNEL_PURPOSE

# Channels a message can go out on; "auto" lets the gate choose per customer.
CHANNELS: tuple[str, ...] = ("email", "sms", "whatsapp", "webhook", "task", "push")
AUTO = "auto"
LOCALES: tuple[str, ...] = ("de", "en")

# The timeline channel (sources.model.CHANNELS) on which a message's events appear.
TIMELINE_CHANNEL: dict[str, str] = {
    "email": "email",
    "sms": "sms",
    "whatsapp": "chat",
    "push": "app",
    "webhook": "other",
    "task": "hotline",
}

# Timeline channels whose use counts as engagement with a messaging channel (for channel "auto").
ENGAGEMENT_CHANNEL: dict[str, str] = {"email": "email", "sms": "sms", "chat": "whatsapp", "app": "push"}

# The marketing purpose a channel needs; a staff call is a phone contact.
MARKETING_PURPOSE: dict[str, str] = {**CHANNEL_PURPOSE, "task": "phone_marketing"}

# Which identifier type a channel sends to, for reachability and the suppression list.
ADDRESS_TYPE: dict[str, str] = {"email": "email", "sms": "phone", "whatsapp": "phone"}


class Status(StrEnum):
    QUEUED = "queued"
    DEFERRED = "deferred"
    BLOCKED = "blocked"
    SENT = "sent"
    DELIVERED = "delivered"
    OPENED = "opened"
    CLICKED = "clicked"
    BOUNCED = "bounced"
    COMPLAINED = "complained"
    FAILED = "failed"
    UNSUBSCRIBED = "unsubscribed"


# Statuses after which the dispatcher has nothing more to do.
FINAL = frozenset(
    {
        Status.BLOCKED,
        Status.SENT,
        Status.DELIVERED,
        Status.OPENED,
        Status.CLICKED,
        Status.BOUNCED,
        Status.COMPLAINED,
        Status.FAILED,
        Status.UNSUBSCRIBED,
    }
)

# A provider report may move a message forward, never back (a late "sent" after "delivered").
STATUS_RANK: dict[str, int] = {
    Status.QUEUED: 0,
    Status.DEFERRED: 0,
    Status.SENT: 1,
    Status.DELIVERED: 2,
    Status.OPENED: 3,
    Status.CLICKED: 4,
    Status.BOUNCED: 5,
    Status.FAILED: 5,
    Status.COMPLAINED: 6,
    Status.UNSUBSCRIBED: 6,
    Status.BLOCKED: 7,
}

TIMELINE_EVENT: dict[str, str] = {
    Status.SENT: "Message Sent",
    Status.DELIVERED: "Message Delivered",
    Status.OPENED: "Message Opened",
    Status.CLICKED: "Message Clicked",
    Status.BOUNCED: "Message Bounced",
    Status.COMPLAINED: "Message Complained",
    Status.FAILED: "Message Failed",
    Status.BLOCKED: "Message Blocked",
    Status.DEFERRED: "Message Deferred",
    Status.UNSUBSCRIBED: "Unsubscribed",
}
# A staff task finished (with its outcome) on the customer's timeline.
TASK_COMPLETED = "Task Completed"


def campaign_of(data: Any) -> str | None:
    """The campaign a message was sent for: the sender's ``data.campaign``, else the name of the
    journey that sent it (the analytics capability prices the hub's own messages per campaign)."""
    if not isinstance(data, dict):
        return None
    for name in ("campaign", "journey"):
        value = data.get(name)
        if isinstance(value, str) and value.strip():
            return value.strip()[:200]
    return None


class Verdict(StrEnum):
    ALLOW = "allow"
    DEFER = "defer"
    BLOCK = "block"


@dataclass(frozen=True, slots=True)
class QuietHours:
    """A daily window in local time; it may wrap past midnight (20:00-08:00)."""

    start_minute: int
    end_minute: int

    @classmethod
    def parse(cls, text: str) -> QuietHours:
        try:
            start, end = text.split("-")
            return cls(_minutes(start), _minutes(end))
        except ValueError:
            raise ValueError(f"quiet hours must look like 20:00-08:00, not {text!r}") from None


def _minutes(text: str) -> int:
    hours, minutes = text.strip().split(":")
    value = int(hours) * 60 + int(minutes)
    if not 0 <= int(hours) <= 24 or not 0 <= int(minutes) < 60 or value > 24 * 60:
        raise ValueError(text)
    return value


@dataclass(frozen=True, slots=True)
class Policy:
    """The rules of the gate, from the settings."""

    default_timezone: str = "Europe/Berlin"
    quiet_hours: dict[str, QuietHours] = field(default_factory=dict)
    quiet_hours_transactional: bool = False
    cap_count: int = 3
    cap_days: float = 7.0
    channel_caps: dict[str, int] = field(default_factory=dict)
    auto_fallback: tuple[str, ...] = ("email", "sms", "whatsapp")


@dataclass(slots=True)
class CustomerFacts:
    """What the gate knows of a customer when it decides."""

    profile_id: str
    traits: dict[str, Any]
    addresses: dict[str, str]  # channel -> address
    # messaging channel -> (events on the matching timeline channel, time of the latest)
    engagement: dict[str, tuple[int, datetime | None]] = field(default_factory=dict)
    # passed_at and channel of the marketing messages already let through in the cap window
    recent_marketing: list[tuple[datetime, str]] = field(default_factory=list)
    # channel -> (chance to act after a message, messages it rests on): the next best channel's
    # scores (recommend's, through a port); empty when there are none for the customer
    channel_scores: dict[str, tuple[float, int]] = field(default_factory=dict)

    @property
    def timezone(self) -> str | None:
        value = self.traits.get("timezone") or self.traits.get("time_zone")
        return value if isinstance(value, str) else None

    @property
    def preferred_channel(self) -> str | None:
        value = self.traits.get("preferredChannel") or self.traits.get("preferred_channel")
        return value.lower() if isinstance(value, str) else None


@dataclass(frozen=True, slots=True)
class GateRequest:
    profile_id: str
    channel: str  # a channel or "auto"
    transactional: bool
    purpose: str | None  # the caller's purpose; marketing defaults to the channel's purpose
    address: str | None = None  # an explicit address (webhook URL); else the customer's own
    # channel auto: only these channels (those the template has a version for); None: any
    only: frozenset[str] | None = None


@dataclass(slots=True)
class GateDecision:
    verdict: Verdict
    reason: str
    channel: str | None
    purpose: str | None
    address: str | None = None
    not_before: datetime | None = None
    channel_reason: str | None = None
    checks: list[dict[str, Any]] = field(default_factory=list)

    @property
    def allowed(self) -> bool:
        return self.verdict is Verdict.ALLOW

    def as_dict(self, at: datetime) -> dict[str, Any]:
        return {
            "verdict": self.verdict.value,
            "reason": self.reason,
            "channel": self.channel,
            "channel_reason": self.channel_reason,
            "purpose": self.purpose,
            "not_before": isoformat(self.not_before),
            "decided_at": isoformat(at),
            "checks": self.checks,
        }


@dataclass(slots=True)
class Outgoing:
    """One message ready for a channel adapter."""

    message_id: str
    profile_id: str
    channel: str
    address: str
    subject: str | None
    text: str
    html: str | None
    marketing: bool
    unsubscribe_url: str | None = None
    options: dict[str, Any] = field(default_factory=dict)
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class SendResult:
    provider_id: str | None = None
    status: Status = Status.SENT


class TransientFailure(Exception):
    """The provider may accept the message later (timeout, 5xx, 429): retry with backoff."""


class PermanentFailure(Exception):
    """The provider refused the message for good (bad address, 4xx): record and stop."""

    def __init__(self, message: str, status: Status = Status.FAILED) -> None:
        super().__init__(message)
        self.status = status
