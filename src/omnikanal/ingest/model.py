"""The Segment tracking envelope: validation into a typed event, with precise reasons. No I/O.

Hand-written rather than a pydantic model because this runs for every event on the hot path and
must name the field at fault for the quarantine; the API still publishes pydantic models for the
OpenAPI document (ingest/schemas.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from omnikanal.clock import MAX_TIME as MAX_TIME
from omnikanal.clock import MIN_TIME as MIN_TIME
from omnikanal.eventlog.model import EVENT_TYPES as EVENT_TYPES
from omnikanal.sources.model import CHANNELS

MAX_NAME_LENGTH = 200
MAX_ID_LENGTH = 200


@dataclass(slots=True)
class Rejection:
    """Why an event cannot be accepted."""

    code: str
    message: str
    field: str | None = None


class EventRejected(Exception):
    def __init__(self, rejection: Rejection) -> None:
        super().__init__(rejection.message)
        self.rejection = rejection


@dataclass(slots=True)
class TrackedEvent:
    """A valid event, its times resolved."""

    type: str
    message_id: str
    user_id: str | None
    anonymous_id: str | None
    event: str | None  # track: the event name; page/screen: the name
    payload: dict[str, Any]
    original_timestamp: datetime | None
    sent_at: datetime | None
    received_at: datetime
    timestamp: datetime  # corrected event time
    touchpoint_channel: str | None
    lib_channel: str | None
    # original_timestamp, sent_at, received_at, timestamp and the payload as the database stores them
    stored: tuple[Any, ...] = ()
    # keyed hashes of the identifiers, to look up on the suppression list (made before the transaction)
    suppression_keys: frozenset[str] = frozenset()


def _reject(code: str, message: str, field: str | None = None) -> EventRejected:
    return EventRejected(Rejection(code, message, field))


def parse_time(value: Any, field: str) -> datetime | None:
    """ISO 8601; a time without zone is taken as UTC."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise _reject("invalid_timestamp", f"{field} must be an ISO 8601 string", field)
    try:
        parsed = datetime.fromisoformat(value.strip())
        parsed = parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    except (ValueError, OverflowError):
        raise _reject(
            "invalid_timestamp", f"{field} is not an ISO 8601 time: {value[:40]!r}", field
        ) from None
    if not MIN_TIME <= parsed <= MAX_TIME:
        raise _reject("invalid_timestamp", f"{field} is outside the years 1900 to 2999", field)
    return parsed


def _optional_id(event: dict[str, Any], field: str) -> str | None:
    value = event.get(field)
    if value is None:
        return None
    if isinstance(value, bool):
        raise _reject("invalid_type", f"{field} must be a string", field)
    if isinstance(value, int | float):
        value = str(value)  # Segment accepts numeric ids and treats them as strings
    if not isinstance(value, str):
        raise _reject("invalid_type", f"{field} must be a string", field)
    if "\x00" in value:
        raise _reject("invalid_character", f"{field} contains a NUL character", field)
    value = value.strip()
    if len(value) > MAX_ID_LENGTH:
        raise _reject("too_long", f"{field} is longer than {MAX_ID_LENGTH} characters", field)
    return value or None


def _object(event: dict[str, Any], field: str) -> None:
    value = event.get(field)
    if value is not None and not isinstance(value, dict):
        raise _reject("invalid_type", f"{field} must be an object", field)


