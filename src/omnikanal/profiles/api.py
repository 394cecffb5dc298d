"""Read API for profiles: lookup, profile, timeline, merges, unmerge."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from omnikanal.auth.model import Permission
from omnikanal.errors import InvalidInput, NotFound
from omnikanal.eventlog.model import EVENT_TYPES
from omnikanal.profiles.service import TimelineQuery
from omnikanal.sources.model import CHANNELS
from omnikanal.web import ERROR_RESPONSES, HubDep, PrincipalDep, aware_time, require

router = APIRouter(prefix="/api/profiles", tags=["profiles"], responses=ERROR_RESPONSES)


class UnmergeRequest(BaseModel):
    merge_id: str = Field(
        min_length=1,
        max_length=40,
        pattern=r"^[A-Za-z0-9_-]+$",
        description="the merge to undo (from GET /api/profiles/{id}/merges)",
    )


@router.get("/lookup", summary="Find the live profile by any identifier")
def lookup(
    hub: HubDep,
    principal: PrincipalDep,
    type: Annotated[str, Query(description="identifier type: user_id, anonymous_id, email, phone, ...")],
    value: Annotated[str, Query(min_length=1, max_length=320)],
) -> dict[str, Any]:
    require(principal, Permission.PROFILES_READ)
    try:
        profile = hub.profiles.lookup(type, value)
    except NotFound:
        # Asking whether somebody is a customer is itself a use of personal data.
        hub.audit.record(principal.actor, "profile.lookup.miss", None)
        raise
    hub.audit.record(principal.actor, "profile.lookup", profile["id"])
    return profile


@router.get("/{profile_id}", summary="A profile: identifiers, traits with provenance, computed values")
def get_profile(hub: HubDep, principal: PrincipalDep, profile_id: str) -> dict[str, Any]:
    require(principal, Permission.PROFILES_READ)
    profile = hub.profiles.get(profile_id)
    hub.audit.record(principal.actor, "profile.read", profile["id"])
    return profile


@router.get("/{profile_id}/events", summary="The timeline: every event of the person, newest first")
def timeline(
    hub: HubDep,
    principal: PrincipalDep,
    profile_id: str,
    channel: Annotated[list[str] | None, Query(description=f"one or more of: {', '.join(CHANNELS)}")] = None,
    type: Annotated[list[str] | None, Query(description=f"one or more of: {', '.join(EVENT_TYPES)}")] = None,
    event: Annotated[str | None, Query(description="a track event name")] = None,
    since: Annotated[datetime | None, Query(description="ISO 8601, inclusive")] = None,
    until: Annotated[datetime | None, Query(description="ISO 8601, exclusive")] = None,
    cursor: Annotated[str | None, Query(description="next_cursor of the previous page")] = None,
    limit: Annotated[int, Query(ge=1, le=500, description="page length, at most 500")] = 50,
) -> dict[str, Any]:
    require(principal, Permission.PROFILES_READ)
    for value in channel or ():
        if value not in CHANNELS:
            raise InvalidInput("invalid_channel", f"channel must be one of: {', '.join(CHANNELS)}", "channel")
    for value in type or ():
        if value not in EVENT_TYPES:
            raise InvalidInput("invalid_type", f"type must be one of: {', '.join(EVENT_TYPES)}", "type")
    query = TimelineQuery(
        channels=tuple(channel or ()),
        types=tuple(type or ()),
        event=event,
        since=aware_time(since, "since"),
        until=aware_time(until, "until"),
        cursor=cursor,
        limit=limit,
    )
    page = hub.profiles.timeline(profile_id, query)
    hub.audit.record(principal.actor, "profile.events", page["profile_id"])
    return page


@router.get("/{profile_id}/merges", summary="Merges of and into this profile")
def list_merges(hub: HubDep, principal: PrincipalDep, profile_id: str) -> dict[str, Any]:
    require(principal, Permission.PROFILES_READ)
    found = hub.profiles.merges(profile_id)
    hub.audit.record(principal.actor, "profile.merges", hub.profiles.live_id(profile_id))
    return {"merges": found}


@router.post("/{profile_id}/unmerge", summary="Undo a merge: both profiles come back with their data")
def unmerge(hub: HubDep, principal: PrincipalDep, profile_id: str, body: UnmergeRequest) -> dict[str, Any]:
    require(principal, Permission.PROFILES_UNMERGE)
    result = hub.profiles.unmerge(profile_id, body.merge_id, principal.actor)
    hub.audit.record(principal.actor, "profile.unmerge", result["profile_id"])
    return result
