"""Journeys end to end over HTTP on SQLite and PostgreSQL, with a clock the tests move and real SMTP.

8. The right moment, not a bombardment: repeated browsing of one category without buying gets one
   message on the preferred consented channel, deferred out of the night, within the weekly cap.
   An abandoned cart, keyed by cart id, that exits when the order arrives.
   A review request N days after a click & collect pick-up.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from tests.commerce_helpers import receive, setup_shop
from tests.journey_support import World, journey_settings, world_fixture  # noqa: F401

SCENARIO_8 = {
    "all": [
        {
            "event": {
                "name": "Product Viewed",
                "where": [{"key": "category", "op": "eq", "value": "Werkzeug"}],
                "within_days": 14,
                "min": 3,
            }
        },
        {"not": {"event": {"name": "Order Completed", "within_days": 14}}},
        {"channels": {"min": 2, "within_days": 14}},
    ]
}

NUDGE_YAML = """
name: Werkzeug nudge
description: Scenario 8 - someone keeps looking at tools without buying
trigger:
  segment_entered: Werkzeug browsers
entry:
  reentry: cooldown
  cooldown: P30D
exit:
  - event: {name: Order Completed}
goal:
  event: {name: Order Completed}
  within: P14D
steps:
  - id: nudge
    send: {channel: auto, template: werkzeug-tipps, purpose: email_marketing}
