"""The hub's own costs from its usage rows, with prices computed by hand."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest

from omnikanal.analytics.usage import Rates, own_costs, usage

T0 = datetime(2026, 11, 1, 9, tzinfo=UTC)
RATES = Rates(
    sms_segment=0.08,
    whatsapp_conversation=0.12,
    emails_per_1000=0.9,
    push=0.01,
    task_minutes=6,
    case_minutes=15,
    hourly={"default": 30.0, "returns": 24.0},
    monthly={"pos": 3000.0},
)


def row(profile: str, hours: float, kind: str, channel: str, quantity: int = 1, queue: str = "") -> Any:
    return SimpleNamespace(
        profile_id=profile,
        at=T0 + timedelta(hours=hours),
        kind=kind,
        channel=channel,
        queue=queue,
        quantity=quantity,
    )


def event(name: str, **properties: Any) -> Any:
    payload = {"type": "track", "event": name, "properties": properties}
    return SimpleNamespace(
        seq=1, profile_id="p", timestamp=T0, type="track", event=name, channel="sms", payload=payload
    )


def lines(
    rows: list[Any], since: date = date(2026, 11, 1), until: date = date(2026, 11, 1)
) -> dict[tuple[str, str], Any]:
    return {
        (r["channel"], r["item"] + (f":{r['queue']}" if r["queue"] else "")): r
        for r in own_costs(rows, RATES, since, until)
    }


def test_sms_are_priced_per_segment_and_a_missing_count_is_one_segment_and_said() -> None:
    got = lines([row("a", 0, "sms", "sms", 3), row("b", 1, "sms", "sms", 0)])
    sms = got[("sms", "sms_segments")]
    assert sms["quantity"] == 4
    assert sms["cost"] == pytest.approx(0.32)
    assert "1 messages without a reported segment count" in sms["from"]
    assert "ANALYTICS_SMS_SEGMENT_PRICE" in sms["from"]


def test_a_whatsapp_conversation_lasts_24_hours_per_person() -> None:
    rows = [
        row("a", 0, "whatsapp", "chat"),
        row("a", 23, "whatsapp", "chat"),
        row("a", 24, "whatsapp", "chat"),
    ]
    rows += [row("b", 1, "whatsapp", "chat")]
    got = lines(sorted(rows, key=lambda r: (r.profile_id, r.at)))
    assert got[("chat", "whatsapp_conversations")]["quantity"] == 3
    assert got[("chat", "whatsapp_conversations")]["cost"] == pytest.approx(0.36)


def test_emails_per_thousand_push_per_message() -> None:
    got = lines([row(f"p{i}", 0, "email", "email") for i in range(2500)] + [row("x", 0, "push", "app")])
    assert got[("email", "emails")]["cost"] == pytest.approx(2.25)
    assert got[("app", "push")]["cost"] == pytest.approx(0.01)


def test_staff_minutes_take_the_queues_hourly_rate_or_the_default() -> None:
    got = lines([row("a", 0, "case", "hotline", queue="returns"), row("b", 0, "case", "email", queue="vip")])
    got |= lines([row("c", 0, "task", "hotline")])
    assert got[("hotline", "staff_minutes:returns")]["cost"] == pytest.approx(6.0)  # 15 min at 24/h
    assert got[("email", "staff_minutes:vip")]["cost"] == pytest.approx(7.5)  # 15 min at default 30/h
    assert "ANALYTICS_HOURLY_RATES[default]" in got[("email", "staff_minutes:vip")]["from"]
    assert got[("hotline", "staff_minutes:default")]["cost"] == pytest.approx(3.0)  # a task: 6 min at 30/h


def test_fixed_monthly_costs_are_spread_over_each_months_days() -> None:
    # 2026-11-29 .. 2026-12-02: two November days (3000/30) and two December days (3000/31)
    got = lines([], date(2026, 11, 29), date(2026, 12, 3))
    fixed = got[("pos", "fixed")]
    assert fixed["quantity"] == 4
    assert fixed["cost"] == pytest.approx(round(2 * 100 + 2 * 3000 / 31, 2))
    assert "3000.00 a month" in fixed["from"]


def used(name: str, **properties: Any) -> dict[str, Any]:
    got = usage(event(name, **properties))
    assert got is not None
    return got


def test_only_the_hubs_sent_messages_and_resolved_cases_are_usage() -> None:
    assert used("Message Sent", channel="sms", segments=2)["quantity"] == 2
    assert used("Message Sent", channel="sms", segments="many")["quantity"] == 0
    assert used("Message Sent", channel="sms", segments=True)["quantity"] == 0
    assert usage(event("Message Sent", channel="webhook")) is None
    assert usage(event("Message Delivered", channel="sms")) is None
    assert used("Case Resolved", queue="returns")["queue"] == "returns"
    assert usage(event("Page Viewed")) is None


def test_messages_sent_for_a_campaign_are_costed_on_their_campaign_and_say_so() -> None:
    rows = [row("a", 0, "sms", "sms", 2), row("b", 1, "sms", "sms", 1), row("c", 2, "sms", "sms", 0)]
    rows[0].campaign = rows[2].campaign = "Winter"
    got = {
        (r["campaign"], r["item"]): r for r in own_costs(rows, RATES, date(2026, 11, 1), date(2026, 11, 1))
    }
    winter, other = got[("Winter", "sms_segments")], got[(None, "sms_segments")]
    # 2 + 1 (none reported) segments at 0.08 for Winter, 1 segment for no campaign
    assert (winter["quantity"], winter["cost"], other["quantity"], other["cost"]) == (3, 0.24, 1, 0.08)
    assert "campaign 'Winter'" in winter["from"]
    assert "1 messages without a reported segment count" in winter["from"]
    assert "campaign" not in other["from"]
    assert "without a reported" not in other["from"]


def test_the_campaign_of_a_message_is_read_from_its_event_and_a_case_has_none() -> None:
    assert usage(event("Message Sent", channel="email", campaign=" Winter "))["campaign"] == "Winter"
    assert usage(event("Message Sent", channel="email"))["campaign"] is None
    assert usage(event("Case Resolved", queue="returns", campaign="Winter"))["campaign"] is None
