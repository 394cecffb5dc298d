"""How cases and entries are shown (API, export): plain dicts with ISO times."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from omnikanal.clock import isoformat
from omnikanal.errors import InvalidInput

from . import sla
from .model import OPEN_STATUSES
from .pause import view_now


def sla_view(row: Any, now: datetime, at_risk: float) -> dict[str, Any]:
    open_ = row.status in OPEN_STATUSES
    now = view_now(row, now)
    first = sla.state(row.created_at, row.first_response_due, row.first_response_at, now, at_risk)
    resolution = sla.state(
        row.created_at,
        row.resolution_due,
        row.resolved_at or (None if open_ else row.closed_at),
        now,
        at_risk,
    )
    return {
        "state": sla.worst(first, resolution),
        "first_response": {"due": isoformat(row.first_response_due), "state": first},
        "resolution": {"due": isoformat(row.resolution_due), "state": resolution},
        "paused_since": isoformat(row.sla_paused_at),
        "paused_hours": round(float(row.sla_paused_hours or 0), 4),
    }


def case_view(row: Any, now: datetime, at_risk: float) -> dict[str, Any]:
    return {
        "id": row.id,
        "ref": row.ref,
        "profile_id": row.profile_id,
        "subject": row.subject,
        "queue": row.queue,
        "priority": row.priority,
        "status": row.status,
        "assignee": row.assignee,
        "channel": row.channel,
        "tags": row.tags,
        "links": row.links,
        "entries": row.entries,
        "merged_into": row.merged_into,
        "created_at": isoformat(row.created_at),
        "updated_at": isoformat(row.updated_at),
        "first_response_at": isoformat(row.first_response_at),
        "resolved_at": isoformat(row.resolved_at),
        "closed_at": isoformat(row.closed_at),
        "sla": sla_view(row, now, at_risk),
        "csat": {"score": row.csat_score, "comment": row.csat_comment, "at": isoformat(row.csat_at)},
    }


def entry_view(row: Any, files: dict[str, list[dict[str, Any]]] | None = None) -> dict[str, Any]:
    return {
        "id": row.id,
        "kind": row.kind,
        "channel": row.channel,
        "author": row.author,
        "text": row.body_text,
        "html": row.body_html,
        "message_id": row.message_id,
        "mail_message_id": row.mail_message_id,
        "data": row.data,
        "attachments": (files or {}).get(row.id, []),
        "created_at": isoformat(row.created_at),
    }


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    at, sep, case_id = cursor.partition("|")
    try:
        if not sep:
            raise ValueError
        return datetime.fromisoformat(at.replace("Z", "+00:00")), case_id
    except ValueError:
        raise InvalidInput("invalid_cursor", "cursor: not a cursor this API gave", "cursor") from None


def attachment_view(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "filename": row.filename,
        "content_type": row.content_type,
        "size": row.size,
        "url": f"/api/service/attachments/{row.id}",
        "created_at": isoformat(row.created_at),
    }


def by_entry(rows: list[Any]) -> dict[str, list[dict[str, Any]]]:
    """Attachments (without their content) grouped by the entry they came with."""
    grouped: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        grouped.setdefault(row.entry_id, []).append(attachment_view(row))
    return grouped
