"""HTTP edge of Web Push: the VAPID public key for the browser, and a website's or app's
registration of a push subscription for a user (authenticated with the source's write key, as the
tracking API is)."""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING, Any

import orjson
from fastapi import APIRouter, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from omnikanal.errors import InvalidInput, NotFound, PayloadTooLarge, Unauthorized
from omnikanal.messaging.push import parse_registration
from omnikanal.sources.model import Source
from omnikanal.web import ERROR_RESPONSES, HubDep

if TYPE_CHECKING:  # the composition root, as a type only: routers do not import it
    from omnikanal.hub import Hub

router = APIRouter(prefix="/v1/push", tags=["messaging: web push"], responses=ERROR_RESPONSES)

# A registration is a PushSubscription (an endpoint URL and two keys) and an id: well under 8 KB.
MAX_REGISTRATION_BYTES = 8192


def _write_key(request: Request) -> str | None:
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic" or not credentials:
        return None
    try:
        return base64.b64decode(credentials.strip(), validate=True).decode().split(":", 1)[0] or None
    except ValueError:  # binascii.Error and UnicodeDecodeError are ValueErrors
        raise Unauthorized("invalid_authorization", "the Basic credentials are not valid base64") from None


async def _source(hub: Hub, request: Request) -> Source:
    key = _write_key(request)
    source = hub.sources.cached(key)
    if source is None:
        source = await run_in_threadpool(hub.sources.authenticate, key)
    return source


async def _json(request: Request) -> Any:
    body = await request.body()
    if len(body) > MAX_REGISTRATION_BYTES:
        raise PayloadTooLarge("body_too_large", f"the body is larger than {MAX_REGISTRATION_BYTES} bytes")
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise InvalidInput("invalid_json", f"the body is not valid JSON: {exc}") from None


@router.get("/public-key", summary="The VAPID public key (applicationServerKey for pushManager.subscribe)")
def public_key(hub: HubDep) -> dict[str, Any]:
    return {"publicKey": hub.messaging.push_public_key}


@router.post("/subscriptions", status_code=201, summary="Register a browser's push subscription for a user")
async def register(hub: HubDep, request: Request) -> dict[str, Any]:
    source = await _source(hub, request)
    registration = parse_registration(
        await _json(request), request.headers.get("user-agent"), allow_http=hub.settings.push_allow_private
    )
    result: dict[str, Any] = await run_in_threadpool(hub.messaging.push.register, source, registration)
    return result


@router.delete("/subscriptions", status_code=204, summary="Unregister a push subscription (by its endpoint)")
async def unregister(hub: HubDep, request: Request, endpoint: str = Query(max_length=2000)) -> Response:
    await _source(hub, request)
    if not await run_in_threadpool(hub.messaging.push.unregister, endpoint):
        raise NotFound("unknown_subscription", "no active subscription has this endpoint", "endpoint")
    return Response(status_code=204)
