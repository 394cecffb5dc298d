"""Validation of the Segment envelope and its times."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from omnikanal.ingest.model import EventRejected, merge_batch_context, validate

RECEIVED = datetime(2026, 11, 22, 12, 0, 0, tzinfo=UTC)


def _ids() -> str:
    return "generated-id"


def test_corrected_time_removes_the_device_clock_skew() -> None:
    # The device clock is 1 hour fast: it says it sent at 13:00:10 an event of 13:00:00.
    event = validate(
        {
            "type": "track",
            "event": "Product Viewed",
            "anonymousId": "a",
            "originalTimestamp": "2026-11-22T13:00:00Z",
            "sentAt": "2026-11-22T13:00:10Z",
        },
        RECEIVED,
        _ids,
    )
    assert event.timestamp == RECEIVED - timedelta(seconds=10)
    assert event.original_timestamp == datetime(2026, 11, 22, 13, 0, tzinfo=UTC)
    assert event.sent_at == datetime(2026, 11, 22, 13, 0, 10, tzinfo=UTC)


def test_timestamp_without_sent_at_is_taken_as_given_and_naive_means_utc() -> None:
    event = validate({"type": "page", "userId": "u", "timestamp": "2026-01-02T03:04:05"}, RECEIVED, _ids)
    assert event.timestamp == datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def test_no_time_at_all_means_received_at() -> None:
    assert validate({"type": "identify", "userId": "u"}, RECEIVED, _ids).timestamp == RECEIVED


def test_numeric_user_id_becomes_a_string_and_missing_message_id_is_generated() -> None:
    event = validate({"type": "identify", "userId": 42}, RECEIVED, _ids)
    assert event.user_id == "42"
    assert event.message_id == "generated-id"


@pytest.mark.parametrize(
    ("envelope", "code", "field"),
    [
        ({"type": "track", "event": "x"}, "missing_id", "userId"),
        ({"type": "track", "userId": "u"}, "missing_field", "event"),
        ({"type": "track", "userId": "u", "event": "  "}, "missing_field", "event"),
        ({"type": "bogus", "userId": "u"}, "invalid_type", "type"),
        ({"type": "track", "userId": {"a": 1}, "event": "x"}, "invalid_type", "userId"),
        ({"type": "track", "userId": "u", "event": "x", "properties": []}, "invalid_type", "properties"),
        (
            {"type": "track", "userId": "u", "event": "x", "timestamp": "yesterday"},
            "invalid_timestamp",
            "timestamp",
        ),
        ({"type": "alias", "userId": "u"}, "missing_field", "previousId"),
        ({"type": "group", "userId": "u"}, "missing_field", "groupId"),
        (
            {"type": "track", "userId": "u", "event": "x", "context": {"touchpoint": {"channel": "fax"}}},
            "invalid_channel",
            "context.touchpoint.channel",
        ),
    ],
)
def test_invalid_envelopes_are_rejected_naming_the_field(
    envelope: dict[str, object], code: str, field: str
) -> None:
    with pytest.raises(EventRejected) as caught:
        validate(envelope, RECEIVED, _ids)
    assert caught.value.rejection.code == code
    assert caught.value.rejection.field == field


def test_single_endpoint_refuses_a_different_type() -> None:
    with pytest.raises(EventRejected) as caught:
        validate({"type": "identify", "userId": "u"}, RECEIVED, _ids, forced_type="track")
    assert caught.value.rejection.field == "type"


def test_touchpoint_channel_and_library_channel_are_kept_apart() -> None:
    event = validate(
        {
            "type": "track",
            "userId": "u",
            "event": "Complaint Received",
            "channel": "server",
            "context": {"touchpoint": {"channel": "email"}},
        },
        RECEIVED,
        _ids,
    )
    assert event.touchpoint_channel == "email"
    assert event.lib_channel == "server"


def test_batch_context_is_merged_into_each_item_and_the_item_wins() -> None:
    item = merge_batch_context({"context": {"ip": "1.2.3.4"}}, {"ip": "9.9.9.9", "library": {"name": "x"}})
    assert item["context"] == {"ip": "1.2.3.4", "library": {"name": "x"}}
    assert merge_batch_context({}, {"locale": "de-DE"})["context"] == {"locale": "de-DE"}
