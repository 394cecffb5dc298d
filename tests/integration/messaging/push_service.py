"""A push service for the tests: the receiving side of Web Push, as a browser vendor runs it.

It plays the browser too: ``subscribe`` makes a subscription the way ``pushManager.subscribe``
does (a P-256 key pair and a 16-byte auth secret, an endpoint URL on this server). A request to an
endpoint is checked as a push service and a browser would: the VAPID JWT (RFC 8292) is verified
against the application server key the subscription was made with, its audience and expiry
checked; the aes128gcm payload (RFC 8291) is decrypted with the subscription's private key.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import http_ece
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class BrowserSubscription:
    token: str
    endpoint: str
    application_server_key: str  # the VAPID public key the browser subscribed with
    key: ec.EllipticCurvePrivateKey
    auth: bytes

    def as_json(self) -> dict[str, Any]:
        """What PushSubscription.toJSON() gives a website."""
        point = self.key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return {
            "endpoint": self.endpoint,
            "expirationTime": None,
            "keys": {"p256dh": b64url(point), "auth": b64url(self.auth)},
        }


@dataclass
class Delivery:
    token: str
    headers: dict[str, str]
    claims: dict[str, Any]
    payload: dict[str, Any]


@dataclass
class Refusal:
    token: str
    reason: str


@dataclass
class PushServiceState:
    subscriptions: dict[str, BrowserSubscription] = field(default_factory=dict)
    delivered: list[Delivery] = field(default_factory=list)
    refused: list[Refusal] = field(default_factory=list)
    answers: list[int] = field(default_factory=list)  # statuses to answer next, in order; then 201


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        service: FakePushService = self.server.owner  # type: ignore[attr-defined]
        body = self.rfile.read(int(self.headers.get("content-length", "0")))
        token = self.path.rsplit("/", 1)[-1]
        status, reason = service.receive(token, {k.lower(): v for k, v in self.headers.items()}, body)
        self.send_response(status)
        if status == 201:
            self.send_header("location", f"{service.url}/message/{secrets.token_hex(8)}")
        data = reason.encode()
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class FakePushService:
    def __init__(self) -> None:
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.httpd.daemon_threads = True
        self.httpd.owner = self  # type: ignore[attr-defined]
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.state = PushServiceState()
        self.lock = threading.Lock()
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def subscribe(self, application_server_key: str) -> BrowserSubscription:
        token = secrets.token_hex(8)
        sub = BrowserSubscription(
            token,
            f"{self.url}/push/{token}",
            application_server_key,
            ec.generate_private_key(ec.SECP256R1()),
            os.urandom(16),
        )
        with self.lock:
            self.state.subscriptions[token] = sub
        return sub

    def receive(self, token: str, headers: dict[str, str], body: bytes) -> tuple[int, str]:
        with self.lock:
            sub = self.state.subscriptions.get(token)
            answer = self.state.answers.pop(0) if self.state.answers else 201
        if sub is None:
            return 404, "no such subscription"
        try:
            claims = self._check(sub, headers)
            if headers.get("content-encoding") != "aes128gcm":
                raise ValueError("Content-Encoding must be aes128gcm")
            plain = http_ece.decrypt(body, private_key=sub.key, auth_secret=sub.auth, version="aes128gcm")
            payload = json.loads(plain)
        except (ValueError, KeyError, InvalidSignature) as exc:
            with self.lock:
                self.state.refused.append(Refusal(token, f"{type(exc).__name__}: {exc}"))
            return 400, str(exc)
        if answer == 201:
            with self.lock:
                self.state.delivered.append(Delivery(token, headers, claims, payload))
        return answer, ""

    def _check(self, sub: BrowserSubscription, headers: dict[str, str]) -> dict[str, Any]:
        """The VAPID authorisation: ``vapid t=<JWT>,k=<public key>`` (RFC 8292 section 3)."""
        scheme, _, params = headers["authorization"].partition(" ")
        if scheme.lower() != "vapid":
            raise ValueError("the Authorization scheme must be vapid")
        parts = dict(item.strip().split("=", 1) for item in params.split(","))
        if parts["k"] != sub.application_server_key:
            raise ValueError("k is not the key the subscription was made with")
        if "ttl" not in headers:
            raise ValueError("TTL is required (RFC 8030 section 5.2)")
        head, claims_b64, signature_b64 = parts["t"].split(".")
        header = json.loads(unb64url(head))
        if header.get("alg") != "ES256":
            raise ValueError("the JWT must be ES256")
        raw = unb64url(signature_b64)
        if len(raw) != 64:
            raise ValueError("an ES256 signature is 64 bytes (r || s)")
        signature = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
        public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), unb64url(parts["k"]))
        public.verify(signature, f"{head}.{claims_b64}".encode(), ec.ECDSA(hashes.SHA256()))
        claims: dict[str, Any] = json.loads(unb64url(claims_b64))
        if claims["aud"] != self.url:
            raise ValueError(f"aud must be the push service's origin, not {claims['aud']}")
        if not 0 < claims["exp"] - time.time() <= 24 * 3600:
            raise ValueError("exp must be in the next 24 hours")
        if not str(claims["sub"]).startswith(("mailto:", "https:")):
            raise ValueError("sub must be a mailto: or https: contact")
        return claims
