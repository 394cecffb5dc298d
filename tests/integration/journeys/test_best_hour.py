"""A journey's send step at the customer's best hour, on SQLite and PostgreSQL: the message waits
for the hour the customer is most active in their own time zone; a bad value names its place."""

from __future__ import annotations

from datetime import UTC, datetime

from tests.helpers import bearer, iso, wait_processed
from tests.integration.journeys.test_engine import api_journey, customer
from tests.journey_support import World

AT_BEST_HOUR = api_journey(
    {
        "id": "news",
        "send": {
            "channel": "email",
            "template": "news",
            "purpose": "email_marketing",
            "send_at": "best_hour",
        },
    },
    name="news at the best hour",
)


def test_a_send_step_at_the_best_hour_waits_for_the_customers_hour(world: World) -> None:
    world.template("news", "email", "Neu im Markt")
    pid = customer(world, "tomo", timezone="Asia/Tokyo")
    world.consent(pid, "personalisation")
    # active at 21:30 in Tokyo (12:30 UTC) on five evenings
    views = [
        {
            "type": "track",
            "userId": "tomo",
            "event": "Product Viewed",
            "properties": {"sku": "PAINT-1"},
            "timestamp": iso(datetime(2026, 6, day, 12, 30, tzinfo=UTC)),
        }
        for day in range(1, 6)
    ]
    world.send(world.web, *views)
    wait_processed(world.hub)
    journey_id = world.journey(AT_BEST_HOUR)
    assert world.post(f"/api/journeys/{journey_id}/entries", {"profile_id": pid})["entered"]
    world.process()
    [message] = world.messages_of(pid)
    # the clock says 19:00 in Tokyo: 21:00 is today, 12:00 UTC
    assert message.due_at == datetime(2026, 6, 10, 12, 0, tzinfo=UTC)
    assert message.options["send_time"]["hour"] == 21
    assert message.options["send_time"]["timezone"] == "Asia/Tokyo"
    # the step's channel is asked for; with no email reactions her hour over all channels holds
    assert message.options["send_time"]["channel"] == "email"
    assert message.options["send_time"]["basis"] == "all_channels"
    assert world.dispatch() == 0  # not due yet


def test_a_send_at_other_than_best_hour_is_refused_with_its_place(world: World) -> None:
    document = api_journey(
        {"id": "news", "send": {"channel": "email", "template": "news", "send_at": "noon"}}
    )
    response = world.http.post("/api/journeys", json=document, headers=bearer(world.token))
    assert response.status_code == 400, response.text
    assert response.json()["error"]["field"] == "/steps/0/send/send_at"
