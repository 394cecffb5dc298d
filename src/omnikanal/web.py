"""Shared pieces of the HTTP edge: JSON errors, bearer-token principals, paging limits."""

from __future__ import annotations

import ipaddress
import json
import logging
import re
from datetime import UTC, datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Annotated, Any

import orjson
from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from sqlalchemy.exc import DataError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from omnikanal.auth.model import Permission, Principal
from omnikanal.clock import MAX_TIME, MIN_TIME
from omnikanal.errors import Forbidden, InvalidInput, OmnikanalError, Unauthorized
from omnikanal.settings import Settings

log = logging.getLogger(__name__)

ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"description": "Bad input; the body names the code, the problem and the field"},
    401: {"description": "Missing or unknown credentials"},
    403: {"description": "Not allowed for this role, or the source is disabled"},
    404: {"description": "Not found"},
}


class JSONResponse(Response):
    """JSON rendered by orjson (fast, and it knows datetimes)."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def error_body(code: str, message: str, field: str | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message}
    if field is not None:
        error["field"] = field
    return {"error": error}


# Dependencies are async on purpose: FastAPI runs sync ones in its thread pool, a hop that costs
# more than the (cached) work they do. Anything that reads the database goes to the pool, so the
# event loop never waits for a connection or a query.
async def hub_of(request: Request) -> Hub:
    hub: Hub = request.app.state.hub
    return hub


# The edge knows the hub only as a type: importing it would make web depend on every capability.
if TYPE_CHECKING:
    from omnikanal.hub import Hub

    HubDep = Annotated[Hub, Depends(hub_of)]
else:
    HubDep = Annotated[Any, Depends(hub_of)]


SESSION_COOKIE = "omnikanal_session"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


async def principal_of(request: Request) -> Principal:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    secret = token.strip() if scheme.lower() == "bearer" else None
    hub: Hub = request.app.state.hub
    if secret is None and SESSION_COOKIE in request.cookies:
        return await session_principal(request, hub)
    principal = hub.tokens.cached(secret)
    if principal is not None:
        return principal
    return await run_in_threadpool(hub.tokens.authenticate, secret)


PrincipalDep = Annotated[Principal, Depends(principal_of)]


async def session_principal(request: Request, hub: Hub) -> Principal:
    """The staff user of a console session cookie, so the console's scripts use the same API.

    A browser sends the cookie with any request to the hub, so a changing request must also carry
    the session's CSRF token in a header, which another site's page cannot read or set.
    """
    session = await run_in_threadpool(hub.staff.session, request.cookies.get(SESSION_COOKIE))
    if session is None:
        raise Unauthorized("session_expired", "the console session has ended; log in again")
    changing = request.method not in SAFE_METHODS
    if changing and not hub.staff.csrf_ok(session, request.headers.get(CSRF_HEADER)):
        raise Forbidden("csrf_failed", "the request lacks the session's CSRF token (X-CSRF-Token)")
    return session.user.principal()


Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=8)
def _networks(texts: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(t.strip(), strict=False) for t in texts)


def _within(address: str, networks: tuple[Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return False
    return any(ip in network for network in networks)


def client_address(request: Request) -> str:
    """The client's address: the peer, or what a trusted proxy says in X-Forwarded-For.

    Only a peer in ``trusted_proxies`` is believed; its header is read from the right (the entry its
    own proxy added last) past the other trusted proxies, so a client cannot put a made-up address
    in front. uvicorn runs with proxy_headers off, so the peer here is the real one.
    """
    peer = request.client.host if request.client else "unknown"
    hub: Hub = request.app.state.hub
    trusted = _networks(tuple(hub.settings.trusted_proxies))
    if not trusted or not _within(peer, trusted):
        return peer
    hops = [h.strip() for h in ",".join(request.headers.getlist("x-forwarded-for")).split(",") if h.strip()]
    for hop in reversed(hops):
        if not _within(hop, trusted):
            return hop[:64]
    return peer


def require(principal: Principal, permission: Permission) -> None:
    from omnikanal.auth.service import TokenService

    TokenService.require(principal, permission)


class RefuseNul:
    """Answers 400 to a path or query with a NUL character, before any handler runs.

    PostgreSQL refuses NUL in text and no identifier, name or id of ours holds one. A plain ASGI
    middleware: Starlette's BaseHTTPMiddleware would cost every request a good part of a millisecond.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and ("\x00" in scope["path"] or b"%00" in scope.get("query_string", b"")):
            body = error_body("invalid_character", "the path or query contains a NUL character")
            await JSONResponse(body, status_code=400)(scope, receive, send)
            return
        await self.app(scope, receive, send)


