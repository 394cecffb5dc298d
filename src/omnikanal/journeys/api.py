"""HTTP API for journeys: documents (JSON or YAML), versions, activation, entries, runs, statistics."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from omnikanal.auth.model import Permission
from omnikanal.errors import InvalidInput, PayloadTooLarge
from omnikanal.ids import new_id
from omnikanal.journeys.model import load_text
from omnikanal.settings import Settings
from omnikanal.web import ERROR_RESPONSES, HubDep, PrincipalDep, require

router = APIRouter(tags=["journeys"], responses=ERROR_RESPONSES)

DOCUMENT_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "a journey document (see GET /api/journeys/schema) as JSON or YAML",
        "content": {
            "application/json": {"schema": {"type": "object"}},
            "application/yaml": {"schema": {"type": "string"}},
        },
    }
}


class Entry(BaseModel):
    profile_id: str = Field(min_length=1, max_length=40)
    key: str | None = Field(default=None, min_length=1, max_length=200, description="the journey key's value")
    data: dict[str, Any] = Field(default_factory=dict, description="data the templates see as data.*")
    idempotency_key: str | None = Field(
        default=None, min_length=1, max_length=160, description="the same key never enters twice"
    )


async def _document(request: Request, settings: Settings) -> Any:
    limit = settings.journey_max_document_bytes
    body = await request.body()
    if len(body) > limit:
        raise PayloadTooLarge("document_too_large", f"a journey document is limited to {limit} bytes", "body")
    if not body.strip():
        raise InvalidInput("invalid_document", "the body is empty; send a journey document", "body")
    # Parsing is CPU work (a large document takes a while): in a thread, so the server goes on.
    media_type = request.headers.get("content-type")
    return await run_in_threadpool(load_text, body, media_type, settings.journey_max_document_depth)


@router.get("/api/journeys/schema", summary="The JSON Schema of journey documents")
def schema(hub: HubDep, principal: PrincipalDep) -> dict[str, Any]:
    require(principal, Permission.JOURNEYS_READ)
    return hub.journeys.schema()


@router.get("/api/journeys", summary="All journeys")
def list_journeys(hub: HubDep, principal: PrincipalDep) -> dict[str, Any]:
    require(principal, Permission.JOURNEYS_READ)
    return {"journeys": hub.journeys.all()}


@router.post(
    "/api/journeys/validate", summary="Check a document without saving it", openapi_extra=DOCUMENT_BODY
)
async def validate(request: Request, hub: HubDep, principal: PrincipalDep) -> dict[str, Any]:
    require(principal, Permission.JOURNEYS_READ)
    document = await _document(request, hub.settings)
    return await run_in_threadpool(hub.journeys.validate, document)


@router.post(
    "/api/journeys",
    status_code=201,
    summary="Create a journey (version 1, a draft)",
    openapi_extra=DOCUMENT_BODY,
)
async def create(request: Request, hub: HubDep, principal: PrincipalDep) -> dict[str, Any]:
    require(principal, Permission.JOURNEYS_WRITE)
    document = await _document(request, hub.settings)
    return await run_in_threadpool(hub.journeys.create, document, principal.actor)


@router.get("/api/journeys/{journey_id}", summary="A journey, its latest document and its versions")
def get(hub: HubDep, principal: PrincipalDep, journey_id: str) -> dict[str, Any]:
    require(principal, Permission.JOURNEYS_READ)
    return hub.journeys.get(journey_id)


@router.put(
    "/api/journeys/{journey_id}",
    summary="A new version; customers inside finish on the version they entered",
    openapi_extra=DOCUMENT_BODY,
)
async def put(request: Request, hub: HubDep, principal: PrincipalDep, journey_id: str) -> dict[str, Any]:
    require(principal, Permission.JOURNEYS_WRITE)
    document = await _document(request, hub.settings)
    return await run_in_threadpool(hub.journeys.update, journey_id, document, principal.actor)


@router.post("/api/journeys/{journey_id}/activate", summary="Let customers enter")
def activate(hub: HubDep, principal: PrincipalDep, journey_id: str) -> dict[str, Any]:
    require(principal, Permission.JOURNEYS_WRITE)
    return hub.journeys.set_status(journey_id, "active")


@router.post("/api/journeys/{journey_id}/pause", summary="No new entries; runs inside go on")
def pause(hub: HubDep, principal: PrincipalDep, journey_id: str) -> dict[str, Any]:
    require(principal, Permission.JOURNEYS_WRITE)
    return hub.journeys.set_status(journey_id, "paused")


@router.post("/api/journeys/{journey_id}/entries", summary="Enter a customer (journeys with an api trigger)")
def enter(hub: HubDep, principal: PrincipalDep, journey_id: str, body: Entry) -> dict[str, Any]:
    require(principal, Permission.JOURNEYS_WRITE)
    origin = f"api:{body.idempotency_key}" if body.idempotency_key else f"api:{new_id('ent')}"
    return hub.journeys.enter(journey_id, body.profile_id, body.key, body.data, origin)


@router.get("/api/journeys/{journey_id}/runs", summary="Runs of a journey, oldest first")
def runs(
    hub: HubDep,
    principal: PrincipalDep,
    journey_id: str,
    profile_id: str | None = None,
    status: Annotated[str | None, Query(pattern="^(active|ended)$")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> dict[str, Any]:
    require(principal, Permission.JOURNEYS_READ)
    return {"runs": hub.journeys.runs(journey_id, profile_id, status, limit)}


@router.get("/api/journeys/{journey_id}/runs/{run_id}/steps", summary="The step log of a run")
def run_steps(hub: HubDep, principal: PrincipalDep, journey_id: str, run_id: str) -> dict[str, Any]:
    require(principal, Permission.JOURNEYS_READ)
    return {"run_id": run_id, "steps": hub.journeys.run_steps(run_id)}


@router.get(
    "/api/journeys/{journey_id}/stats", summary="Per version: entered, at each step, exits, goals, messages"
)
def stats(hub: HubDep, principal: PrincipalDep, journey_id: str) -> dict[str, Any]:
    require(principal, Permission.JOURNEYS_READ)
    return hub.journeys.stats(journey_id)
