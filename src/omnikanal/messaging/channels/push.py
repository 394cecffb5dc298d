"""Web Push: a message to every active push subscription of the customer.

The protocol pieces: the request to the subscription's endpoint (RFC 8030: ``TTL``, ``Urgency``),
the payload encrypted to the browser's key (RFC 8291: ``Content-Encoding: aes128gcm``, done by
``http_ece``) and the VAPID authorisation (RFC 8292: ``Authorization: vapid t=<ES256 JWT>,k=<public
key>``, signed by ``py_vapid``). These two libraries are what ``pywebpush`` itself uses; we call
them directly and send with httpx (as the other adapters do) instead of bringing in pywebpush's
own requests and aiohttp stacks.

The push service answers 201 when it took the message. 404 and 410 mean the subscription is gone
for good: it is marked expired and never used again; 429 and 5xx are transient (retry later);
other 4xx (a payload too large, a VAPID key the subscription was not made for) are permanent.
"""

from __future__ import annotations

import base64
import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import http_ece
import httpx
import orjson
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from py_vapid import Vapid02

from omnikanal.messaging.channels import one_by_one
from omnikanal.messaging.channels.webhook import check_destination
from omnikanal.messaging.model import Outgoing, PermanentFailure, SendResult, Status, TransientFailure

# A VAPID JWT is valid for at most 24 hours (RFC 8292 section 2); ours for 12, renewed at 11.
_JWT_SECONDS = 12 * 3600
_JWT_RENEW_SECONDS = 11 * 3600
KEY_FILE = "vapid_private.pem"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def load_vapid_key(configured: str, data_dir: Path) -> ec.EllipticCurvePrivateKey:
    """The VAPID key: from the setting (PEM, or the raw 32-byte key in base64url), else the one
    generated into the data folder on first use (kept: browsers subscribed with its public key)."""
    if configured.strip():
        text = configured.strip()
        if text.startswith("-----BEGIN"):
            key = serialization.load_pem_private_key(text.encode(), password=None)
        else:
            key = ec.derive_private_key(int.from_bytes(b64url_decode(text), "big"), ec.SECP256R1())
        if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SECP256R1):
            raise ValueError("OMNIKANAL_PUSH_VAPID_PRIVATE_KEY must be a P-256 (prime256v1) key")
        return key
    path = data_dir / KEY_FILE
    if path.exists():
        loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
        assert isinstance(loaded, ec.EllipticCurvePrivateKey)
        return loaded
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    data_dir.mkdir(parents=True, exist_ok=True)
    # Written once, readable by this user only; a second process that raced us reads the winner's.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return load_vapid_key("", data_dir)
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
    return key


def public_key_b64(key: ec.EllipticCurvePrivateKey) -> str:
    """The application server key a browser subscribes with (uncompressed point, base64url)."""
    point = key.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return b64url(point)


@dataclass(frozen=True, slots=True)
class Subscription:
    id: str
    endpoint: str
    p256dh: str
    auth: str


@dataclass(frozen=True, slots=True)
class PushConfig:
    subject: str  # mailto: or https: contact for the push service operator
    ttl_seconds: int
    timeout: float
    max_payload_bytes: int
    allow_private: bool


