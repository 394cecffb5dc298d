"""A generic outbound webhook, signed per the Standard Webhooks specification.

Headers ``webhook-id`` (the message id: the receiver's idempotency key), ``webhook-timestamp``
(seconds) and ``webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">`` keyed with the
base64 part of a ``whsec_`` secret. Requests to private, loopback and link-local addresses are
refused unless ``OMNIKANAL_WEBHOOK_ALLOW_PRIVATE`` is set: a URL given by a caller must not reach
into the network the hub runs in.

The address is checked where the connection is made, not only before: the transport resolves the
host itself, refuses if any answer is not public, and connects to the address it checked (TLS still
verifies the certificate for the host name). A DNS answer that changes between a check and the
connection (DNS rebinding) therefore cannot lead the request inside.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import socket
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import httpcore
import httpx
import orjson

from omnikanal.clock import Clock, isoformat
from omnikanal.messaging.channels import one_by_one
from omnikanal.messaging.model import Outgoing, PermanentFailure, SendResult, Status, TransientFailure

# The retry schedule the Standard Webhooks specification suggests, after the first attempt.
RETRY_SCHEDULE_SECONDS: tuple[float, ...] = (5, 300, 1800, 7200, 18000, 36000, 36000)


def secret_bytes(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix("whsec_"))


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret_bytes(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def derived_secret(key: bytes) -> str:
    """A webhook secret derived from the hub's signing key, when none is configured."""
    return "whsec_" + base64.b64encode(hmac.new(key, b"webhook", hashlib.sha256).digest()).decode()


Resolver = Callable[[str, int], list[str]]
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
MAX_RESPONSE_BYTES = 64 * 1024  # only the status matters; a receiver cannot make the hub read more


def resolve(host: str, port: int) -> list[str]:
    """The addresses a host name resolves to (system resolver)."""
    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except OSError as exc:
        raise TransientFailure(f"webhook host {host!r} does not resolve: {exc}") from None
    return [str(info[4][0]).split("%")[0] for info in infos]


def parse_networks(texts: Iterable[str]) -> tuple[Network, ...]:
    """Networks a retailer allows beside the public internet (a partner's VPN range, say)."""
    found = []
    for text in texts:
        try:
            found.append(ipaddress.ip_network(text.strip(), strict=False))
        except ValueError:
            raise ValueError(
                f"webhook_allowed_networks: {text!r} is not a network like 10.8.0.0/16"
            ) from None
    return tuple(found)


def public_addresses(
    host: str, port: int, resolver: Resolver, allowed: tuple[Network, ...] = (), *, kind: str = "webhook"
) -> list[str]:
    """The host's addresses, if every one of them is public or in an allowed network; else
    PermanentFailure."""
    try:
        addresses = [str(ipaddress.ip_address(host.strip("[]")))]  # an address needs no resolving
    except ValueError:
        addresses = resolver(host, port)
    if not addresses:
        raise TransientFailure(f"{kind} host {host!r} does not resolve")
    for text in addresses:
        address = ipaddress.ip_address(text)
        if any(address in network for network in allowed):
            continue
        if not address.is_global or address.is_multicast:
            raise PermanentFailure(
                f"{kind}_private_address: {host} resolves to {address}, a private, loopback "
                f"or link-local address (set OMNIKANAL_{kind.upper()}_ALLOW_PRIVATE=true to allow)"
            )
    return addresses


