"""The browser as a channel: CORS for the tracking endpoints, public write keys' rate limit, the IP
address policy and the visitor's consent choice carried by each event.

A preflight carries no write key, so it is answered from every origin some enabled source allows
(read at most every few seconds, in the thread pool); the request that follows is checked against its
own source's origins with the source look-up the endpoint does anyway. Requests without an Origin
header (server-side clients) pass the gate untouched.
"""

from __future__ import annotations

import ipaddress
import math
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from omnikanal.errors import Forbidden, InvalidInput, TooManyRequests
from omnikanal.sources.model import Source
from omnikanal.web import JSONResponse, error_body

if TYPE_CHECKING:  # the composition root, as a type only: routers do not import it
    from omnikanal.hub import Hub

# Paths a shop's page calls: the tracking API, the libraries' settings, RudderStack's beacon.
BROWSER_PREFIXES = ("/v1/", "/beacon/v1/", "/sourceConfig")
ALLOWED_METHODS = "GET, POST, DELETE, OPTIONS"
# The content types a tracking library posts with. Others (an HTML form's) are refused from browsers.
BODY_TYPES = frozenset({"", "application/json", "text/plain"})

# Cookie-banner categories as the libraries name them, and the purposes of the consent ledger.
CATEGORY_PURPOSES = {
    "analytics": "analytics",
    "statistics": "analytics",
    "personalisation": "personalisation",
    "personalization": "personalisation",
    "marketing": "marketing",
    "advertising": "marketing",
}
# Events that need the visitor's consent to analytics: behaviour on the page. Identify and alias
# (logging in, linking the account) and the consent events themselves need none.
ANALYTICS_TYPES = frozenset({"page", "screen", "track", "group"})
CONSENT_EVENT = "Consent Updated"


def _origin_of(scope: Scope) -> str | None:
    for key, value in scope["headers"]:
        if key == b"origin":
            return bytes(value).decode("latin-1")
    return None


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value).decode("latin-1")
    return None


class CorsGate:
    """Answers preflights and adds the Access-Control-* headers for allowed origins (plain ASGI)."""

    def __init__(self, app: ASGIApp, hub: Hub) -> None:
        self.app = app
        self.hub = hub
        settings = hub.settings
        self.allowed_headers = frozenset(h.lower() for h in settings.browser_allowed_headers)
        self.allow_headers_value = ", ".join(sorted(self.allowed_headers)).encode()
        self.max_age = str(settings.browser_preflight_max_age_seconds).encode()

    async def _known(self, origin: str) -> bool:
        origins = self.hub.sources.origins_cached()
        if origins is None:
            origins = await run_in_threadpool(self.hub.sources.all_origins)
        return origin in origins

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(BROWSER_PREFIXES):
            await self.app(scope, receive, send)
            return
        origin = _origin_of(scope)
        if origin is None:
            await self.app(scope, receive, send)
            return
        known = await self._known(origin)
        if scope["method"] == "OPTIONS" and _header(scope, b"access-control-request-method") is not None:
            await self._preflight(scope, origin, known, receive, send)
            return
        if not known:
            await _refuse(origin, scope, receive, send)
            return
        origin_bytes = origin.encode("latin-1")

        async def with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers += [
                    (b"access-control-allow-origin", origin_bytes),
                    (b"access-control-allow-credentials", b"true"),
                    (b"access-control-expose-headers", b"Retry-After"),
                    (b"vary", b"Origin"),
                ]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_cors)

    async def _preflight(self, scope: Scope, origin: str, known: bool, receive: Receive, send: Send) -> None:
        if not known:
            await _refuse(origin, scope, receive, send)
            return
        method = (_header(scope, b"access-control-request-method") or "").upper()
        if method not in ALLOWED_METHODS.split(", "):
            body = error_body("method_not_allowed", f"the method {method!r} is not allowed here", "method")
            await JSONResponse(body, status_code=403)(scope, receive, send)
            return
        asked = _header(scope, b"access-control-request-headers") or ""
        extra = [
            h for h in (p.strip().lower() for p in asked.split(",")) if h and h not in self.allowed_headers
        ]
        if extra:
            body = error_body(
                "header_not_allowed",
                f"Access-Control-Request-Headers names {extra[0]!r}, which is not allowed; allowed are: "
                f"{self.allow_headers_value.decode()}",
                "Access-Control-Request-Headers",
            )
            await JSONResponse(body, status_code=403)(scope, receive, send)
            return
        headers = {
            "Access-Control-Allow-Origin": origin,
            "Access-Control-Allow-Credentials": "true",
            "Access-Control-Allow-Methods": ALLOWED_METHODS,
            "Access-Control-Allow-Headers": self.allow_headers_value.decode(),
            "Access-Control-Max-Age": self.max_age.decode(),
            "Vary": "Origin, Access-Control-Request-Method, Access-Control-Request-Headers",
        }
        await Response(status_code=204, headers=headers)(scope, receive, send)


