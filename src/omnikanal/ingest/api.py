"""The Segment HTTP tracking API: /v1/identify, track, page, screen, group, alias and batch."""

from __future__ import annotations

import asyncio
import base64
import zlib
from typing import TYPE_CHECKING, Any

import orjson
from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from omnikanal.errors import InvalidInput, PayloadTooLarge, Unavailable
from omnikanal.ingest import browser
from omnikanal.ingest.schemas import BatchRequest, Envelope, ErrorResponse, IngestResponse
from omnikanal.sources.model import Source
from omnikanal.web import JSONResponse

if TYPE_CHECKING:  # the composition root, as a type only: routers do not import it
    from omnikanal.hub import Hub

router = APIRouter(prefix="/v1", tags=["tracking"])

_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorResponse, "description": "Not JSON, over a limit, or (single events) invalid"},
    401: {"model": ErrorResponse, "description": "Missing or unknown write key"},
    403: {"model": ErrorResponse, "description": "The source is disabled"},
}


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge("request_too_large", f"the request body is over {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge("request_too_large", f"the request body is over {limit} bytes")
        chunks.append(chunk)
    body = b"".join(chunks)
    if request.headers.get("content-encoding", "").lower() == "gzip":
        # Decompress with a ceiling, so a small bomb cannot expand into gigabytes.
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            body = inflater.decompress(body, limit + 1)
        except zlib.error:
            raise InvalidInput("invalid_gzip", "the body is not valid gzip") from None
        if len(body) > limit or inflater.unconsumed_tail:
            raise PayloadTooLarge("request_too_large", f"the decompressed body is over {limit} bytes")
    return body


def _parse(body: bytes) -> Any:
    if not body.strip():
        raise InvalidInput("invalid_json", "the body is empty; send a JSON object")
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise InvalidInput("invalid_json", f"the body is not valid JSON: {exc}") from None


async def _source(hub: Hub, write_key: str | None) -> Source:
    """The source of a write key; a cache miss reads the database in the thread pool, not on the loop."""
    source = hub.sources.cached(write_key)
    if source is None:
        source = await run_in_threadpool(hub.sources.authenticate, write_key)
    return source


def _write_key(request: Request, body: Any) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, credentials = header.partition(" ")
    if scheme.lower() == "basic" and credentials:
        try:
            user = base64.b64decode(credentials.strip(), validate=True).decode().split(":", 1)[0]
        except ValueError:  # includes binascii.Error, UnicodeDecodeError and non-ASCII input
            raise InvalidInput(
                "invalid_authorization", "the Basic credentials are not valid base64"
            ) from None
        if user:
            return user
    if isinstance(body, dict) and isinstance(body.get("writeKey"), str):
        return str(body["writeKey"])
    return None


async def _store(
    hub: Hub, submission: Any, declined: int = 0, positions: list[int] | None = None
) -> JSONResponse:
    """Wait for the commit; a 2xx only once the events are durable.

    ``positions`` maps the submitted events back to their places in the request, when events the
    visitor's consent declined were left out (``declined`` of them).
    """
    try:
        result = await asyncio.wait_for(
            asyncio.wrap_future(hub.writer.submit(submission)), hub.settings.ingest_timeout_seconds
        )
    except (TimeoutError, RuntimeError):
        # Not known to be stored: the client retries, and the retry is deduplicated by messageId.
        raise Unavailable(
            "storage_unavailable", "the events could not be stored just now; send them again"
        ) from None
    answer = result.as_dict()
    if declined:
        answer["declined"] = declined
        if positions is not None:
            for item in answer["quarantined"]:
                item["index"] = positions[item["index"]]
    return JSONResponse(answer)


async def _single(request: Request, event_type: str) -> JSONResponse:
    hub: Hub = request.app.state.hub
    browser.check_body_type(request)
    body = _parse(await _read_body(request, hub.settings.max_request_bytes))
    if not isinstance(body, dict):
        raise InvalidInput("invalid_event", "the body must be a JSON object")
    source = await _source(hub, _write_key(request, body))
    browser.admit(request, source)
    body.pop("writeKey", None)
    browser.apply_ip_policy(source, request.client.host if request.client else None, [body], None)
    kept, _ = browser.without_declined([body], event_type)
    if not kept:
        return JSONResponse(
            {
                "success": True,
                "accepted": 0,
                "duplicates": 0,
                "suppressed": 0,
                "declined": 1,
                "quarantined": [],
            }
        )
    submission = hub.ingest.prepare(source, [body], forced_type=event_type)
    if submission.rejected:
        _, rejection, _ = submission.rejected[0]
        raise InvalidInput(rejection.code, rejection.message, rejection.field)
    return await _store(hub, submission)


async def _batch(request: Request, *, beacon: bool = False) -> JSONResponse:
    hub: Hub = request.app.state.hub
    settings = hub.settings
    browser.check_body_type(request)
    limit = settings.browser_max_beacon_bytes if beacon else settings.max_request_bytes
    body = _parse(await _read_body(request, limit))
    if not isinstance(body, dict):
        raise InvalidInput("invalid_batch", "the body must be a JSON object with a batch array")
    # A beacon cannot send headers: its write key comes in the query string.
    key = request.query_params.get("writeKey") if beacon else None
    source = await _source(hub, key or _write_key(request, body))
    browser.admit(request, source)
    items = body.get("batch")
    if not isinstance(items, list):
        raise InvalidInput("invalid_batch", "batch must be an array of events", "batch")
    if len(items) > settings.max_batch_events:
        raise PayloadTooLarge(
            "batch_too_large",
            f"the batch has {len(items)} events; at most {settings.max_batch_events} are allowed",
            "batch",
        )
    sent_at = body.get("sentAt")
    if sent_at is not None:
        # The batch's sentAt applies to items that carry none (the Python clients set it only here).
        for item in items:
            if isinstance(item, dict) and "sentAt" not in item:
                item["sentAt"] = sent_at
    browser.apply_ip_policy(
        source, request.client.host if request.client else None, items, body.get("context")
    )
    kept, positions = browser.without_declined(items)
    submission = hub.ingest.prepare(source, kept, batch_context=body.get("context"))
    return await _store(hub, submission, len(items) - len(kept), positions)


def _document(event_type: str, summary: str) -> None:
    async def endpoint(request: Request) -> JSONResponse:
        return await _single(request, event_type)

    endpoint.__name__ = f"ingest_{event_type}"
    # Segment's analytics-next posts to the first letter of the type (/v1/p, /v1/t, ...).
    router.add_api_route(f"/{event_type[0]}", endpoint, methods=["POST"], include_in_schema=False)
    router.add_api_route(
        f"/{event_type}",
        endpoint,
        methods=["POST"],
        summary=summary,
        response_model=IngestResponse,
        responses=_RESPONSES,
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Envelope"}}},
            },
            "security": [{"writeKey": []}],
        },
    )


_document("identify", "Tie a user to their actions and record traits")
_document("track", "Record an action the user performed")
_document("page", "Record a page view (web)")
_document("screen", "Record a screen view (app)")
_document("group", "Associate a user with a group (a company, a household)")
_document("alias", "Merge two identities of one user (previousId into userId)")


@router.post(
    "/batch",
    summary="Send up to 2,500 events of any type; invalid ones are quarantined, the rest stored",
    response_model=IngestResponse,
    responses=_RESPONSES,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/BatchRequest"}}},
        },
        "security": [{"writeKey": []}],
    },
)
async def ingest_batch(request: Request) -> JSONResponse:
    return await _batch(request)


# analytics-next's batching delivery posts to /v1/b.
router.add_api_route("/b", ingest_batch, methods=["POST"], include_in_schema=False)

beacon_router = APIRouter(tags=["tracking"])


@beacon_router.post(
    "/beacon/v1/batch",
    summary="A batch sent by navigator.sendBeacon (RudderStack): write key in the query, at most 64 KiB",
    response_model=IngestResponse,
    responses=_RESPONSES,
)
async def ingest_beacon(request: Request) -> JSONResponse:
    return await _batch(request, beacon=True)


SCHEMA_MODELS = (Envelope, BatchRequest)
