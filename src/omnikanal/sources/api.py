"""Sources as a resource: the channels that send events, their write keys and settings."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from omnikanal.auth.model import Permission
from omnikanal.clock import isoformat
from omnikanal.sources.model import CHANNELS, IP_POLICIES, Source
from omnikanal.web import ERROR_RESPONSES, HubDep, PrincipalDep, require

router = APIRouter(prefix="/api", tags=["sources"], responses=ERROR_RESPONSES)


class SourceCreate(BaseModel):
    name: str = Field(min_length=1, max_length=200, pattern=r"^[^\x00]+$")
    channel: str = Field(description=f"one of: {', '.join(CHANNELS)}")
    allowed_origins: list[str] = Field(
        default_factory=list,
        max_length=50,
        description="page origins that may send from a browser, e.g. https://shop.example.de",
    )
    public: bool | None = Field(
        None,
        description="a write key in a web page or app: rate limited per client address (default: "
        "true when allowed_origins are given)",
    )
    ip_policy: str | None = Field(
        None, description=f"{', '.join(IP_POLICIES)} (default: truncate for a public source, else keep)"
    )


class SourceBrowserUpdate(BaseModel):
    allowed_origins: list[str] | None = Field(None, max_length=50, description="replaces the list")
    public: bool | None = None
    ip_policy: str | None = Field(None, description=f"one of: {', '.join(IP_POLICIES)}")


def source_view(source: Source) -> dict[str, Any]:
    return {
        "id": source.id,
        "name": source.name,
        "channel": source.channel,
        "enabled": source.enabled,
        "created_at": isoformat(source.created_at),
        "key_rotated_at": isoformat(source.key_rotated_at),
        "allowed_origins": list(source.allowed_origins),
        "public": source.public,
        "ip_policy": source.ip_policy,
    }


@router.get("/sources", summary="All sources")
def list_sources(hub: HubDep, principal: PrincipalDep) -> dict[str, Any]:
    require(principal, Permission.SOURCES_READ)
    return {"sources": [source_view(s) for s in hub.sources.list()]}


@router.post(
    "/sources", status_code=201, summary="Create a source; the write key is shown only in this answer"
)
def create_source(hub: HubDep, principal: PrincipalDep, body: SourceCreate) -> dict[str, Any]:
    require(principal, Permission.SOURCES_WRITE)
    source, key = hub.sources.create(
        body.name,
        body.channel,
        allowed_origins=body.allowed_origins,
        public=body.public,
        ip_policy=body.ip_policy,
    )
    return {**source_view(source), "write_key": key}


@router.get("/sources/{ref}", summary="One source, by id or name")
def get_source(hub: HubDep, principal: PrincipalDep, ref: str) -> dict[str, Any]:
    require(principal, Permission.SOURCES_READ)
    return source_view(hub.sources.get(ref))


@router.patch("/sources/{ref}", summary="Change what browsers may do: allowed origins, public key, IP policy")
def update_source(
    hub: HubDep, principal: PrincipalDep, ref: str, body: SourceBrowserUpdate
) -> dict[str, Any]:
    require(principal, Permission.SOURCES_WRITE)
    source = hub.sources.set_browser(
        ref, allowed_origins=body.allowed_origins, public=body.public, ip_policy=body.ip_policy
    )
    return source_view(source)


@router.post("/sources/{ref}/disable", summary="Stop accepting events from a source")
def disable_source(hub: HubDep, principal: PrincipalDep, ref: str) -> dict[str, Any]:
    require(principal, Permission.SOURCES_WRITE)
    return source_view(hub.sources.set_enabled(ref, False))


@router.post("/sources/{ref}/enable", summary="Accept events from a source again")
def enable_source(hub: HubDep, principal: PrincipalDep, ref: str) -> dict[str, Any]:
    require(principal, Permission.SOURCES_WRITE)
    return source_view(hub.sources.set_enabled(ref, True))


@router.post("/sources/{ref}/rotate-key", summary="Issue a new write key; the old one stops working")
def rotate_key(hub: HubDep, principal: PrincipalDep, ref: str) -> dict[str, Any]:
    require(principal, Permission.SOURCES_WRITE)
    source, key = hub.sources.rotate_key(ref)
    return {**source_view(source), "write_key": key}
