"""Inputs that once gave a 500, and background threads that must survive failures."""

from __future__ import annotations

import base64
import time
from collections.abc import Sequence
from concurrent.futures import Future
from typing import Any

import httpx
import pytest
from sqlalchemy import Connection, delete, select

from omnikanal.audit.service import FLUSH_SECONDS
from omnikanal.audit.tables import access_log
from omnikanal.db.engine import read_tx, write_tx
from omnikanal.eventlog.tables import events
from omnikanal.hub import Hub
from omnikanal.ingest.service import IngestResult


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def seeded(hub: Hub, http: httpx.Client) -> str:
    key = hub.sources.create("web", "web")[1]
    r = http.post(
        "/v1/identify", json={"anonymousId": "a1", "traits": {"email": "x@example.de"}}, auth=(key, "")
    )
    assert r.status_code == 200
    return str(hub.profiles.lookup("anonymous_id", "a1")["id"])


def _probes(pid: str) -> list[tuple[str, str, dict[str, str] | None, dict[str, str] | None]]:
    forged = base64.urlsafe_b64encode(b"0001-01-01T00:00:00+14:00|5").decode().rstrip("=")
    return [
        ("GET", "/api/profiles/lookup", {"type": "x\x00", "value": "abc"}, None),
        ("GET", "/api/profiles/a%00b", None, None),
        ("GET", f"/api/profiles/{pid}/events", {"event": "a\x00"}, None),
        ("GET", f"/api/profiles/{pid}/events", {"since": "0001-01-01T00:00:00+01:00"}, None),
        ("GET", f"/api/profiles/{pid}/events", {"until": "9999-12-31T23:59:59-01:00"}, None),
        ("GET", f"/api/profiles/{pid}/events", {"cursor": forged}, None),
        ("GET", "/api/quarantine", {"before": "99999999999999999999"}, None),
        ("GET", "/api/quarantine", {"source": "a\x00"}, None),
        ("GET", "/api/sources/a%00b", None, None),
        ("POST", f"/api/profiles/{pid}/unmerge", None, {"merge_id": "m\x00"}),
    ]


@pytest.mark.parametrize("probe", range(10))
def test_odd_staff_api_input_is_a_400_naming_the_problem(
    http: httpx.Client, admin_token: str, seeded: str, probe: int
) -> None:
    method, path, params, body = _probes(seeded)[probe]
    response = http.request(method, path, params=params, json=body, headers=_bearer(admin_token))
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"]


