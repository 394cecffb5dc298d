"""A hub with a clock the tests set, a live server, three sources, and helpers to send and settle."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx

from omnikanal.analytics.jobs import PROCESSOR
from omnikanal.clock import FixedClock
from omnikanal.hub import Hub, build_hub
from omnikanal.settings import Settings
from tests.conftest import utc
from tests.helpers import bearer, iso, settle_after_server_error
from tests.live_server import LiveServer

NOW = utc(2026, 11, 20, 12)


@dataclass
class World:
    hub: Hub
    clock: FixedClock
    http: httpx.Client
    token: str
    web: tuple[str, str]
    app: tuple[str, str]
    till: tuple[str, str]

    def send(self, auth: tuple[str, str], *items: dict[str, Any]) -> None:
        response = self.http.post("/v1/batch", json={"batch": list(items)}, auth=auth)
        assert response.status_code == 200, response.text
        self.process()

    def process(self) -> None:
        """Hand every stored event to the processors, then refresh the columnar copy."""
        deadline = time.monotonic() + 15
        while True:
            self.hub.runner.run_once()
            if self.hub.eventlog.behind(PROCESSOR) == 0:
                break
            assert time.monotonic() < deadline, "the analytics processor fell behind"
            time.sleep(0.01)
        self.hub.analytics.refresh()

    def get(self, path: str, status: int = 200, **params: Any) -> Any:
        response = self.http.get(path, params=params, headers=bearer(self.token))
        assert response.status_code == status, response.text
        return response.json()

    def post_csv(self, text: str, status: int = 200, name: str = "costs.csv") -> Any:
        headers = {**bearer(self.token), "Content-Type": "text/csv"}
        response = self.http.post(
            "/api/analytics/costs", params={"name": name}, content=text, headers=headers
        )
        assert response.status_code == status, response.text
        return response.json()


def at(days_ago: float) -> str:
    return iso(NOW - timedelta(days=days_ago))


def event(kind: str, user: str | None, days_ago: float, **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"type": kind, "timestamp": at(days_ago), **fields}
    if user is not None:
        body["userId"] = user
    return body


def order(user: str, days_ago: float, order_id: str, revenue: float, **fields: Any) -> dict[str, Any]:
    properties = {"order_id": order_id, "revenue": revenue, "currency": "EUR"}
    return event("track", user, days_ago, event="Order Completed", properties=properties, **fields)


def refund(user: str, days_ago: float, order_id: str, total: float) -> dict[str, Any]:
    properties = {"order_id": order_id, "total": total, "currency": "EUR"}
    return event("track", user, days_ago, event="Order Refunded", properties=properties)


def make_world(settings: Settings, **overrides: Any) -> Iterator[World]:
    clock = FixedClock(NOW)
    changes = {
        "analytics_refresh_seconds": 0,
        "analytics_campaign_codes": {"RADIO": "radio-ffh/radio/autumn"},
        **overrides,
    }
    hub = build_hub(settings.model_copy(update=changes), clock)
    hub.writer.start()
    hub.audit.start()
    server = LiveServer(hub)
    server.start()
    web, app, till = (
        hub.sources.create(n, c)[1] for n, c in (("shop", "web"), ("app", "app"), ("till", "pos"))
    )
    token = hub.tokens.create("marketing", "marketing")[1]
    try:
        with httpx.Client(base_url=server.url, timeout=30) as client:
            client.event_hooks["response"].append(settle_after_server_error)
            yield World(hub, clock, client, token, (web, ""), (app, ""), (till, ""))
    finally:
        server.stop()
        hub.close()


def since_until() -> dict[str, str]:
    return {"since": "2026-10-21", "until": "2026-11-21"}


def moment(days_ago: float) -> datetime:
    return NOW - timedelta(days=days_ago)