async def _refuse(origin: str, scope: Scope, receive: Receive, send: Send) -> None:
    body = error_body(
        "origin_not_allowed",
        f"the Origin {origin[:200]!r} is not allowed by any source; add it to the allowed origins "
        "of the shop's source (omnikanal source browser SOURCE --origin ORIGIN, "
        "or PATCH /api/sources/SOURCE)",
        "Origin",
    )
    await JSONResponse(body, status_code=403, headers={"Vary": "Origin"})(scope, receive, send)


class RateLimiter:
    """A token bucket per (source, client address): ``rate`` requests a second, ``burst`` at once.

    Runs on the event loop only (no lock). Memory is bounded: past ``max_clients`` buckets, those
    already full again are forgotten, and if none is, all are (the limit then starts afresh).
    """

    def __init__(self, rate: float, burst: int, max_clients: int) -> None:
        self.rate = rate
        self.burst = float(burst)
        self.max_clients = max_clients
        self._buckets: dict[tuple[str, str], tuple[float, float]] = {}

    def take(self, source_id: str, client: str, now: float | None = None) -> float:
        """0 when the request may pass, else the seconds until it may."""
        now = time.monotonic() if now is None else now
        key = (source_id, client)
        tokens, at = self._buckets.get(key, (self.burst, now))
        tokens = min(self.burst, tokens + (now - at) * self.rate)
        if tokens < 1.0:
            self._buckets[key] = (tokens, now)
            return (1.0 - tokens) / self.rate
        if key not in self._buckets and len(self._buckets) >= self.max_clients:
            self._forget_full(now)
        self._buckets[key] = (tokens - 1.0, now)
        return 0.0

    def _forget_full(self, now: float) -> None:
        full_after = self.burst / self.rate
        self._buckets = {k: v for k, v in self._buckets.items() if now - v[1] < full_after}
        if len(self._buckets) >= self.max_clients:
            self._buckets.clear()


def install(app: FastAPI, hub: Hub) -> None:
    """The CORS gate in front of the app, and the rate limiter of this process's public sources."""
    settings = hub.settings
    app.state.browser_limiter = RateLimiter(
        settings.browser_rate_per_second, settings.browser_rate_burst, settings.browser_rate_max_clients
    )
    app.add_middleware(CorsGate, hub=hub)


def check_body_type(request: Request) -> None:
    """From a browser, only the content types the tracking libraries post with (not a form's)."""
    if "origin" not in request.headers:
        return
    media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media not in BODY_TYPES:
        raise InvalidInput(
            "unsupported_content_type",
            f"Content-Type {media!r} is not taken from a browser; send JSON as application/json or "
            "text/plain",
            "Content-Type",
        )


