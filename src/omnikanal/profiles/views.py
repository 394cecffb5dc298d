"""What the read API returns for profiles, events and merges: plain dicts in the API's shape."""

from __future__ import annotations

from typing import Any

from omnikanal.clock import isoformat


def event_view(row: Any, source_names: dict[str, str]) -> dict[str, Any]:
    payload = row.payload or {}
    return {
        "id": f"evt_{row.seq}",
        "seq": row.seq,
        "type": row.type,
        "event": row.event,
        "channel": row.channel,
        "source": {"id": row.source_id, "name": source_names.get(row.source_id)},
        "message_id": row.message_id,
        "user_id": row.user_id,
        "anonymous_id": row.anonymous_id,
        "timestamp": isoformat(row.timestamp),
        "original_timestamp": isoformat(row.original_timestamp),
        "sent_at": isoformat(row.sent_at),
        "received_at": isoformat(row.received_at),
        "lib_channel": row.lib_channel,
        "properties": payload.get("properties") or {},
        "traits": payload.get("traits") or {},
        "context": payload.get("context") or {},
    }


def merge_view(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "profile_id": row.profile_id,
        "merged_id": row.merged_id,
        "reason": row.reason,
        "identifier": {"type": row.identifier_type, "value": row.identifier_value},
        "source_id": row.source_id,
        "message_id": row.message_id,
        "created_at": isoformat(row.created_at),
        "undone_at": isoformat(row.undone_at),
        "undone_by": row.undone_by,
    }
