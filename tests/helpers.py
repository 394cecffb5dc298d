"""Small helpers shared by the HTTP tests: the read API, error-shape checks, time parsing."""

from __future__ import annotations

import gzip
import time
from datetime import UTC, datetime
from typing import Any

import httpx
import orjson


def settle_after_server_error(response: httpx.Response) -> None:
    """After a 5xx, give the server thread time to finish logging its traceback.

    Python 3.11 formats tracebacks with ``ast.parse``, which is not safe to run in two threads at once:
    the server logging its error while pytest reports the failed test can abort the whole run with
    "SystemError: AST constructor recursion depth mismatch" instead of reporting the failure.
    """
    if response.status_code >= 500:
        time.sleep(1.0)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def parse_time(value: str | None) -> datetime | None:
    """An ISO 8601 time from the API (``Z`` for UTC) as an aware datetime."""
    if value is None:
        return None
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    assert parsed.tzinfo is not None, f"the API gave a naive time: {value!r}"
    return parsed.astimezone(UTC)


def iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def assert_error(
    response: httpx.Response, status: int, code: str, field: str | None = None
) -> dict[str, Any]:
    """The response is an error with this status and code, in the {"error": {code, message}} shape.

    With ``field`` the error must name it, in the ``field`` member and in the message.
    """
    assert response.status_code == status, (
        f"expected {status} {code}, got {response.status_code}: {response.text}"
    )
    assert response.headers["content-type"].startswith("application/json"), response.headers
    body = response.json()
    error = body["error"]
    # /v1 answers also carry code and message at the top level, where the tracking clients read them
    assert set(body) <= {"error", "code", "message"}, body
    if "code" in body or "message" in body:
        assert response.request.url.path.startswith("/v1/"), body
        assert (body["code"], body["message"]) == (error["code"], error["message"]), body
    assert error["code"] == code, body
    assert isinstance(error["message"], str), body
    assert error["message"].strip(), body
    if field is not None:
        assert error.get("field") == field, body
        assert field in error["message"], f"the message does not name {field!r}: {error['message']!r}"
    return error


def lookup(http: httpx.Client, token: str, identifier_type: str, value: str) -> dict[str, Any]:
    """The live profile of an identifier; fails the test when there is none."""
    response = http.get(
        "/api/profiles/lookup", params={"type": identifier_type, "value": value}, headers=bearer(token)
    )
    assert response.status_code == 200, f"lookup {identifier_type}={value!r}: {response.text}"
    profile: dict[str, Any] = response.json()
    return profile


def lookup_status(http: httpx.Client, token: str, identifier_type: str, value: str) -> int:
    response = http.get(
        "/api/profiles/lookup", params={"type": identifier_type, "value": value}, headers=bearer(token)
    )
    return response.status_code


def profile(http: httpx.Client, token: str, profile_id: str) -> dict[str, Any]:
    response = http.get(f"/api/profiles/{profile_id}", headers=bearer(token))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def timeline_page(http: httpx.Client, token: str, profile_id: str, **params: Any) -> dict[str, Any]:
    response = http.get(f"/api/profiles/{profile_id}/events", params=params, headers=bearer(token))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def timeline(
    http: httpx.Client, token: str, profile_id: str, *, limit: int = 500, **params: Any
) -> list[dict[str, Any]]:
    """Every event of a profile (all pages), newest first."""
    events: list[dict[str, Any]] = []
    cursor: str | None = None
    for _ in range(1000):
        query = dict(params, limit=limit)
        if cursor:
            query["cursor"] = cursor
        page = timeline_page(http, token, profile_id, **query)
        events.extend(page["events"])
        cursor = page["next_cursor"]
        if not cursor:
            return events
    raise AssertionError("the timeline did not end after 1000 pages")


def gzipped(payload: Any) -> bytes:
    return gzip.compress(orjson.dumps(payload))


def wait_processed(hub: Any, seconds: float = 60) -> None:
    """Wait until every event-log processor of ``hub`` has handled every committed event (events
    written by another process, a CLI run say, reach them through the database a moment later)."""
    deadline = time.monotonic() + seconds
    while any(hub.eventlog.behind(p.name) for p in hub.processors):
        hub.runner.wake()
        assert time.monotonic() < deadline, "the event-log processors are behind"
        time.sleep(0.05)
