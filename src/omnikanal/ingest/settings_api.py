"""What the browser libraries load from their server before they send: analytics-next's CDN settings
(``<cdnURL>/v1/projects/<writeKey>/settings``) and RudderStack's source configuration
(``<configUrl>/sourceConfig/?writeKey=...``), answered for the write key's source.

Both documents name no destinations, plugins or remote metrics: the hub is the only place the
events go, and nothing is loaded from a third party.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import APIRouter, Request

from omnikanal.ingest import browser
from omnikanal.ingest.api import _source, _write_key
from omnikanal.ingest.schemas import ErrorResponse
from omnikanal.web import JSONResponse

if TYPE_CHECKING:  # the composition root, as a type only: routers do not import it
    from omnikanal.hub import Hub

router = APIRouter(
    tags=["tracking"],
    responses={
        401: {"model": ErrorResponse, "description": "Missing or unknown write key"},
        403: {"model": ErrorResponse, "description": "The source is disabled or not a browser source"},
    },
)


@router.get(
    "/v1/projects/{write_key}/settings",
    summary="Settings for Segment's analytics-next (load it with cdnURL set to the hub)",
)
async def segment_settings(request: Request, write_key: str) -> JSONResponse:
    hub: Hub = request.app.state.hub
    source = await _source(hub, write_key)
    browser.admit(request, source)
    # The events go back to the host the page reached for its settings.
    base = request.base_url
    return JSONResponse(
        {
            "integrations": {
                "Segment.io": {
                    "apiKey": write_key,
                    "apiHost": f"{base.netloc}/v1",
                    "protocol": base.scheme,
                    "addBundledMetadata": False,
                    "retryQueue": True,
                }
            },
            "plan": {},
            "enabledMiddleware": {},
            "remotePlugins": [],
            "metrics": {"sampleRate": 0},
        },
        headers={"Cache-Control": "no-cache"},
    )


async def _source_config(request: Request) -> JSONResponse:
    hub: Hub = request.app.state.hub
    key = request.query_params.get("writeKey") or _write_key(request, None)
    source = await _source(hub, key)
    browser.admit(request, source)
    return JSONResponse(
        {
            "isHosted": True,
            "source": {
                "id": source.id,
                "name": source.name,
                "enabled": source.enabled,
                "workspaceId": "omnikanal",
                "config": {"statsCollection": {"errors": {"enabled": False}, "metrics": {"enabled": False}}},
                "destinations": [],
            },
        },
        headers={"Cache-Control": "no-cache"},
    )


@router.get("/sourceConfig/", summary="Source configuration for RudderStack's JavaScript SDK (configUrl)")
async def rudderstack_source_config(request: Request) -> JSONResponse:
    return await _source_config(request)


@router.get("/sourceConfig", include_in_schema=False)
async def rudderstack_source_config_no_slash(request: Request) -> JSONResponse:
    return await _source_config(request)
