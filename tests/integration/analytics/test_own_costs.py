"""The hub's own costs from its own timeline events, over HTTP, in the returns, and erased."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from omnikanal.settings import Settings
from tests.helpers import assert_error, bearer, lookup
from tests.integration.analytics.support import World, event, make_world, order, since_until

RATES = {
    "analytics_sms_segment_price": 0.08,
    "analytics_whatsapp_conversation_price": 0.12,
    "analytics_email_price_per_1000": 1.0,
    "analytics_case_minutes": 15.0,
    "analytics_hourly_rates": {"default": 30.0, "returns": 24.0},
    "analytics_fixed_monthly_costs": {"pos": 3100.0},
}


@pytest.fixture
def priced(settings: Settings) -> Iterator[World]:
    yield from make_world(settings, **RATES)


def sent(user: str, days_ago: float, channel: str, context_channel: str, **properties: Any) -> dict[str, Any]:
    """A timeline event as messaging writes it for a message it sent."""
    return event(
        "track",
        user,
        days_ago,
        event="Message Sent",
        properties={"channel": channel, "status": "sent", **properties},
        context={"touchpoint": {"channel": context_channel}},
    )


def _story(w: World) -> None:
    w.send(
        w.web,
        sent("anna", 9, "sms", "sms", segments=2),
        sent("anna", 8, "sms", "sms"),
        sent("anna", 7, "whatsapp", "chat"),
        sent("anna", 6.9, "whatsapp", "chat"),  # the same conversation
        sent("ben", 7, "whatsapp", "chat"),
        sent("ben", 7, "email", "email"),
        event(
            "track",
            "ben",
            3,
            event="Case Resolved",
            properties={"queue": "returns"},
            context={"touchpoint": {"channel": "hotline"}},
        ),
        order("anna", 2, "o1", 100, context={"touchpoint": {"channel": "sms"}}),
    )


def _lines(answer: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(r["channel"], r["item"]): r for r in answer["lines"]}


def test_the_hubs_own_costs_are_computed_from_its_events_and_say_where_they_came_from(priced: World) -> None:
    _story(priced)
    answer = priced.get("/api/analytics/own-costs", **since_until())
    lines = _lines(answer)
    assert lines[("sms", "sms_segments")]["quantity"] == 3
    assert lines[("sms", "sms_segments")]["cost"] == 0.24
    assert lines[("chat", "whatsapp_conversations")]["quantity"] == 2
    assert lines[("email", "emails")]["cost"] == 0.0  # one email at 1.00 per 1,000
    assert lines[("hotline", "staff_minutes")]["queue"] == "returns"
    assert lines[("hotline", "staff_minutes")]["cost"] == 6.0
    # 2026-10-21 .. 2026-11-20: 11 October days (3100/31) and 20 November days (3100/30)
    assert lines[("pos", "fixed")]["cost"] == round(11 * 100 + 20 * 3100 / 30, 2)
    assert all(line["from"] for line in answer["lines"])
    assert answer["cost"] == pytest.approx(sum(line["cost"] for line in answer["lines"]), abs=0.01)

    returns = priced.get("/api/analytics/returns", model="last_touch", dimension="channel", **since_until())
    by_key = {r["key"]: r for r in returns["models"]["last_touch"]}
    assert by_key["sms"]["cost"] == 0.24
    assert any("ANALYTICS_SMS_SEGMENT_PRICE" in origin for origin in by_key["sms"]["cost_from"])
    # anna's last touch before her order was the WhatsApp message: two conversations' cost
    assert (by_key["chat"]["revenue"], by_key["chat"]["cost"], by_key["chat"]["roas"]) == (
        100.0,
        0.24,
        416.6667,
    )


@pytest.mark.parametrize("engine", ["duckdb", "database"])
def test_own_costs_of_messages_sent_for_a_campaign_count_in_its_returns(priced: World, engine: str) -> None:
    priced.send(
        priced.web,
        sent("cleo", 9, "sms", "sms", segments=2, campaign="Winter"),  # 2 x 0.08
        sent("cleo", 8, "whatsapp", "chat", campaign="Winter"),  # one conversation, 0.12
        sent("dora", 8, "sms", "sms"),  # no campaign: the sms channel's, no campaign's
        event(
            "page",
            "cleo",
            3,
            properties={
                "url": "https://shop.example/?utm_source=newsletter&utm_medium=email&utm_campaign=Winter"
            },
        ),
        order("cleo", 2, "o9", 80),
    )
    priced.post_csv("date,source,medium,campaign,cost\n2026-11-10,newsletter,email,Winter,5.00\n")
    priced.process()
    lines = priced.get("/api/analytics/own-costs", **since_until())["lines"]
    by = {(r["channel"], r["item"], r["campaign"]): r for r in lines}
    assert by[("sms", "sms_segments", "Winter")]["cost"] == 0.16
    assert by[("sms", "sms_segments", None)]["cost"] == 0.08
    assert "campaign 'Winter'" in by[("chat", "whatsapp_conversations", "Winter")]["from"]
    answer = priced.get(
        "/api/analytics/returns", model="last_touch", dimension="campaign", engine=engine, **since_until()
    )
    winter = {r["key"]: r for r in answer["models"]["last_touch"]}["Winter"]
    # 5.00 of media spend and 0.16 + 0.12 of the hub's own messages sent for the campaign
    assert (winter["revenue"], winter["cost"], winter["roas"]) == (80.0, 5.28, round(80 / 5.28, 4))
    assert winter["roi"] == round((80 - 5.28) / 5.28, 4)
    assert any(origin.startswith("import:") for origin in winter["cost_from"])
    assert sum("campaign 'Winter'" in origin for origin in winter["cost_from"]) == 2
    by_source = priced.get(
        "/api/analytics/returns", model="last_touch", dimension="source", engine=engine, **since_until()
    )
    newsletter = {r["key"]: r for r in by_source["models"]["last_touch"]}["newsletter"]
    assert newsletter["cost"] == 5.0  # a message is tied to no campaign source: media spend only


def test_an_erasure_removes_the_persons_usage(priced: World) -> None:
    _story(priced)
    dpo = priced.hub.tokens.create("dpo", "privacy")[1]
    pid = lookup(priced.http, dpo, "user_id", "anna")["id"]
    response = priced.http.post(
        "/api/privacy/requests", json={"type": "erasure", "profile_id": pid}, headers=bearer(dpo)
    )
    assert response.status_code in (200, 201), response.text
    priced.process()
    lines = _lines(priced.get("/api/analytics/own-costs", **since_until()))
    assert ("sms", "sms_segments") not in lines
    assert lines[("chat", "whatsapp_conversations")]["quantity"] == 1


def test_bad_periods_are_refused_by_name(priced: World) -> None:
    url = "/api/analytics/own-costs"
    headers = bearer(priced.token)
    cases = [
        ({"since": "2026-11-20", "until": "2026-11-01"}, "empty_period", "until"),
        ({"since": "2016-01-01", "until": "2026-01-01"}, "period_too_long", "since"),
        ({"since": "yesterday"}, "invalid_time", "since"),
    ]
    for params, code, field in cases:
        assert_error(priced.http.get(url, params=params, headers=headers), 400, code, field)
