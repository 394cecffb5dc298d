"""The SLA clock stops while a case waits for the customer and runs on at their answer, and a
store's queue counts the store's opening hours (as commerce keeps them), on both engines."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx

from omnikanal.clock import FixedClock
from omnikanal.commerce.model import LocationIn
from omnikanal.hub import Hub
from tests.integration.messaging.support import bearer, customer


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def test_waiting_for_the_customer_stops_the_clock(hub: Hub, http: httpx.Client, admin_token: str) -> None:
    clock = hub.clock
    assert isinstance(clock, FixedClock)
    pid = customer(hub, "u-pause", email="pause@example.org")
    opened = http.post(
        "/api/service/cases",
        json={"profile_id": pid, "subject": "Rechnung", "priority": "high"},  # resolution: 16 h
        headers=bearer(admin_token),
    ).json()
    due = opened["sla"]["resolution"]["due"]
    clock.advance(timedelta(hours=1))
    answered = http.post(
        f"/api/service/cases/{opened['id']}/replies",
        json={"text": "Welche Nummer?"},
        headers=bearer(admin_token),
    ).json()
    assert answered["status"] == "waiting_customer"
    assert answered["sla"]["paused_since"] == _iso(clock.now())

    # Wednesday 13:00 to Thursday 13:00 in Berlin: ten business hours pass while she is away
    clock.advance(timedelta(days=1))
    mail_like = hub.service.desk.set_status(opened["id"], "open", "test")
    assert mail_like["sla"]["paused_since"] is None
    assert mail_like["sla"]["paused_hours"] == 10.0
    moved = datetime.fromisoformat(mail_like["sla"]["resolution"]["due"].replace("Z", "+00:00"))
    before = datetime.fromisoformat(due.replace("Z", "+00:00"))
    assert moved > before  # the promise moved on by the ten hours waited
    assert mail_like["sla"]["resolution"]["state"] == "ok"


def test_a_store_queue_counts_the_store_opening_hours(hub: Hub, http: httpx.Client, admin_token: str) -> None:
    hub.commerce.catalogue.save_location(
        LocationIn(
            id="b01",
            kind="store",
            name="Berlin Mitte",
            opening_hours={"wed": [("12:00", "14:00")], "thu": [("10:00", "20:00")]},
        )
    )
    pid = customer(hub, "u-laden", email="laden@example.org")
    response = http.post(
        "/api/service/cases",
        json={"profile_id": pid, "subject": "Umtausch", "queue": "store:b01", "priority": "urgent"},
        headers=bearer(admin_token),
    )
    assert response.status_code == 201, response.text
    case = response.json()
    # opened Wednesday 12:00 Berlin; urgent resolution in 8 business hours: 2 on Wednesday, 6 on
    # Thursday from 10:00, so due Thursday 16:00 Berlin (15:00 UTC)
    assert case["sla"]["resolution"]["due"] == "2026-12-03T15:00:00Z"
    # the hotline keeps the default hours (08:00-18:00): due Thursday 10:00 Berlin
    other = http.post(
        "/api/service/cases",
        json={"profile_id": pid, "subject": "Frage", "queue": "hotline", "priority": "urgent"},
        headers=bearer(admin_token),
    ).json()
    assert other["sla"]["resolution"]["due"] == "2026-12-03T09:00:00Z"
