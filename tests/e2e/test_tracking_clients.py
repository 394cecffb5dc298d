"""The official Segment and RudderStack Python clients, unchanged, pointed at a running hub.

Each client sends identify, track, page, screen, group and alias; the read API must then show every
event on one profile, with its type, name, properties, traits and the client's own timestamps. A
client's upload error is captured through its ``on_error`` callback (queued mode) or raised (sync
mode), and retries are switched off, so a refusal by the hub fails the test instead of hanging it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import rudderstack.analytics as rudder_analytics
import segment.analytics as segment_analytics

from tests.helpers import lookup, parse_time, profile, timeline

# The clients' event times: well in the past and on whole milliseconds (Segment sends milliseconds).
BASE = datetime(2024, 5, 6, 9, 30, 0, 123000, tzinfo=UTC)


@dataclass
class ErrorLog:
    """What a client reported through on_error."""

    errors: list[tuple[Exception, list[Any]]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, error: Exception, batch: list[Any]) -> None:
        with self.lock:
            self.errors.append((error, batch))

    def assert_none(self) -> None:
        assert not self.errors, f"the client reported upload errors: {[str(e) for e, _ in self.errors]}"


@dataclass
class Sent:
    """One call made through a client, and what the hub must show for it."""

    type: str
    message_id: str
    timestamp: datetime
    event: str | None = None
    properties: dict[str, Any] = field(default_factory=dict)
    traits: dict[str, Any] = field(default_factory=dict)


@dataclass
class Journey:
    user_id: str
    anonymous_id: str
    previous_id: str
    email: str
    sent: list[Sent]


ClientFactory = Callable[..., Any]


def _segment(write_key: str, url: str, on_error: ErrorLog, *, gzip: bool, sync_mode: bool) -> Any:
    return segment_analytics.Client(
        write_key=write_key,
        host=url,
        on_error=on_error,
        gzip=gzip,
        sync_mode=sync_mode,
        max_retries=0,
        max_total_backoff_duration=0,
        timeout=15,
        upload_interval=0.05,
    )


def _rudder(write_key: str, url: str, on_error: ErrorLog, *, gzip: bool, sync_mode: bool) -> Any:
    # The Client takes the data plane URL as ``host`` (``dataPlaneUrl`` is the module-level setting).
    return rudder_analytics.Client(
        write_key=write_key,
        host=url,
        on_error=on_error,
        gzip=gzip,
        sync_mode=sync_mode,
        max_retries=0,
        timeout=15,
        upload_interval=0.05,
    )


CLIENTS: dict[str, ClientFactory] = {"segment": _segment, "rudderstack": _rudder}


def _message_id(result: tuple[bool, dict[str, Any]]) -> str:
    queued, message = result
    assert queued, f"the client did not queue the message: {message}"
    return str(message["messageId"])


def _send_journey(client: Any, prefix: str) -> Journey:
    """identify, track, page, screen, group and alias, one minute apart."""
    user_id, anonymous_id, previous_id = f"{prefix}-user-42", f"{prefix}-anon-1", f"{prefix}-old-anon"
    email = f"max.{prefix}@example.de"
    at = [BASE + timedelta(minutes=n) for n in range(6)]
    identify_traits = {"email": email, "name": "Max Mustermann", "plan": "gold", "age": 41}
    order = {
        "order_id": f"{prefix}-o-1",
        "revenue": 129.9,
        "currency": "EUR",
        "products": [{"sku": "DRILL-18V", "quantity": 1, "price": 129.9}],
    }
    page_props = {"url": "https://shop.example.de/akkuschrauber", "title": "Akkuschrauber"}
    screen_props = {"variant": "dark", "items_in_cart": 2}
    group_traits = {"name": "ACME GmbH", "employees": 120}
    sent = [
        Sent(
            "identify",
            _message_id(
                client.identify(user_id, identify_traits, anonymous_id=anonymous_id, timestamp=at[0])
            ),
            at[0],
            traits=identify_traits,
        ),
        Sent(
            "track",
            _message_id(client.track(user_id, "Order Completed", order, timestamp=at[1])),
            at[1],
            event="Order Completed",
            properties=order,
        ),
        Sent(
            "page",
            _message_id(client.page(user_id, "Tools", "Akkuschrauber", page_props, timestamp=at[2])),
            at[2],
            event="Akkuschrauber",
            properties=page_props,
        ),
        Sent(
            "screen",
            _message_id(client.screen(user_id, "App", "Cart", screen_props, timestamp=at[3])),
            at[3],
            event="Cart",
            properties=screen_props,
        ),
        Sent(
            "group",
            _message_id(client.group(user_id, f"{prefix}-company-7", group_traits, timestamp=at[4])),
            at[4],
            traits=group_traits,
        ),
        Sent(
            "alias",
            _message_id(client.alias(previous_id, user_id, timestamp=at[5])),
            at[5],
        ),
    ]
    return Journey(user_id, anonymous_id, previous_id, email, sent)


@pytest.fixture
def clients() -> Iterator[list[Any]]:
    """Clients made by a test; their consumer threads are stopped after it."""
    made: list[Any] = []
    yield made
    for client in made:
        if client.consumers:
            client.join()


def _check_hub(
    http: httpx.Client,
    admin_token: str,
    journey: Journey,
    *,
    library: str,
    source_name: str,
    channel: str,
    lib_channel: str | None,
    sent_from: datetime,
    sent_until: datetime,
) -> None:
    by_user = lookup(http, admin_token, "user_id", journey.user_id)
    pid = by_user["id"]
    assert lookup(http, admin_token, "anonymous_id", journey.anonymous_id)["id"] == pid
    assert lookup(http, admin_token, "email", journey.email)["id"] == pid
    # alias: the previous id now belongs to the same person
    assert lookup(http, admin_token, "anonymous_id", journey.previous_id)["id"] == pid

    events = timeline(http, admin_token, pid)
    assert len(events) == len(journey.sent), [e["type"] for e in events]
    # newest first: the client's times decide the order
    assert [e["type"] for e in events] == [s.type for s in reversed(journey.sent)]
    by_message = {e["message_id"]: e for e in events}
    assert set(by_message) == {s.message_id for s in journey.sent}

    for sent in journey.sent:
        got = by_message[sent.message_id]
        assert got["type"] == sent.type
        assert got["event"] == sent.event
        assert got["user_id"] == journey.user_id
        assert got["channel"] == channel
        assert got["source"]["name"] == source_name
        assert got["lib_channel"] == lib_channel
        assert got["context"]["library"]["name"] == library
        assert got["properties"] == sent.properties
        # the client's own times are kept as sent
        assert parse_time(got["original_timestamp"]) == sent.timestamp
        sent_at = parse_time(got["sent_at"])
        assert sent_at is not None
        assert sent_from <= sent_at <= sent_until, (sent_at, sent_from, sent_until)
        received_at = parse_time(got["received_at"])
        assert received_at is not None
        assert sent_from <= received_at <= sent_until + timedelta(seconds=5)
        # the corrected time moves the device time only by the transit time (clocks agree here)
        corrected = parse_time(got["timestamp"])
        assert corrected is not None
        assert abs(corrected - sent.timestamp) < timedelta(seconds=30)
    identify = next(by_message[s.message_id] for s in journey.sent if s.type == "identify")
    identify_traits = journey.sent[0].traits
    # Segment sends identify traits at the top level, RudderStack inside context.traits.
    shown = identify["traits"] or identify["context"].get("traits")
    assert shown == identify_traits
    group = next(by_message[s.message_id] for s in journey.sent if s.type == "group")
    assert group["traits"] == journey.sent[4].traits

    person = profile(http, admin_token, pid)
    traits = {key: value["value"] for key, value in person["traits"].items()}
    for key, value in identify_traits.items():
        assert traits[key] == value, (key, traits)
    # the group's traits describe the company, not the person
    assert traits["name"] == "Max Mustermann"
    assert "employees" not in traits
    assert person["computed"]["event_count"] == len(journey.sent)
    assert person["computed"]["channels_used"] == [channel]


@pytest.mark.parametrize("gzip", [False, True], ids=["plain", "gzip"])
@pytest.mark.parametrize("name", sorted(CLIENTS))
def test_queued_client_delivers_every_call_type(
    name: str, gzip: bool, make_channel, live_server, http: httpx.Client, admin_token: str, clients
) -> None:
    source = make_channel(f"{name}-shop", "web")
    errors = ErrorLog()
    client = CLIENTS[name](source.write_key, live_server.url, errors, gzip=gzip, sync_mode=False)
    clients.append(client)
    sent_from = datetime.now(UTC) - timedelta(seconds=1)
    journey = _send_journey(client, f"{name}-{'gz' if gzip else 'plain'}")
    client.flush()
    sent_until = datetime.now(UTC) + timedelta(seconds=1)
    errors.assert_none()
    _check_hub(
        http,
        admin_token,
        journey,
        library="analytics-python",
        source_name=f"{name}-shop",
        channel="web",
        lib_channel="server" if name == "rudderstack" else None,
        sent_from=sent_from,
        sent_until=sent_until,
    )


@pytest.mark.parametrize("name", sorted(CLIENTS))
def test_sync_mode_client_delivers_every_call_type(
    name: str, make_channel, live_server, http: httpx.Client, admin_token: str, clients
) -> None:
    # sync mode posts each call as a batch of one and raises on any refusal
    source = make_channel(f"{name}-app", "app")
    errors = ErrorLog()
    client = CLIENTS[name](source.write_key, live_server.url, errors, gzip=False, sync_mode=True)
    clients.append(client)
    sent_from = datetime.now(UTC) - timedelta(seconds=1)
    journey = _send_journey(client, f"{name}-sync")
    sent_until = datetime.now(UTC) + timedelta(seconds=1)
    errors.assert_none()
    _check_hub(
        http,
        admin_token,
        journey,
        library="analytics-python",
        source_name=f"{name}-app",
        channel="app",
        lib_channel="server" if name == "rudderstack" else None,
        sent_from=sent_from,
        sent_until=sent_until,
    )


@pytest.mark.parametrize("name", sorted(CLIENTS))
def test_a_client_sending_the_same_calls_twice_stores_them_once(
    name: str, make_channel, live_server, http: httpx.Client, admin_token: str, clients
) -> None:
    # A client retrying after a lost answer sends the same messageIds again.
    source = make_channel(f"{name}-retry", "web")
    errors = ErrorLog()
    client = CLIENTS[name](source.write_key, live_server.url, errors, gzip=False, sync_mode=False)
    clients.append(client)
    for _ in range(2):
        for n in range(3):
            client.track(
                "retry-user",
                "Product Viewed",
                {"sku": f"SKU-{n}"},
                timestamp=BASE + timedelta(seconds=n),
                message_id=f"{name}-msg-{n}",
            )
        client.flush()
    errors.assert_none()
    pid = lookup(http, admin_token, "user_id", "retry-user")["id"]
    events = timeline(http, admin_token, pid)
    assert sorted(e["message_id"] for e in events) == [f"{name}-msg-{n}" for n in range(3)]
    assert [e["properties"]["sku"] for e in events] == ["SKU-2", "SKU-1", "SKU-0"]


@pytest.mark.parametrize("name", sorted(CLIENTS))
def test_a_refused_upload_reaches_the_clients_error_callback(
    name: str, make_channel, live_server, hub, clients
) -> None:
    # The other tests rely on on_error to see refusals: check that it does see one (a wrong key).
    make_channel(f"{name}-real", "web")
    errors = ErrorLog()
    client = CLIENTS[name]("wk_not_a_key", live_server.url, errors, gzip=False, sync_mode=False)
    clients.append(client)
    client.track("someone", "Product Viewed", timestamp=BASE)
    client.flush()
    assert len(errors.errors) == 1
    error, batch = errors.errors[0]
    # an APIError with the status tells the client not to retry (a 4xx other than 429)
    assert getattr(error, "status", None) == 401, repr(error)
    assert getattr(error, "code", None) == "invalid_write_key", str(error)
    assert "write key" in str(error), str(error)
    assert [item["event"] for item in batch] == ["Product Viewed"]