def validate(
    raw: Any,
    received_at: datetime,
    new_message_id: Any,
    forced_type: str | None = None,
) -> TrackedEvent:
    """Check one envelope and resolve its times; raises EventRejected naming the field at fault.

    ``forced_type`` is the type implied by a single-event endpoint (``/v1/track`` and so on).
    """
    if not isinstance(raw, dict):
        raise _reject("invalid_event", "an event must be a JSON object")
    event_type = raw.get("type") if forced_type is None else forced_type
    if forced_type is not None and raw.get("type") not in (None, forced_type):
        raise _reject("invalid_type", f"type must be {forced_type!r} on this endpoint", "type")
    if event_type not in EVENT_TYPES:
        raise _reject("invalid_type", f"type must be one of: {', '.join(EVENT_TYPES)}", "type")
    raw["type"] = event_type

    message_id = _optional_id(raw, "messageId")
    if message_id is None:
        # Segment generates one when the client sends none; such an event cannot be deduplicated.
        message_id = str(new_message_id())
        raw["messageId"] = message_id
    user_id = _optional_id(raw, "userId")
    anonymous_id = _optional_id(raw, "anonymousId")
    if user_id is None and anonymous_id is None:
        raise _reject("missing_id", "every event needs a userId or an anonymousId", "userId")

    for field in ("context", "properties", "traits", "integrations"):
        _object(raw, field)

    name: str | None = None
    if event_type == "track":
        name = raw.get("event")
        if not isinstance(name, str) or not name.strip():
            raise _reject("missing_field", "a track event needs an event name", "event")
        name = name.strip()
        if "\x00" in name:
            raise _reject("invalid_character", "event contains a NUL character", "event")
        if len(name) > MAX_NAME_LENGTH:
            raise _reject("too_long", f"event is longer than {MAX_NAME_LENGTH} characters", "event")
    elif event_type in ("page", "screen"):
        value = raw.get("name")
        if value is not None and not isinstance(value, str):
            raise _reject("invalid_type", "name must be a string", "name")
        name = value[:MAX_NAME_LENGTH].replace("\x00", REPLACEMENT) if value else None
    elif event_type == "group":
        if _optional_id(raw, "groupId") is None:
            raise _reject("missing_field", "a group event needs a groupId", "groupId")
    elif event_type == "alias":
        if _optional_id(raw, "previousId") is None:
            raise _reject("missing_field", "an alias event needs a previousId", "previousId")
        if user_id is None:
            raise _reject("missing_field", "an alias event needs a userId", "userId")

    original = parse_time(raw.get("originalTimestamp"), "originalTimestamp")
    given = parse_time(raw.get("timestamp"), "timestamp")
    sent_at = parse_time(raw.get("sentAt"), "sentAt")
    device_time = original or given
    # The device's clock may be off; the skew it shows between event time and sending time is taken
    # out against our own receiving clock (Segment's rule). Without sentAt the given time stands.
    if device_time is not None and sent_at is not None:
        try:
            timestamp = received_at - (sent_at - device_time)
        except OverflowError:
            timestamp = MIN_TIME - (MAX_TIME - MIN_TIME)  # caught just below
        if not MIN_TIME <= timestamp <= MAX_TIME:
            raise _reject(
                "invalid_timestamp",
                "sentAt and the event time are too far apart to correct the clock",
                "sentAt",
            )
    elif device_time is not None:
        timestamp = device_time
    else:
        timestamp = received_at

    context = raw.get("context") or {}
    touchpoint = context.get("touchpoint") if isinstance(context, dict) else None
    touchpoint_channel = touchpoint.get("channel") if isinstance(touchpoint, dict) else None
    if touchpoint_channel is not None and not isinstance(touchpoint_channel, str):
        raise _reject(
            "invalid_type", "context.touchpoint.channel must be a string", "context.touchpoint.channel"
        )
    if touchpoint_channel is not None and touchpoint_channel not in CHANNELS:
        raise _reject(
            "invalid_channel",
            f"context.touchpoint.channel must be one of: {', '.join(CHANNELS)}",
            "context.touchpoint.channel",
        )
    lib_channel = raw.get("channel")
    if lib_channel is not None and not isinstance(lib_channel, str):
        raise _reject("invalid_type", "channel must be a string", "channel")

    if lib_channel:
        lib_channel = lib_channel.replace("\x00", REPLACEMENT)

    return TrackedEvent(
        type=event_type,
        message_id=message_id,
        user_id=user_id,
        anonymous_id=anonymous_id,
        event=name,
        payload=raw,
        original_timestamp=device_time,
        sent_at=sent_at,
        received_at=received_at,
        timestamp=timestamp,
        touchpoint_channel=touchpoint_channel,
        lib_channel=lib_channel[:40] if lib_channel else None,
    )


REPLACEMENT = "\ufffd"


def without_nul(value: Any) -> Any:
    """The value with every NUL character (in keys and strings) replaced by U+FFFD.

    PostgreSQL's jsonb and text refuse NUL; replacing it on both engines keeps them alike and keeps
    the rest of the event.
    """
    if isinstance(value, str):
        return value.replace("\x00", REPLACEMENT)
    if isinstance(value, dict):
        return {without_nul(k): without_nul(v) for k, v in value.items()}
    if isinstance(value, list):
        return [without_nul(v) for v in value]
    return value


def merge_batch_context(item: Any, batch_context: Any) -> Any:
    """A batch's top-level context applies to each item; the item's own keys win."""
    if not isinstance(item, dict) or not isinstance(batch_context, dict) or not batch_context:
        return item
    own = item.get("context")
    if own is None:
        item["context"] = dict(batch_context)
    elif isinstance(own, dict):
        item["context"] = {**batch_context, **own}
    return item
