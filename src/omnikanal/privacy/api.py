"""Data-subject requests over HTTP, their exports as JSON and as a readable page, and the access log."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field

from omnikanal.audit.service import access_entries
from omnikanal.auth.model import Permission
from omnikanal.db.engine import read_tx
from omnikanal.pages import language, render
from omnikanal.privacy.model import RequestType
from omnikanal.privacy.texts import EXPORT
from omnikanal.profiles import access as profiles
from omnikanal.profiles import chain
from omnikanal.web import ERROR_RESPONSES, HubDep, PrincipalDep, require

router = APIRouter(tags=["privacy"], responses=ERROR_RESPONSES)


class IdentifierIn(BaseModel):
    type: str = Field(min_length=1, max_length=40, description="user_id, email, phone, anonymous_id, ...")
    value: str = Field(min_length=1, max_length=320)


class DetailsIn(BaseModel):
    traits: dict[str, Any] | None = Field(
        default=None, description="rectification: the corrected trait values"
    )
    lift: bool = Field(default=False, description="restriction: lift an earlier restriction")
    note: str | None = Field(default=None, max_length=2000)


class PrivacyRequestIn(BaseModel):
    type: Literal["export", "erasure", "restriction", "rectification"]
    profile_id: str | None = Field(default=None, max_length=40)
    identifier: IdentifierIn | None = None
    details: DetailsIn = Field(default_factory=DetailsIn)
    run: bool = Field(default=True, description="carry it out at once; false only files it")


@router.post("/api/privacy/requests", status_code=201, summary="File a data-subject request (and run it)")
def file_request(hub: HubDep, principal: PrincipalDep, body: PrivacyRequestIn) -> dict[str, Any]:
    kind = RequestType(body.type)
    require(principal, Permission.PRIVACY_ERASE if kind is RequestType.ERASURE else Permission.PRIVACY_FILE)
    filed = hub.privacy.file(
        kind,
        profile_id=body.profile_id,
        identifier=(body.identifier.type, body.identifier.value) if body.identifier else None,
        details=body.details.model_dump(exclude_none=True, exclude_defaults=True),
        origin="api",
        requested_by=principal.actor,
    )
    hub.audit.record(principal.actor, f"privacy.{kind.value}", filed["profile_id"])
    if not body.run:
        return filed
    return hub.privacy.run(filed["id"], principal.actor, may_erase=principal.may(Permission.PRIVACY_ERASE))


@router.get("/api/privacy/requests", summary="Requests, soonest deadline first")
def list_requests(
    hub: HubDep,
    principal: PrincipalDep,
    status: Annotated[Literal["received", "completed", "rejected"] | None, Query()] = None,
    type: Annotated[Literal["export", "erasure", "restriction", "rectification"] | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> dict[str, Any]:
    require(principal, Permission.PRIVACY_REQUESTS)
    return {"items": hub.privacy.find(status, type, limit)}


@router.get("/api/privacy/requests/{request_id}", summary="A request with its status and deadline")
def get_request(hub: HubDep, principal: PrincipalDep, request_id: str) -> dict[str, Any]:
    require(principal, Permission.PRIVACY_REQUESTS)
    return hub.privacy.get(request_id)


@router.post("/api/privacy/requests/{request_id}/run", summary="Carry out a received request")
def run_request(hub: HubDep, principal: PrincipalDep, request_id: str) -> dict[str, Any]:
    require(principal, Permission.PRIVACY_REQUESTS)
    return hub.privacy.run(request_id, principal.actor, may_erase=principal.may(Permission.PRIVACY_ERASE))


@router.get("/api/privacy/requests/{request_id}/export.json", summary="The export, machine-readable")
def export_json(hub: HubDep, principal: PrincipalDep, request_id: str) -> Response:
    require(principal, Permission.PRIVACY_REQUESTS)
    document = hub.privacy.export_document(request_id)
    hub.audit.record(principal.actor, "privacy.export.download", document["profile_id"])
    return Response(
        orjson.dumps(document, option=orjson.OPT_INDENT_2),
        media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="omnikanal-export-{request_id}.json"'},
    )


@router.get(
    "/api/privacy/requests/{request_id}/export.html",
    response_class=HTMLResponse,
    summary="The export as a page",
)
def export_html(hub: HubDep, principal: PrincipalDep, request: Request, request_id: str) -> HTMLResponse:
    require(principal, Permission.PRIVACY_REQUESTS)
    document = hub.privacy.export_document(request_id)
    hub.audit.record(principal.actor, "privacy.export.download", document["profile_id"])
    lang = language(request)
    core = document["parts"].get("core", {})
    others = {k: v for k, v in document["parts"].items() if k not in ("core", "consent", "privacy")}
    return render(
        "privacy/export.html",
        lang=lang,
        t=EXPORT[lang],
        title=EXPORT[lang]["title"],
        document=document,
        core=core,
        consent=document["parts"].get("consent", {}),
        privacy=document["parts"].get("privacy", {}),
        others={k: orjson.dumps(v, option=orjson.OPT_INDENT_2).decode() for k, v in others.items()},
        as_json=lambda v: orjson.dumps(v, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS).decode(),
    )


@router.get("/api/profiles/{profile_id}/access-log", summary="Who read this person's data, newest first")
def access_log(
    hub: HubDep,
    principal: PrincipalDep,
    profile_id: str,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    before: Annotated[
        int | None, Query(ge=1, le=2**63 - 1, description="page: entries older than this id")
    ] = None,
) -> dict[str, Any]:
    require(principal, Permission.AUDIT_READ)
    hub.audit.flush()
    with read_tx(hub.engine) as conn:
        held = profiles.profile_row(conn, profile_id) is not None
        ids = chain.merge_set(conn, hub.profiles.live_id(profile_id)) if held else [profile_id]
        entries = access_entries(conn, ids, limit, before)
    return {
        "profile_id": profile_id,
        "entries": entries,
        "next_before": entries[-1]["id"] if len(entries) == limit else None,
    }