def test_non_ascii_basic_credentials_are_a_400(http: httpx.Client, hub: Hub) -> None:
    response = http.post(
        "/v1/track",
        content=b'{"anonymousId":"a","event":"E"}',
        headers={"Authorization": b"Basic \xe9\xe9\xe9\xe9", "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_authorization"


def test_the_event_limit_counts_bytes_not_characters(http: httpx.Client, hub: Hub) -> None:
    key = hub.sources.create("web", "web")[1]
    # 20,000 euro signs are 20,000 characters but 60,000 bytes of UTF-8
    big = {"anonymousId": "a", "event": "E", "properties": {"s": "€" * 20000}}
    response = http.post("/v1/track", json=big, auth=(key, ""))
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "event_too_large"


def test_the_nil_uuid_is_a_junk_identifier(hub: Hub) -> None:
    source = hub.sources.create("app", "app")[0]
    result = hub.ingest.ingest(
        source,
        [{"type": "track", "anonymousId": "00000000-0000-0000-0000-000000000000", "event": "Screen Viewed"}],
    )
    assert [q.code for q in result.quarantined] == ["no_usable_identifier"]


def test_merges_quarantine_and_unsuccessful_lookups_are_audited(
    hub: Hub, http: httpx.Client, seeded: str
) -> None:
    token = hub.tokens.create("dpo-check", "admin")[1]
    http.get(f"/api/profiles/{seeded}/merges", headers=_bearer(token))
    http.get("/api/quarantine", headers=_bearer(token))
    miss = http.get(
        "/api/profiles/lookup", params={"type": "email", "value": "nobody@example.de"}, headers=_bearer(token)
    )
    assert miss.status_code == 404
    hub.audit.flush()
    with read_tx(hub.engine) as conn:
        rows = set(
            conn.execute(
                select(access_log.c.action, access_log.c.profile_id).where(
                    access_log.c.actor == "token:dpo-check"
                )
            ).all()
        )
    assert rows == {("profile.merges", seeded), ("quarantine.read", None), ("profile.lookup.miss", None)}


def test_the_audit_trail_keeps_its_rows_and_its_thread_when_a_write_fails(
    hub: Hub, caplog: pytest.LogCaptureFixture
) -> None:
    class Away:
        def connect(self) -> Any:
            raise RuntimeError("database away")

    engine = hub.audit._engine
    hub.audit._engine = Away()  # type: ignore[assignment]
    hub.audit.record("token:x", "profile.read", "p1")
    time.sleep(3 * FLUSH_SECONDS)  # the background flush fails at least once
    assert "writing the access log failed" in caplog.text
    hub.audit._engine = engine
    time.sleep(3 * FLUSH_SECONDS)  # and succeeds once the database is back
    with read_tx(hub.engine) as conn:
        actions = conn.execute(select(access_log.c.actor, access_log.c.profile_id)).all()
    assert actions == [("token:x", "p1")]


def test_the_writer_survives_a_waiter_that_gave_up(hub: Hub) -> None:
    source = hub.sources.create("web", "web")[0]
    gave_up = hub.writer.submit(
        hub.ingest.prepare(source, [{"type": "track", "anonymousId": "a", "event": "E1"}])
    )
    gave_up.cancel()
    later: Future[IngestResult] = hub.writer.submit(
        hub.ingest.prepare(source, [{"type": "track", "anonymousId": "a", "event": "E2"}])
    )
    assert later.result(timeout=20).accepted == 1


def test_sequence_numbers_are_never_reused_after_the_newest_events_are_deleted(hub: Hub) -> None:
    source = hub.sources.create("web", "web")[0]

    class Recorder:
        name = "seq-check"
        seen: list[str] = []  # noqa: RUF012

        def handle(self, conn: Connection, batch: Sequence[Any]) -> None:
            self.seen.extend(row.message_id for row in batch)

    recorder = Recorder()

    def drain_until(message_id: str) -> None:
        deadline = time.monotonic() + 20
        while message_id not in recorder.seen and time.monotonic() < deadline:
            if hub.eventlog.consume(recorder) == 0:
                time.sleep(0.05)

    for n in range(3):
        hub.ingest.ingest(source, [{"type": "track", "anonymousId": "a", "event": "E", "messageId": f"m{n}"}])
    drain_until("m2")
    with write_tx(hub.engine) as conn:  # an erasure removes the newest events
        conn.execute(delete(events).where(events.c.message_id == "m2"))
    hub.ingest.ingest(source, [{"type": "track", "anonymousId": "b", "event": "E", "messageId": "m3"}])
    drain_until("m3")
    assert recorder.seen == ["m0", "m1", "m2", "m3"]


def test_a_write_key_inside_an_event_is_never_stored(hub: Hub, http: httpx.Client) -> None:
    key = hub.sources.create("web", "web")[1]
    batch = {"batch": [{"type": "track", "anonymousId": "a", "event": "E", "writeKey": key}], "writeKey": key}
    assert http.post("/v1/batch", json=batch).status_code == 200
    assert http.post("/v1/track", json={"anonymousId": "a", "event": "F", "writeKey": key}).status_code == 200
    with read_tx(hub.engine) as conn:
        payloads = [str(p) for p in conn.execute(select(events.c.payload)).scalars()]
    assert len(payloads) == 2
    assert not [p for p in payloads if key in p]
