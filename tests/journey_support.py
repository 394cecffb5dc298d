"""Journey fixtures (for tests/integration/journeys and the e2e tests): a hub on a clock the test
moves, a real HTTP server, real SMTP and webhook peers, and a World that drives the processors, the
timer worker and the dispatcher step by step."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from omnikanal.clock import FixedClock
from omnikanal.db.engine import read_tx
from omnikanal.hub import Hub, build_hub
from omnikanal.journeys.jobs import PROCESSOR
from omnikanal.journeys.tables import journey_runs, journey_steps, journey_timers
from omnikanal.messaging.tables import messages
from omnikanal.settings import Settings
from tests.conftest import LiveServer
from tests.helpers import bearer, iso, settle_after_server_error
from tests.integration.messaging.support import SmtpSink, WebhookReceiver

# A Wednesday, 12:00 in Berlin (CEST): inside everybody's sending hours.
START = datetime(2026, 6, 10, 10, 0, tzinfo=UTC)


@dataclass
class World:
    hub: Hub
    clock: FixedClock
    http: httpx.Client
    token: str
    smtp: SmtpSink
    hooks: WebhookReceiver
    web: tuple[str, str]
    app: tuple[str, str]
    sent: list[str] = field(default_factory=list)

    # --- events

    def track(self, user: str, event: str, auth: tuple[str, str] | None = None, **properties: Any) -> None:
        self.send(
            auth or self.web, {"type": "track", "userId": user, "event": event, "properties": properties}
        )

    def identify(self, user: str, **traits: Any) -> str:
        self.send(self.web, {"type": "identify", "userId": user, "traits": traits})
        return self.pid(user)

    def send(self, auth: tuple[str, str], *items: dict[str, Any]) -> None:
        stamped = [{"timestamp": iso(self.clock.now()), **item} for item in items]
        response = self.http.post("/v1/batch", json={"batch": stamped}, auth=auth)
        assert response.status_code == 200, response.text
        assert response.json()["accepted"] == len(items), response.text
        self.process()

    def process(self) -> None:
        """Hand every committed event to the processors (segments, then journeys), as the runner would.

        On PostgreSQL the log hands out a transaction's events once no older transaction runs, so this
        waits until the journeys processor's cursor has passed every stored event.
        """
        deadline = time.monotonic() + 10
        while True:
            self.hub.runner.run_once()
            behind = self.hub.eventlog.behind(PROCESSOR)
            if behind == 0:
                return
            assert time.monotonic() < deadline, f"the journeys processor is {behind} events behind"
            time.sleep(0.01)

    # --- time

    def advance(self, delta: timedelta) -> int:
        """Move the clock, fire what became due, and process what that caused."""
        self.clock.advance(delta)
        fired = self.hub.journey_worker.run_until_done()
        self.process()
        return fired

    def dispatch(self) -> int:
        return self.hub.dispatcher.run_once()

    # --- HTTP

    def pid(self, user: str) -> str:
        response = self.http.get(
            "/api/profiles/lookup", params={"type": "user_id", "value": user}, headers=bearer(self.token)
        )
        assert response.status_code == 200, response.text
        return str(response.json()["id"])

    def get(self, path: str, status: int = 200, **params: Any) -> Any:
        response = self.http.get(path, params=params, headers=bearer(self.token))
        assert response.status_code == status, response.text
        return response.json()

    def post(self, path: str, body: Any = None, status: int = 200, **kwargs: Any) -> Any:
        response = self.http.post(path, json=body, headers=bearer(self.token), **kwargs)
        assert response.status_code == status, response.text
        return response.json()

    def put(self, path: str, body: Any, status: int = 200) -> Any:
        response = self.http.put(path, json=body, headers=bearer(self.token))
        assert response.status_code == status, response.text
        return response.json()

    def journey(self, document: dict[str, Any], *, activate: bool = True) -> str:
        created = self.post("/api/journeys", document, 201)
        if activate:
            self.post(f"/api/journeys/{created['id']}/activate")
        return str(created["id"])

    def template(self, name: str, channel: str, text: str, subject: str | None = "Hallo") -> None:
        body = {"name": name, "channel": channel, "locale": "de", "body_text": text}
        if channel == "email":
            body["subject"] = subject
        self.post("/api/messaging/templates", body, 201)

    def consent(self, pid: str, purpose: str) -> None:
        self.post(
            f"/api/profiles/{pid}/consents",
            {
                "changes": [
                    {
                        "purpose": purpose,
                        "status": "granted",
                        "proof": {"confirmed_at": iso(self.clock.now())},
                    }
                ]
            },
            201,
        )

    # --- reading state

    def runs(self, journey_id: str, **params: Any) -> list[dict[str, Any]]:
        return list(self.get(f"/api/journeys/{journey_id}/runs", **params)["runs"])

    def steps(self, journey_id: str, run_id: str) -> list[dict[str, Any]]:
        return list(self.get(f"/api/journeys/{journey_id}/runs/{run_id}/steps")["steps"])

    def messages_of(self, pid: str) -> list[Any]:
        with read_tx(self.hub.engine) as conn:
            return list(
                conn.execute(
                    select(messages).where(messages.c.profile_id == pid).order_by(messages.c.created_at)
                )
            )

    def timers(self) -> int:
        with read_tx(self.hub.engine) as conn:
            return int(conn.execute(select(func.count()).select_from(journey_timers)).scalar_one())

    def step_rows(self) -> int:
        with read_tx(self.hub.engine) as conn:
            return int(conn.execute(select(func.count()).select_from(journey_steps)).scalar_one())

    def run_rows(self) -> list[Any]:
        with read_tx(self.hub.engine) as conn:
            return list(conn.execute(select(journey_runs)))


@pytest.fixture
def journey_settings(database_url: str, tmp_path: Path, smtp: SmtpSink, hooks: WebhookReceiver) -> Settings:
    return Settings(
        database_url=database_url,
        data_dir=tmp_path,
        auto_migrate=False,
        secret_key="journeys-test-secret",
        smtp_url=smtp.url,
        smtp_from="Omnikanal Shop <shop@example.org>",
        webhook_url=hooks.url,
        webhook_allow_private=True,
        webhook_secret="whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        # the tests drive every background job themselves
        messaging_poll_seconds=0.0,
        messaging_dispatch_inline=False,
        journey_worker_poll_seconds=0.0,
        journey_date_scan_seconds=0.0,
        segment_recheck_seconds=0.0,
        segment_batch_recheck_seconds=0.0,
    )


@pytest.fixture(name="world")
def world_fixture(journey_settings: Settings, smtp: SmtpSink, hooks: WebhookReceiver) -> Iterator[World]:
    clock = FixedClock(START)
    hub = build_hub(journey_settings, clock)
    hub.writer.start()
    hub.audit.start()
    server = LiveServer(hub)
    server.start()
    web = hub.sources.create("shop", "web")[1]
    app = hub.sources.create("app", "app")[1]
    token = hub.tokens.create("marketing", "admin")[1]
    with httpx.Client(base_url=server.url, timeout=30) as client:
        client.event_hooks["response"].append(settle_after_server_error)
        yield World(hub, clock, client, token, smtp, hooks, (web, ""), (app, ""))
    server.stop()
    hub.close()
