"""A generic outbound webhook, signed per the Standard Webhooks specification.

Headers ``webhook-id`` (the message id: the receiver's idempotency key), ``webhook-timestamp``
(seconds) and ``webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">`` keyed with the
base64 part of a ``whsec_`` secret. Requests to private, loopback and link-local addresses are
refused unless ``OMNIKANAL_WEBHOOK_ALLOW_PRIVATE`` is set: a URL given by a caller must not reach
into the network the hub runs in.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import socket
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

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


def check_destination(url: str, allow_private: bool, kind: str = "webhook") -> None:
    """Refuse a URL that is not http(s) or whose host resolves to a non-public address."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise PermanentFailure(f"{kind} URL must be http or https with a host: {url!r}")
    if allow_private:
        return
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or 443, proto=socket.IPPROTO_TCP)
    except OSError as exc:
        raise TransientFailure(f"{kind} host {parts.hostname!r} does not resolve: {exc}") from None
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%")[0])
        if not address.is_global or address.is_multicast:
            raise PermanentFailure(
                f"{kind}_private_address: {parts.hostname} resolves to {address}, a private, loopback "
                f"or link-local address (set OMNIKANAL_{kind.upper()}_ALLOW_PRIVATE=true to allow)"
            )


class WebhookChannel:
    name = "webhook"

    def __init__(self, secret: str, allow_private: bool, timeout: float, clock: Clock) -> None:
        self._secret = secret
        self._allow_private = allow_private
        self._clock = clock
        # No redirects: a public URL must not bounce the request to a private one.
        self._client = httpx.Client(timeout=timeout, follow_redirects=False)

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
        check_destination(item.address, self._allow_private)
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