class BodyTooLarge(StarletteHTTPException):
    """A request body past its route's limit. An HTTPException, so FastAPI's body parsing passes it
    on (it turns other errors while reading into a 400) and it is answered as a 413."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"body: the request body is larger than the limit of {limit} bytes")


def body_limits(settings: Settings) -> tuple[tuple[str, int | None], ...]:
    """(path prefix, limit) in the order they are tried; None: the route keeps its own limits."""
    return (
        # The tracking API's own limits (Segment's) apply while it reads: nothing is added here.
        ("/v1/", None),
        # the browser libraries' beacon batch, bounded by BROWSER_MAX_BEACON_BYTES while it is read
        ("/beacon/v1/", None),
        ("/api/commerce/catalogue/import", settings.catalogue_import_max_bytes),
        ("/api/journeys", settings.journey_max_document_bytes),
        ("/api/", settings.api_max_body_bytes),
        ("/console/", settings.console_max_form_bytes),
        ("/callbacks/", settings.callback_max_body_bytes),
        ("", settings.public_form_max_bytes),
    )


class BodyLimit:
    """Refuses a request body past its route's limit while it arrives: at once by its declared
    Content-Length, else when the bytes received pass it, so no handler reads a huge body whole.

    /v1 passes through after one prefix check: the hot path stays as it was.
    """

    def __init__(self, app: ASGIApp, limits: tuple[tuple[str, int | None], ...]) -> None:
        self.app = app
        self.limits = limits

    def _limit(self, path: str) -> int | None:
        for prefix, limit in self.limits:
            if path.startswith(prefix):
                return limit
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        limit = self._limit(scope["path"]) if scope["type"] == "http" else None
        if limit is None:
            await self.app(scope, receive, send)
            return
        for name, value in scope["headers"]:
            if name == b"content-length" and value.isdigit() and int(value) > limit:
                body = error_body("body_too_large", BodyTooLarge(limit).detail, "body")
                await JSONResponse(body, status_code=413)(scope, receive, send)
                return
        received = 0

        async def limited() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        started = False

        async def sending(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited, sending)
        except BodyTooLarge as exc:
            # raised while a middleware inside (not a route) read the body
            if started:
                raise
            body = error_body("body_too_large", str(exc.detail), "body")
            await JSONResponse(body, status_code=413)(scope, receive, send)


_BAD_TEXT = re.compile("[\x00\ud800-\udfff]")
INT64 = (-(2**63), 2**63 - 1)


def bad_json_value(value: Any) -> tuple[str, str] | None:
    """The first place (dotted, as validation errors name fields) holding a value no engine stores
    alike, and why: a NUL character or an unpaired surrogate in a string or key (PostgreSQL refuses
    NUL, no UTF-8 holds a lone surrogate), or an integer past 64 bits. Walks without recursion, so
    nesting cannot exhaust the stack."""
    stack: list[tuple[str, Any]] = [("", value)]
    while stack:
        place, item = stack.pop()
        if isinstance(item, str):
            if _BAD_TEXT.search(item):
                return place, "text must not contain NUL characters or unpaired surrogates"
        elif isinstance(item, bool):
            continue
        elif isinstance(item, int):
            if not INT64[0] <= item <= INT64[1]:
                return place, "integers must fit in 64 bits"
        elif isinstance(item, dict):
            for key, inner in item.items():
                # a bad key is named escaped (\ud800), so the error itself is valid JSON
                shown = _BAD_TEXT.sub(lambda m: f"\\u{ord(m.group()):04x}", key)
                where = f"{place}.{shown}" if place else shown
                if shown != key:
                    return where, "keys must not contain NUL characters or unpaired surrogates"
                stack.append((where, inner))
        elif isinstance(item, list):
            stack.extend((f"{place}.{i}" if place else str(i), inner) for i, inner in enumerate(item))
    return None


class RefuseBadJsonText:
    """Answers 400 naming the field to an /api JSON body with a value of ``bad_json_value``, so
    every route and both engines follow one rule (before, some stored NUL, others answered 500).

    It reads the body (BodyLimit, outside it, bounds it) and hands it on unchanged; /v1 and other
    routes pass after one prefix check.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/api/") or not _json_body(scope):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        while True:
            message = await receive()
            if message["type"] != "http.request":
                await self.app(scope, _replay([message], receive), send)
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        found = _bad_in(body) if body else None
        if found is not None:
            field, problem = found
            message_text = f"{field}: {problem}" if field else problem
            error = error_body("invalid_character", message_text, field or "body")
            await JSONResponse(error, status_code=400)(scope, receive, send)
            return
        await self.app(scope, _replay([{"type": "http.request", "body": body}], receive), send)