def check_destination(
    url: str,
    allow_private: bool,
    resolver: Resolver = resolve,
    allowed: tuple[Network, ...] = (),
    *,
    kind: str = "webhook",
) -> None:
    """Refuse a URL that is not http(s) or whose host resolves to a non-public address."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise PermanentFailure(f"{kind} URL must be http or https with a host: {url!r}")
    if not allow_private:
        public_addresses(parts.hostname, parts.port or 443, resolver, allowed, kind=kind)


class _PublicOnlyBackend(httpcore.NetworkBackend):
    """Connects only to public addresses, to the one it checked."""

    def __init__(self, resolver: Resolver, allowed: tuple[Network, ...]) -> None:
        self._inner = httpcore.SyncBackend()
        self._resolver = resolver
        self._allowed = allowed

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        address = public_addresses(host, port, self._resolver, self._allowed)[0]
        return self._inner.connect_tcp(address, port, timeout, local_address, socket_options)

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.NetworkStream:
        raise PermanentFailure("webhook: unix sockets are not allowed")

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


class _GuardedTransport(httpx.BaseTransport):
    """An httpx transport over an httpcore pool whose connections go to public addresses only."""

    def __init__(self, resolver: Resolver, allowed: tuple[Network, ...]) -> None:
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(),
            max_connections=20,
            keepalive_expiry=5.0,
            network_backend=_PublicOnlyBackend(resolver, allowed),
        )

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        core = httpcore.Request(
            method=request.method,
            url=httpcore.URL(
                scheme=request.url.raw_scheme,
                host=request.url.raw_host,
                port=request.url.port,
                target=request.url.raw_path,
            ),
            headers=request.headers.raw,
            content=request.read(),
            extensions=request.extensions,
        )
        try:
            response = self._pool.handle_request(core)
            try:
                body = b""
                for chunk in response.iter_stream():
                    body += chunk
                    if len(body) >= MAX_RESPONSE_BYTES:
                        break
            finally:
                response.close()
        except httpcore.TimeoutException as exc:
            raise httpx.TimeoutException(str(exc), request=request) from None
        except httpcore.NetworkError as exc:
            raise httpx.NetworkError(str(exc), request=request) from None
        except httpcore.ProtocolError as exc:
            raise httpx.RemoteProtocolError(str(exc), request=request) from None
        return httpx.Response(response.status, headers=response.headers, content=body[:MAX_RESPONSE_BYTES])

    def close(self) -> None:
        self._pool.close()


class WebhookChannel:
    name = "webhook"

    def __init__(
        self,
        secret: str,
        allow_private: bool,
        timeout: float,
        clock: Clock,
        resolver: Resolver = resolve,
        allowed_networks: tuple[Network, ...] = (),
    ) -> None:
        self._secret = secret
        self._allow_private = allow_private
        self._clock = clock
        self._resolver = resolver
        self._allowed = allowed_networks
        # No redirects: a public URL must not bounce the request to a private one. No proxies from
        # the environment: the guard checks the address it connects to.
        transport = None if allow_private else _GuardedTransport(resolver, allowed_networks)
        self._client = httpx.Client(
            timeout=timeout, follow_redirects=False, transport=transport, trust_env=False
        )

    def payload(self, item: Outgoing, now: datetime) -> dict[str, Any]:
        return {
            "type": "message.sent",
            "timestamp": isoformat(now),
            "data": {
                "message_id": item.message_id,
                "profile_id": item.profile_id,
                "subject": item.subject,
                "text": item.text,
                "data": item.data,
            },
        }

    def send_batch(self, batch: Sequence[Outgoing]) -> list[SendResult | Exception]:
        return one_by_one(self.send, batch)

    def send(self, item: Outgoing) -> SendResult:
        check_destination(item.address, self._allow_private, self._resolver, self._allowed)
        now = self._clock.now()
        body = orjson.dumps(self.payload(item, now))
        timestamp = int(now.timestamp())
        headers = {
            "content-type": "application/json",
            "webhook-id": item.message_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": sign(self._secret, item.message_id, timestamp, body),
        }
        try:
            response = self._client.post(item.address, content=body, headers=headers)
        except httpx.HTTPError as exc:
            raise TransientFailure(f"webhook: {type(exc).__name__}: {exc}") from None
        if 200 <= response.status_code < 300:
            return SendResult(provider_id=item.message_id, status=Status.DELIVERED)
        if response.status_code in (408, 409, 425, 429) or response.status_code >= 500:
            raise TransientFailure(f"webhook answered {response.status_code}")
        raise PermanentFailure(f"webhook answered {response.status_code}")

    def close(self) -> None:
        self._client.close()
