"""HTTP API for segments and computed traits, and a profile's segments and computed values."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from omnikanal.auth.model import Permission
from omnikanal.clock import isoformat
from omnikanal.web import ERROR_RESPONSES, HubDep, PrincipalDep, require

router = APIRouter(tags=["segments"], responses=ERROR_RESPONSES)

CONDITION_HELP = (
    "a condition document: all/any/not nesting over trait, computed, consent, identifier, event and "
    'channels leaves, e.g. {"all": [{"event": {"name": "Product Viewed", "min": 3, '
    '"within_days": 14}}, {"channels": {"min": 2, "within_days": 14}}]}'
)


class SegmentCreate(BaseModel):
    name: str = Field(min_length=1, max_length=200, description="unique name")
    description: str | None = Field(default=None, max_length=2000)
    condition: dict[str, Any] = Field(description=CONDITION_HELP)


class SegmentUpdate(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=2000)
    condition: dict[str, Any] | None = Field(
        default=None, description="a new condition: recomputes the members"
    )


class SegmentPreview(BaseModel):
    condition: dict[str, Any] = Field(description=CONDITION_HELP)


class ComputedTraitDefinition(BaseModel):
    """A computed trait, e.g. {"name": "lifetime_value", "function": "sum", "event": "Order Completed",
    "property": "revenue"}; functions: count, sum, min, max, first, last, most_frequent, days_since_last."""

    name: str = Field(min_length=1, max_length=60)
    function: str
    event: str | None = None
    where: list[dict[str, Any]] | None = None
    property: str | None = None
    channel: bool | None = None
    within_days: int | None = None
    within_hours: int | None = None


@router.get("/api/segments", summary="All segments with their member counts")
def list_segments(hub: HubDep, principal: PrincipalDep) -> dict[str, Any]:
    require(principal, Permission.SEGMENTS_READ)
    return {"segments": hub.segments.all()}


@router.post("/api/segments", status_code=201, summary="Create a segment; its members are computed at once")
def create_segment(hub: HubDep, principal: PrincipalDep, body: SegmentCreate) -> dict[str, Any]:
    require(principal, Permission.SEGMENTS_WRITE)
    return hub.segments.create(body.name, body.description, body.condition, principal.actor)


@router.post("/api/segments/preview", summary="Count and sample of a condition, without saving it")
def preview_segment(hub: HubDep, principal: PrincipalDep, body: SegmentPreview) -> dict[str, Any]:
    require(principal, Permission.SEGMENTS_READ)
    return hub.segments.preview(body.condition)


@router.get("/api/segments/{segment_id}", summary="One segment")
def get_segment(hub: HubDep, principal: PrincipalDep, segment_id: str) -> dict[str, Any]:
    require(principal, Permission.SEGMENTS_READ)
    return hub.segments.get(segment_id)


@router.patch("/api/segments/{segment_id}", summary="Change a segment; a new condition recomputes it")
def update_segment(
    hub: HubDep, principal: PrincipalDep, segment_id: str, body: SegmentUpdate
) -> dict[str, Any]:
    require(principal, Permission.SEGMENTS_WRITE)
    return hub.segments.update(segment_id, body.name, body.description, body.condition)


@router.delete(
    "/api/segments/{segment_id}",
    summary="Delete a segment; its members leave it (a Segment Exited event each)",
)
def delete_segment(hub: HubDep, principal: PrincipalDep, segment_id: str) -> dict[str, Any]:
    require(principal, Permission.SEGMENTS_WRITE)
    left = hub.segments.delete(segment_id)
    return {"deleted": segment_id, "members_left": left}


@router.get("/api/segments/{segment_id}/members", summary="Members, one page at a time (by profile id)")
def segment_members(
    hub: HubDep,
    principal: PrincipalDep,
    segment_id: str,
    cursor: Annotated[
        str | None, Query(max_length=40, description="next_cursor of the previous page")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000, description="page length, at most 1000")] = 100,
) -> dict[str, Any]:
    require(principal, Permission.SEGMENTS_READ)
    page = hub.segments.members(segment_id, limit, cursor)
    hub.audit.record(principal.actor, "segment.members", None)
    return page


@router.get(
    "/api/segments/{segment_id}/members.csv",
    summary="Every member as CSV (profile_id, entered_at)",
    response_class=StreamingResponse,
)
def segment_members_csv(hub: HubDep, principal: PrincipalDep, segment_id: str) -> StreamingResponse:
    require(principal, Permission.SEGMENTS_READ)
    rows = hub.segments.iter_members(segment_id)
    hub.audit.record(principal.actor, "segment.export", None)

    def lines() -> Iterator[str]:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(["profile_id", "entered_at"])
        for profile_id, entered_at in rows:
            writer.writerow([profile_id, isoformat(entered_at)])
            if buffer.tell() > 65536:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue()

    return StreamingResponse(
        lines(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="segment-{segment_id}.csv"'},
    )


@router.get("/api/computed-traits", summary="Computed trait definitions")
def list_computed(hub: HubDep, principal: PrincipalDep) -> dict[str, Any]:
    require(principal, Permission.SEGMENTS_READ)
    return {"computed_traits": hub.segments.computed_definitions()}


@router.put(
    "/api/computed-traits", summary="Create or replace a computed trait (every profile is re-evaluated)"
)
def define_computed(hub: HubDep, principal: PrincipalDep, body: ComputedTraitDefinition) -> dict[str, Any]:
    require(principal, Permission.SEGMENTS_WRITE)
    return hub.segments.define_computed(body.model_dump(exclude_none=True))


@router.delete("/api/computed-traits/{name}", summary="Delete a computed trait and its values")
def delete_computed(hub: HubDep, principal: PrincipalDep, name: str) -> dict[str, Any]:
    require(principal, Permission.SEGMENTS_WRITE)
    hub.segments.delete_computed(name)
    return {"deleted": name}


@router.get("/api/profiles/{profile_id}/segments", summary="The segments a profile is in")
def profile_segments(hub: HubDep, principal: PrincipalDep, profile_id: str) -> dict[str, Any]:
    require(principal, Permission.SEGMENTS_READ)
    found = hub.segments.profile_segments(profile_id)
    hub.audit.record(principal.actor, "profile.segments", found["profile_id"])
    return found


@router.get("/api/profiles/{profile_id}/computed", summary="A profile's computed traits, as of now")
def profile_computed(hub: HubDep, principal: PrincipalDep, profile_id: str) -> dict[str, Any]:
    require(principal, Permission.PROFILES_READ)
    found = hub.segments.profile_computed(profile_id)
    hub.audit.record(principal.actor, "profile.computed", found["profile_id"])
    return found
