"""Request bodies have a limit per kind of route, enforced while they arrive: past it the answer is
413 with the JSON error, by the declared length at once, and for a body sent in chunks without a
length as soon as the bytes received pass it (the rest is never read). /v1 keeps its own limits."""

from __future__ import annotations

import select
import socket
from pathlib import Path
from typing import Any

import httpx
import pytest

from omnikanal.settings import Settings
from tests.conftest import LiveServer
from tests.helpers import assert_error, bearer

LIMIT = 4096
LIMITS = {
    "api_max_body_bytes": LIMIT,
    "console_max_form_bytes": LIMIT,
    "callback_max_body_bytes": LIMIT,
    "public_form_max_bytes": LIMIT,
}
ROUTES = [
    "/api/profiles/prof_x/consents",
    "/api/segments/preview",
    "/console/login",
    "/console/customers/prof_x/consents",
    "/callbacks/twilio/status",
    "/callbacks/email-reports",
    "/preferences/some-token",
    "/confirm/some-token",
]


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(database_url=database_url, data_dir=tmp_path, auto_migrate=False, **LIMITS)


@pytest.mark.parametrize("path", ROUTES)
def test_a_declared_body_past_the_limit_is_413_with_the_json_error(
    http: httpx.Client, admin_token: str, path: str
) -> None:
    response = http.post(path, content=b"a" * (LIMIT + 1), headers=bearer(admin_token))
    error = assert_error(response, 413, "body_too_large", "body")
    assert str(LIMIT) in error["message"]
    at_limit = http.post(path, content=b"a" * LIMIT, headers=bearer(admin_token))
    assert at_limit.status_code != 413, at_limit.text


def _chunked(live_server: LiveServer, path: str, total: int) -> tuple[int, bytes]:
    """POST a body in 16 KiB chunks without a length; stop when the server answers.
    Returns the bytes sent and the answer."""
    chunk = b"a" * 16384
    sent = 0
    with socket.create_connection(("127.0.0.1", live_server.port), timeout=10) as sock:
        sock.sendall(
            f"POST {path} HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n"
            "Content-Type: application/json\r\n\r\n".encode()
        )
        try:
            while sent < total:
                sock.sendall(b"4000\r\n" + chunk + b"\r\n")
                sent += len(chunk)
                if select.select([sock], [], [], 0)[0]:
                    break
        except (BrokenPipeError, ConnectionResetError, TimeoutError):
            pass  # the server stopped reading and closed: its answer waits in the socket
        answer = b""
        try:
            while b"\r\n\r\n" not in answer:
                part = sock.recv(65536)
                if not part:
                    break
                answer += part
        except (ConnectionResetError, TimeoutError):
            pass
    return sent, answer


@pytest.mark.parametrize("path", ["/api/segments/preview", "/console/login", "/callbacks/twilio/status"])
def test_a_body_without_a_length_is_refused_once_it_passes_the_limit(
    live_server: LiveServer, path: str
) -> None:
    total = 64 * 1024 * 1024
    sent, answer = _chunked(live_server, path, total)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    # the server answered without waiting for the rest: the body was not read whole
    assert sent < total


def test_the_tracking_api_keeps_its_own_limits(http: httpx.Client, make_channel: Any) -> None:
    key = make_channel("shop", "web").write_key
    # larger than every limit above, within Segment's 32 KB per event
    event = {"userId": "u-1", "event": "Viewed", "properties": {"text": "x" * (LIMIT * 4)}}
    assert http.post("/v1/track", json=event, auth=(key, "")).status_code == 200
