"""The quarantine of events that could not be accepted, for the people who fix their senders."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from omnikanal.auth.model import Permission
from omnikanal.clock import isoformat
from omnikanal.web import ERROR_RESPONSES, HubDep, PrincipalDep, require

router = APIRouter(prefix="/api", tags=["sources"], responses=ERROR_RESPONSES)


@router.get("/quarantine", summary="Events that were not accepted, with the reason, newest first")
def list_quarantine(
    hub: HubDep,
    principal: PrincipalDep,
    source: Annotated[str | None, Query(description="a source id or name")] = None,
    before: Annotated[
        int | None, Query(ge=1, le=2**63 - 1, description="next_before of the previous page")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> dict[str, Any]:
    require(principal, Permission.QUARANTINE_READ)
    source_id = hub.sources.get(source).id if source else None
    hub.audit.record(principal.actor, "quarantine.read", None)  # payloads hold personal data
    rows = hub.ingest.quarantined(source_id=source_id, before_id=before, limit=limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    return {
        "items": [
            {
                "id": r.id,
                "source_id": r.source_id,
                "received_at": isoformat(r.received_at),
                "code": r.code,
                "field": r.field,
                "reason": r.reason,
                "payload": r.payload,
            }
            for r in rows
        ],
        "next_before": rows[-1].id if more and rows else None,
    }