def admit(request: Request, source: Source) -> None:
    """The source accepts this request: its origin (if any) is allowed, its client within the limit."""
    origin = request.headers.get("origin")
    if origin is not None and origin not in source.allowed_origins:
        raise Forbidden(
            "origin_not_allowed",
            f"the Origin {origin[:200]!r} may not send to the source {source.name!r}; add it to the "
            "source's allowed origins",
            "Origin",
        )
    if source.public:
        client = request.client.host if request.client else ""
        limiter: RateLimiter = request.app.state.browser_limiter
        wait = limiter.take(source.id, client)
        if wait > 0:
            raise TooManyRequests(
                "rate_limited",
                f"too many requests from this address for the source {source.name!r}; "
                f"try again in {math.ceil(wait)} s",
                retry_after=max(1, math.ceil(wait)),
            )


def truncate_ip(value: str) -> str | None:
    """IPv4 to its /24, IPv6 to its /48 (the network, not the device); None for a non-address."""
    try:
        address = ipaddress.ip_address(value.strip())
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    prefix = 24 if address.version == 4 else 48
    return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False).network_address)


def apply_ip_policy(source: Source, client: str | None, items: Iterable[Any], batch_context: Any) -> None:
    """Set each event's context.ip as the source's policy says, before anything is stored.

    A public source's requests come from the visitor's device, so its address stands in for a
    missing context.ip (as Segment's API does); other sources' requests come from a server.
    """
    policy = source.ip_policy
    if policy == "keep" and not source.public:
        return
    if isinstance(batch_context, dict) and "ip" in batch_context:
        _set_ip(batch_context, policy, None)
    for item in items:
        if not isinstance(item, dict):
            continue
        context = item.get("context")
        if context is None and policy != "drop":
            context = item["context"] = {}
        if isinstance(context, dict):
            own_batch_ip = isinstance(batch_context, dict) and "ip" in batch_context
            _set_ip(context, policy, None if own_batch_ip else client if source.public else None)


def _set_ip(context: dict[str, Any], policy: str, client: str | None) -> None:
    value = context.get("ip")
    if not isinstance(value, str) or not value:
        value = client
    if policy == "drop" or value is None:
        context.pop("ip", None)
    elif policy == "truncate":
        truncated = truncate_ip(value)
        if truncated is None:
            context.pop("ip", None)
        else:
            context["ip"] = truncated
    else:
        context["ip"] = value


def declined_purposes(event: Any) -> set[str]:
    """The purposes the visitor declined, as the event's own consent context says.

    analytics-next: ``context.consent.categoryPreferences`` ({category: bool}); RudderStack:
    ``context.consentManagement.deniedConsentIds``. Categories are matched to purposes by name.
    """
    context = event.get("context") if isinstance(event, dict) else None
    if not isinstance(context, dict):
        return set()
    declined: set[str] = set()
    consent = context.get("consent")
    if isinstance(consent, dict) and isinstance(consent.get("categoryPreferences"), dict):
        for category, allowed in consent["categoryPreferences"].items():
            purpose = CATEGORY_PURPOSES.get(str(category).strip().lower())
            if purpose and allowed is False:
                declined.add(purpose)
    management = context.get("consentManagement")
    if isinstance(management, dict) and isinstance(management.get("deniedConsentIds"), list):
        for category in management["deniedConsentIds"]:
            purpose = CATEGORY_PURPOSES.get(str(category).strip().lower())
            if purpose:
                declined.add(purpose)
    return declined


def needs_analytics(event: dict[str, Any], forced_type: str | None) -> bool:
    event_type = forced_type or event.get("type")
    return event_type in ANALYTICS_TYPES and not (
        event_type == "track" and event.get("event") == CONSENT_EVENT
    )


def without_declined(items: list[Any], forced_type: str | None = None) -> tuple[list[Any], list[int]]:
    """The events the visitor's choice lets us store, and their positions in the request.

    An event of a purpose the visitor declined is not stored at all (counted in the answer as
    ``declined``): the device's anonymous id is itself personal data, so an event "without personal
    data" would be one that no longer belongs to anyone.
    """
    kept: list[Any] = []
    positions: list[int] = []
    for index, item in enumerate(items):
        if (
            isinstance(item, dict)
            and "context" in item
            and needs_analytics(item, forced_type)
            and "analytics" in declined_purposes(item)
        ):
            continue
        kept.append(item)
        positions.append(index)
    return kept, positions
