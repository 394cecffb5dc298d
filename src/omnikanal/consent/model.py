"""Types of the consent capability: purposes, statuses, ledger entries and contact decisions."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

# The marketing purpose that covers contact over each messaging channel. A consent for one channel
# never stands in for another: a confirmed email consent does not allow a sales call (UWG §7).
CHANNEL_PURPOSE: dict[str, str] = {
    "email": "email_marketing",
    "sms": "sms_marketing",
    "phone": "phone_marketing",
    "push": "push_marketing",
    "whatsapp": "messenger_marketing",
    "messenger": "messenger_marketing",
}


class ConsentStatus(StrEnum):
    GRANTED = "granted"
    DENIED = "denied"
    WITHDRAWN = "withdrawn"
    PENDING = "pending"


class Reason(StrEnum):
    """Why the contact question was answered as it was."""

    GRANTED = "granted"
    TRANSACTIONAL = "transactional"
    NO_CONSENT = "no_consent"
    DENIED = "denied"
    WITHDRAWN = "withdrawn"
    PENDING = "pending"
    RESTRICTED = "restricted"
    SUPPRESSED = "suppressed"
    ERASED = "erased"
    UNKNOWN_PROFILE = "unknown_profile"


@dataclass(frozen=True, slots=True)
class ContactDecision:
    """The answer to "may this profile be contacted for this purpose on this channel now?"."""

    allowed: bool
    reason: Reason
    profile_id: str
    purpose: str | None
    channel: str | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "allowed": self.allowed,
            "reason": self.reason.value,
            "profile_id": self.profile_id,
            "purpose": self.purpose,
            "channel": self.channel,
        }


@dataclass(frozen=True, slots=True)
class ConsentChange:
    """One change as it arrives, from the API, a tracked event or the preference centre."""

    purpose: str
    status: ConsentStatus
    channel: str | None = None
    wording: str | None = None
    policy_version: str | None = None
    proof: dict[str, Any] = field(default_factory=dict)
    occurred_at: datetime | None = None


def is_restricted_purpose(purpose: str) -> bool:
    return purpose.endswith("_marketing") or purpose == "personalisation"


@dataclass(frozen=True, slots=True)
class ContactFacts:
    """Everything the contact question needs about one person, read in one round trip."""

    live_id: str | None
    states: dict[str, tuple[str, Any]]  # purpose -> (status, occurred_at), newest over the merge set
    restricted: bool
    addresses: list[str]  # the live profile's identifiers of the asked channel's type