"""


def view(world: World, user: str, auth: tuple[str, str]) -> None:
    world.track(user, "Product Viewed", auth, category="Werkzeug", sku="DRILL-18V-BLUE")


def test_scenario_8_one_message_on_the_preferred_consented_channel_not_at_night_within_the_cap(
    world: World,
) -> None:
    world.post(
        "/api/segments",
        {"name": "Werkzeug browsers", "description": "scenario 8", "condition": SCENARIO_8},
        201,
    )
    world.template("werkzeug-tipps", "email", "Hallo {{ traits.firstName }}, neue Werkzeug-Tipps für Sie.")
    world.template("werkzeug-tipps", "sms", "Neue Werkzeug-Tipps")
    response = world.http.post(
        "/api/journeys",
        content=NUDGE_YAML,
        headers={"Authorization": f"Bearer {world.token}", "Content-Type": "application/yaml"},
    )
    assert response.status_code == 201, response.text
    journey_id = response.json()["id"]
    world.post(f"/api/journeys/{journey_id}/activate")

    # Anna prefers email, has consented to email and SMS; Max has already had three marketing mails
    # this week (the cap across channels is 3 per 7 days).
    anna = world.identify(
        "anna", email="anna@example.org", phone="+4917011111", firstName="Anna", preferredChannel="email"
    )
    max_ = world.identify("max", email="max@example.org", firstName="Max")
    for pid in (anna, max_):
        world.consent(pid, "email_marketing")
    world.consent(anna, "sms_marketing")
    for i in range(3):
        world.post(
            "/api/messages",
            {
                "profile_id": max_,
                "channel": "email",
                "purpose": "email_marketing",
                "content": {"subject": f"News {i}", "text": "Neuigkeiten"},
            },
            201,
        )
    assert world.dispatch() == 3

    # 23:00 in Berlin: both look at drills again and again, on the web and in the app.
    world.clock.advance(timedelta(hours=11))
    for user in ("anna", "max"):
        view(world, user, world.web)
        view(world, user, world.app)
        assert world.runs(journey_id) == [] or user == "max"
        view(world, user, world.web)
    runs = {r["profile_id"]: r for r in world.runs(journey_id)}
    assert set(runs) == {anna, max_}
    [anna_message] = world.messages_of(anna)
    assert anna_message.status == "queued"

    # Not at night: the gate defers to 08:00 local.
    world.dispatch()
    assert world.smtp.to("anna@example.org") == []
    deferred = world.get(f"/api/messages/{anna_message.id}")
    assert deferred["status"] == "deferred"
    assert deferred["reason"] == "quiet_hours"
    world.clock.advance(timedelta(hours=9))  # 08:00 in Berlin
    world.dispatch()
    sent = world.get(f"/api/messages/{anna_message.id}")
    assert (sent["status"], sent["channel"]) == ("sent", "email")  # her preferred, consented channel
    [mail] = world.smtp.to("anna@example.org")
    assert "Werkzeug-Tipps" in mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]

    # Max is over the weekly cap: his message is held back, never sent.
    [max_message] = [m for m in world.messages_of(max_) if m.template == "werkzeug-tipps"]
    assert world.get(f"/api/messages/{max_message.id}")["reason"] == "frequency_cap"
    assert len(world.smtp.to("max@example.org")) == 3

    # Once: more browsing (still in the segment, or leaving and coming back) sends nothing more.
    for _ in range(3):
        view(world, "anna", world.app)
    world.clock.advance(timedelta(days=15))
    world.hub.segment_recheck.run_until_done()
    world.process()
    view(world, "anna", world.web)
    view(world, "anna", world.app)
    view(world, "anna", world.web)
    assert [m.template for m in world.messages_of(anna)] == ["werkzeug-tipps"]
    stats = world.get(f"/api/journeys/{journey_id}/stats")
    [version] = stats["versions"]
    assert version["entered"] == 2
    assert version["messages"]["email"]["sent"] == 1


def test_abandoned_cart_keyed_by_cart_id_exits_when_the_order_arrives(world: World) -> None:
    world.template("cart-reminder", "email", "Ihr Warenkorb {{ data.cart_id }} wartet auf Sie.")
    journey_id = world.journey(
        {
            "name": "abandoned cart",
            "trigger": {"event": {"name": "Product Added"}},
            "entry": {"key": "cart_id", "reentry": "after_exit"},
            "exit": [{"event": {"name": "Order Completed"}}],
            "goal": {"event": {"name": "Order Completed"}, "within": "P3D"},
            "steps": [
                {"id": "wait", "wait": {"duration": "PT2H"}},
                {
                    "id": "remind",
                    "send": {"channel": "email", "template": "cart-reminder", "purpose": "email_marketing"},
                },
                {"id": "wait-order", "wait_for": {"event": {"name": "Order Completed"}, "timeout": "P2D"}},
            ],
        }
    )
    pid = world.identify("lena", email="lena@example.org")
    world.consent(pid, "email_marketing")
    world.track("lena", "Product Added", cart_id="cart-1", sku="DRILL-18V-BLUE")
    world.track("lena", "Product Added", cart_id="cart-2", sku="SAW-1")
    world.clock.advance(timedelta(minutes=30))
    world.track("lena", "Order Completed", cart_id="cart-1", order_id="web-77", total=129.9)

    world.advance(timedelta(hours=2))
    assert world.dispatch() == 1
    [mail] = world.smtp.to("lena@example.org")
    assert "cart-2" in mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    runs: dict[str, Any] = {r["key"]: r for r in world.runs(journey_id)}
    assert runs["cart-1"]["exit_reason"] == "event:Order Completed"
    assert runs["cart-2"]["step"] == "wait-order"

    # The reminded cart is bought the next day: the goal counts for the reminder
    world.clock.advance(timedelta(days=1))
    world.track("lena", "Order Completed", cart_id="cart-2", order_id="web-78", total=19.9)
    runs = {r["key"]: r for r in world.runs(journey_id)}
    assert runs["cart-2"]["goal_message_id"] == runs["cart-2"]["last_message_id"] is not None
    assert runs["cart-2"]["status"] == "ended"
    assert world.timers() == 0
    assert len(world.smtp.to("lena@example.org")) == 1


def test_review_request_three_days_after_a_pick_up(world: World) -> None:
    setup_shop(world.http, world.token)
    receive(world.http, world.token, "store-mitte", "DRILL-18V-BLUE", 3)
    world.template("review", "email", "Wie gefällt Ihnen Ihr Kauf ({{ data.order_id }})?")
    journey_id = world.journey(
        {
            "name": "review request",
            "trigger": {
                "event": {
                    "name": "Order Updated",
                    "where": [{"key": "status", "op": "eq", "value": "picked_up"}],
                }
            },
            "entry": {"key": "order_id", "reentry": "once"},
            "steps": [
                {"id": "wait", "wait": {"duration": "P3D"}},
                {
                    "id": "ask",
                    "send": {"channel": "email", "template": "review", "purpose": "email_marketing"},
                },
            ],
        }
    )
    pid = world.identify("olga", email="olga@example.org")
    world.consent(pid, "email_marketing")
    order = {
        "id": "web-2001",
        "profile_id": pid,
        "channel": "web",
        "fulfilment": "click_and_collect",
        "fulfilment_location_id": "store-mitte",
        "lines": [{"sku": "DRILL-18V-BLUE", "quantity": 1}],
    }
    world.post("/api/commerce/orders", order, 201)
    for status in ("confirmed", "ready_for_pickup"):
        world.post("/api/commerce/orders/web-2001/status", {"status": status})
    world.process()
    assert world.runs(journey_id) == []  # confirmed is no pick-up
    world.clock.advance(timedelta(days=1))
    world.post("/api/commerce/orders/web-2001/status", {"status": "picked_up"})
    world.process()
    [run] = world.runs(journey_id)
    assert (run["key"], run["step"]) == ("web-2001", "wait")

    world.advance(timedelta(days=2, hours=23))
    assert [m.template for m in world.messages_of(pid) if m.template == "review"] == []
    world.advance(timedelta(hours=1))
    world.dispatch()
    [review] = [m for m in world.messages_of(pid) if m.template == "review"]
    assert world.get(f"/api/messages/{review.id}")["status"] == "sent"
    bodies = [m.get_body(("plain",)).get_content() for m in world.smtp.to("olga@example.org")]  # type: ignore[union-attr]
    assert [b for b in bodies if "Wie gefällt Ihnen Ihr Kauf (web-2001)?" in b] != []