class PushChannel:
    name = "push"

    def __init__(
        self,
        key: ec.EllipticCurvePrivateKey,
        config: PushConfig,
        subscriptions: Callable[[Sequence[str]], dict[str, list[Subscription]]],
        expire: Callable[[str, str], None],
    ) -> None:
        self._vapid = Vapid02(key)
        self._public = public_key_b64(key)
        self._config = config
        self._subscriptions = subscriptions
        self._expire = expire
        self._tokens: dict[str, tuple[float, str]] = {}
        self._lock = threading.Lock()
        # No redirects: a push service does not redirect, and a redirect must not reach a private host.
        self._client = httpx.Client(timeout=config.timeout, follow_redirects=False)

    @property
    def public_key(self) -> str:
        return self._public

    def payload(self, item: Outgoing) -> bytes:
        """What the service worker receives: JSON with title, body, a URL to open and our id."""
        body: dict[str, Any] = {
            "title": item.subject or "",
            "body": item.text,
            "messageId": item.message_id,
        }
        url = item.data.get("url") or item.options.get("url")
        if isinstance(url, str):
            body["url"] = url
        raw = orjson.dumps(body)
        if len(raw) > self._config.max_payload_bytes:
            raise PermanentFailure(
                f"push payload is {len(raw)} bytes, more than the limit of {self._config.max_payload_bytes}"
            )
        return raw

    def authorization(self, endpoint: str) -> str:
        """The VAPID header for the endpoint's push service (one JWT per origin, reused for hours)."""
        parts = urlsplit(endpoint)
        audience = f"{parts.scheme}://{parts.netloc}"
        now = time.time()
        with self._lock:
            cached = self._tokens.get(audience)
            if cached is not None and now - cached[0] < _JWT_RENEW_SECONDS:
                return cached[1]
            claims = {"aud": audience, "exp": int(now) + _JWT_SECONDS, "sub": self._config.subject}
            header = str(self._vapid.sign(claims)["Authorization"])
            self._tokens[audience] = (now, header)
            return header

    def send_batch(self, batch: Sequence[Outgoing]) -> list[SendResult | Exception]:
        try:
            found = self._subscriptions(sorted({item.profile_id for item in batch}))
        except Exception as exc:  # the database is away: try the batch again later
            return [TransientFailure(f"push subscriptions not readable: {exc}") for _ in batch]
        return one_by_one(lambda item: self.send(item, found.get(item.profile_id, [])), batch)

    def send(self, item: Outgoing, subscriptions: list[Subscription]) -> SendResult:
        if not subscriptions:
            raise PermanentFailure("no active push subscription")
        payload = self.payload(item)
        accepted: list[str] = []
        transient: list[str] = []
        refused: list[str] = []
        for sub in subscriptions:
            try:
                accepted.append(self._post(item, sub, payload))
            except TransientFailure as exc:
                transient.append(str(exc))
            except PermanentFailure as exc:
                refused.append(str(exc))
        if accepted:
            return SendResult(provider_id=accepted[0], status=Status.SENT)
        if transient:
            raise TransientFailure("; ".join(transient))
        raise PermanentFailure("; ".join(refused))

    def _post(self, item: Outgoing, sub: Subscription, payload: bytes) -> str:
        check_destination(sub.endpoint, self._config.allow_private, kind="push")
        try:
            body = http_ece.encrypt(
                payload,
                salt=os.urandom(16),
                private_key=ec.generate_private_key(ec.SECP256R1()),
                dh=b64url_decode(sub.p256dh),
                auth_secret=b64url_decode(sub.auth),
                version="aes128gcm",
            )
        except Exception as exc:  # keys the browser never made: this subscription cannot work
            self._expire(sub.id, "invalid_keys")
            raise PermanentFailure(f"push subscription keys are not usable: {exc}") from None
        headers = {
            "TTL": str(self._config.ttl_seconds),
            "Content-Encoding": "aes128gcm",
            "Content-Type": "application/octet-stream",
            "Urgency": "normal" if item.marketing else "high",
            "Authorization": self.authorization(sub.endpoint),
        }
        try:
            response = self._client.post(sub.endpoint, content=body, headers=headers)
        except httpx.HTTPError as exc:
            raise TransientFailure(f"push service: {type(exc).__name__}: {exc}") from None
        status = response.status_code
        if status in (404, 410):
            self._expire(sub.id, f"gone_{status}")
            raise PermanentFailure(f"push subscription is gone ({status})")
        if status == 429 or status >= 500:
            raise TransientFailure(f"push service answered {status}: {response.text[:200]}")
        if status >= 300:
            raise PermanentFailure(f"push service refused ({status}): {response.text[:200]}")
        return response.headers.get("location") or sub.id

    def close(self) -> None:
        self._client.close()
