"""Consent changes carried by tracked events: a till or the hotline software sends
``track("Consent Updated", {purpose, status, ...})`` and the ledger records it with the event's proof.

Accepted properties: ``purpose`` and ``status`` (one change) or ``consents``: a list of
``{purpose, status}``; optional ``channel``, ``wording``, ``policyVersion``, ``staffUser``,
``confirmedAt`` (a double opt-in the sending system already completed). Proof also takes
``context.ip`` and ``context.userAgent``.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from omnikanal.consent.model import ConsentChange, ConsentStatus
from omnikanal.ingest.model import Rejection, TrackedEvent

EVENT_NAME = "Consent Updated"
STATUSES = frozenset(s.value for s in ConsentStatus)


def is_consent_event(event: TrackedEvent) -> bool:
    return event.type == "track" and event.event == EVENT_NAME


def _text(value: Any, limit: int = 2000) -> str | None:
    return value[:limit] if isinstance(value, str) and value else None


def parse(event: TrackedEvent, purposes: Collection[str]) -> list[ConsentChange] | Rejection:
    """The changes an event carries, or why it cannot be recorded (the event is then quarantined)."""
    props = event.payload.get("properties")
    if not isinstance(props, dict):
        return Rejection("invalid_consent", "a Consent Updated event needs properties", "properties")
    items: Any = props.get("consents")
    field_prefix = "properties.consents"
    if items is None:
        items = [props]
        field_prefix = "properties"
    if not isinstance(items, list) or not items:
        return Rejection("invalid_consent", "consents must be a non-empty list", field_prefix)
    raw_context = event.payload.get("context")
    context: dict[str, Any] = raw_context if isinstance(raw_context, dict) else {}
    proof = {
        k: v
        for k, v in {
            "ip": _text(context.get("ip"), 64),
            "user_agent": _text(context.get("userAgent"), 500),
            "staff_user": _text(props.get("staffUser"), 200),
            "confirmed_at": _text(props.get("confirmedAt"), 40),
            "message_id": event.message_id,
        }.items()
        if v is not None
    }
    changes = []
    for index, item in enumerate(items):
        where = field_prefix if field_prefix == "properties" else f"{field_prefix}[{index}]"
        if not isinstance(item, dict):
            return Rejection("invalid_consent", "each consent must be an object", where)
        purpose, status = item.get("purpose"), item.get("status")
        if not isinstance(purpose, str) or purpose not in purposes:
            return Rejection(
                "unknown_purpose",
                f"{where}.purpose {purpose!r} is not one of: {', '.join(sorted(purposes))}",
                f"{where}.purpose",
            )
        if status not in STATUSES:
            return Rejection(
                "unknown_status",
                f"{where}.status {status!r} is not one of: {', '.join(sorted(STATUSES))}",
                f"{where}.status",
            )
        changes.append(
            ConsentChange(
                purpose=purpose,
                status=ConsentStatus(status),
                channel=_text(item.get("channel") or props.get("channel"), 20),
                wording=_text(item.get("wording") or props.get("wording")),
                policy_version=_text(item.get("policyVersion") or props.get("policyVersion"), 60),
                proof=proof,
                occurred_at=event.timestamp,
            )
        )
    return changes
