"""Time is explicit: with a fixed clock, received and corrected times are exact."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from omnikanal.clock import FixedClock
from omnikanal.hub import build_hub
from omnikanal.profiles.service import TimelineQuery
from omnikanal.settings import Settings


def test_received_and_corrected_times_follow_the_hubs_clock(settings: Settings) -> None:
    clock = FixedClock(datetime(2026, 3, 1, 12, 0, tzinfo=UTC))
    hub = build_hub(settings, clock)
    try:
        source = hub.sources.create("app", "app")[0]
        # The phone's clock runs 2 hours fast; it sent 30 s after the event happened.
        hub.ingest.ingest(
            source,
            [
                {
                    "type": "track",
                    "anonymousId": "phone",
                    "event": "Product Viewed",
                    "messageId": "m1",
                    "originalTimestamp": "2026-03-01T14:00:00Z",
                    "sentAt": "2026-03-01T14:00:30Z",
                }
            ],
        )
        clock.advance(timedelta(hours=1))
        hub.ingest.ingest(
            source, [{"type": "track", "anonymousId": "phone", "event": "Product Added", "messageId": "m2"}]
        )
        profile = hub.profiles.lookup("anonymous_id", "phone")
        assert profile["computed"]["first_seen"] == "2026-03-01T11:59:30Z"
        assert profile["computed"]["last_seen"] == "2026-03-01T13:00:00Z"
        events = {e["message_id"]: e for e in hub.profiles.timeline(profile["id"], TimelineQuery())["events"]}
        assert events["m1"]["received_at"] == "2026-03-01T12:00:00Z"
        assert events["m1"]["timestamp"] == "2026-03-01T11:59:30Z"
        assert events["m1"]["original_timestamp"] == "2026-03-01T14:00:00Z"
        assert events["m2"]["timestamp"] == events["m2"]["received_at"] == "2026-03-01T13:00:00Z"
        window = TimelineQuery(since=datetime(2026, 3, 1, 12, 30, tzinfo=UTC))
        assert [e["message_id"] for e in hub.profiles.timeline(profile["id"], window)["events"]] == ["m2"]
    finally:
        hub.close()