def _bad_in(body: bytes) -> tuple[str, str] | None:
    # Python's parser, as FastAPI's routes use it: it keeps integers past 64 bits and lone
    # surrogates (orjson turns the one into a float and refuses the other), so both can be named.
    # Not JSON at all: None, and the route's own parsing answers.
    try:
        return bad_json_value(json.loads(body))
    except (ValueError, RecursionError):
        return None


def _json_body(scope: Scope) -> bool:
    for name, value in scope["headers"]:
        if name == b"content-type":
            # application/json or application/*+json; not JSON Lines (a catalogue file), which
            # the importer checks line by line
            media = bytes(value).split(b";", 1)[0].strip().lower()
            return media == b"application/json" or media.endswith(b"+json")
    return False


def _replay(messages: list[Message], receive: Receive) -> Receive:
    async def replay() -> Message:
        return messages.pop(0) if messages else await receive()

    return replay


def install_error_handlers(app: FastAPI) -> None:
    app.add_middleware(RefuseNul)

    @app.exception_handler(OmnikanalError)
    async def _domain(request: Request, exc: OmnikanalError) -> JSONResponse:
        body = error_body(exc.code, exc.message, exc.field)
        if request.url.path.startswith("/v1/"):
            # The Segment and RudderStack clients read code and message at the top level of an error.
            body.update(code=exc.code, message=exc.message)
        retry_after = getattr(exc, "retry_after", None)
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
        return JSONResponse(body, status_code=exc.status, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        location = [str(p) for p in first.get("loc", ()) if p not in ("body", "query", "path", "header")]
        field = ".".join(location) or None
        message = (
            f"{field}: {first.get('msg', 'invalid')}" if field else str(first.get("msg", "invalid request"))
        )
        return JSONResponse(error_body("invalid_request", message, field), status_code=400)

    @app.exception_handler(BodyTooLarge)
    async def _too_large(_: Request, exc: BodyTooLarge) -> JSONResponse:
        return JSONResponse(error_body("body_too_large", str(exc.detail), "body"), status_code=413)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        codes = {404: "not_found", 405: "method_not_allowed"}
        return JSONResponse(
            error_body(codes.get(exc.status_code, "http_error"), str(exc.detail)),
            status_code=exc.status_code,
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(DataError)
    async def _data(_: Request, exc: DataError) -> JSONResponse:
        # The database refused a value (out of range, a character it cannot store): the input's fault.
        log.info("database refused a value: %s", exc.orig)
        return JSONResponse(
            error_body("invalid_value", "a value in the request cannot be stored or searched for"),
            status_code=400,
        )

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", exc_info=exc)
        return JSONResponse(error_body("internal_error", "something went wrong on our side"), status_code=500)


def aware_time(value: datetime | None, field: str) -> datetime | None:
    """An aware UTC time within the years the hub stores, or a 400 naming the field."""
    if value is None:
        return None
    try:
        moment = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    except OverflowError:
        moment = None
    if moment is None or not MIN_TIME <= moment <= MAX_TIME:
        raise InvalidInput("invalid_time", f"{field} must be a time between the years 1900 and 2999", field)
    return moment
