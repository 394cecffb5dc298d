"""The service scenarios of the design, end to end over HTTP and SMTP, on SQLite and PostgreSQL.

7. The hotline knows: a customer who browsed on the web and bought in a store calls; the agent finds
   her by phone number, sees her earlier touchpoints, opens a case linked to her order and answers by
   email; her mail client's reply threads onto the case; the case is resolved, her CSAT arrives, and
   every step is on her timeline.
6. A complaint by email that names an order opens a case linked to that order.

Outbound mail goes to a real SMTP server (aiosmtpd, the messaging sink); the customer's mail goes
over SMTP (smtplib) to the hub's own inbound listener. Time is the hub's FixedClock.
"""

from __future__ import annotations

import re
import smtplib
import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
import pytest

from omnikanal.clock import FixedClock
from omnikanal.hub import Hub, build_hub
from omnikanal.settings import Settings
from tests.commerce_helpers import post, receive, setup_shop
from tests.helpers import bearer, iso, lookup, settle_after_server_error, timeline
from tests.integration.messaging.support import SmtpSink, free_port, wait_for
from tests.live_server import LiveServer

# A Wednesday morning in Berlin: inside the hotline's business hours.
START = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
EMAIL = "hanna.berg@example.net"
PHONE = "+4915112345678"


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START - timedelta(days=1))  # Tuesday: the day she buys in the store


@pytest.fixture
def server_socket() -> Iterator[socket.socket]:
    """The HTTP server's socket, bound first: the CSAT link in the mail names its port."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    yield sock
    sock.close()


@pytest.fixture
def inbound_port() -> int:
    return free_port()


@pytest.fixture
def settings(
    database_url: str, tmp_path: Path, server_socket: socket.socket, smtp: SmtpSink, inbound_port: int
) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "data_dir": tmp_path,
        "auto_migrate": False,
        "public_url": f"http://127.0.0.1:{server_socket.getsockname()[1]}",
        "secret_key": "service-e2e-secret",
        "smtp_url": smtp.url,
        "smtp_from": "Kundenservice <service@shop.example>",
        "messaging_poll_seconds": 0.0,  # the test runs the dispatcher's rounds itself
        "service_smtp_port": inbound_port,
        "service_smtp_domains": ["shop.example"],
        "service_sla_check_seconds": 0.0,
    }
    return Settings(**values)


@pytest.fixture
def hub(settings: Settings, clock: FixedClock) -> Iterator[Hub]:
    built = build_hub(settings, clock)
    built.start()
    yield built
    built.close()


@pytest.fixture
def live_server(hub: Hub, server_socket: socket.socket) -> Iterator[LiveServer]:
    server = LiveServer(hub, server_socket)
    server.start()
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def _settle_server_errors(http: httpx.Client) -> None:
    http.event_hooks["response"].append(settle_after_server_error)


def _send_mail(port: int, message: EmailMessage) -> None:
    """The customer's mail client delivering through her provider to the hub's listener."""
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
        client.send_message(message)


def _mail(sender: str, subject: str, text: str, **headers: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = "service@shop.example"
    message["Subject"] = subject
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content(text)
    return message


def _batch(http: httpx.Client, write_key: str, events: list[dict[str, Any]]) -> None:
    response = http.post("/v1/batch", json={"batch": events}, auth=(write_key, ""))
    assert response.status_code == 200, response.text
    assert response.json()["accepted"] == len(events), response.text
    assert response.json()["quarantined"] == [], response.text


def _till_order(http: httpx.Client, token: str, profile_id: str, order_id: str) -> dict[str, Any]:
    receive(http, token, "store-mitte", "DRILL-18V-BLUE", 3)
    return post(
        http,
        token,
        "/api/commerce/orders",
        {
            "id": order_id,
            "profile_id": profile_id,
            "channel": "store",
            "fulfilment": "buy_in_store",
            "fulfilment_location_id": "store-mitte",
            "lines": [{"sku": "DRILL-18V-BLUE", "quantity": 1}],
        },
    )


def _case_events(events: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """(event, channel) of the case events on a timeline, oldest first."""
    return [
        (e["event"], e["channel"]) for e in reversed(events) if str(e.get("event", "")).startswith("Case ")
    ]


# -- Scenario 7: the hotline knows ---------------------------------------------------------------


def test_the_hotline_knows(
    hub: Hub,
    http: httpx.Client,
    admin_token: str,
    make_channel: Any,
    smtp: SmtpSink,
    inbound_port: int,
    clock: FixedClock,
) -> None:
    web = make_channel("webshop", "web")
    setup_shop(http, admin_token)

    # On Monday she browses the webshop, logs in, and the shop identifies her.
    browsed = START - timedelta(days=2)
    _batch(
        http,
        web.write_key,
        [
            {
                "type": "track",
                "anonymousId": "web-anon-1",
                "event": "Product Viewed",
                "properties": {"product_id": "DRILL-18V", "sku": "DRILL-18V-BLUE"},
                "timestamp": iso(browsed),
                "messageId": "web-1",
            },
            {
                "type": "identify",
                "anonymousId": "web-anon-1",
                "userId": "u-hanna",
                "traits": {"email": EMAIL, "phone": PHONE, "first_name": "Hanna"},
                "timestamp": iso(browsed + timedelta(minutes=2)),
                "messageId": "web-2",
            },
            {
                "type": "track",
                "userId": "u-hanna",
                "event": "Product Added to Wishlist",
                "properties": {"product_id": "DRILL-18V"},
                "timestamp": iso(browsed + timedelta(minutes=3)),
                "messageId": "web-3",
            },
        ],
    )
    hanna = lookup(http, admin_token, "user_id", "u-hanna")["id"]

    # Tuesday she buys the drill at the till in the store.
    order = _till_order(http, admin_token, hanna, "TILL-2026-0815")
    assert order["channel"] == "store"

    # Wednesday she calls the hotline: the agent finds her by the caller's number ...
    clock.advance(timedelta(days=1))
    found = lookup(http, admin_token, "phone", PHONE)
    assert found["id"] == hanna
    # ... and sees every earlier touchpoint, with its channel.
    before = [(e.get("event") or e["type"], e["channel"]) for e in timeline(http, admin_token, hanna)]
    assert ("Product Viewed", "web") in before
    assert ("Product Added to Wishlist", "web") in before
    assert ("Order Completed", "store") in before

    # The agent opens a case linked to her order.
    opened = post(
        http,
        admin_token,
        "/api/service/cases",
        {
            "profile_id": found["id"],
            "subject": "Bohrschrauber lädt nicht",
            "queue": "hotline",
            "channel": "hotline",
            "body": "Der Akku lädt seit gestern nicht mehr.",
            "order_id": order["id"],
        },
    )
    case_path = f"/api/service/cases/{opened['id']}"
    assert opened["links"] == {"order_id": "TILL-2026-0815"}
    assert opened["status"] == "new"

    # The agent answers by email: the mail arrives at the real SMTP server.
    clock.advance(timedelta(minutes=10))
    reply = http.post(
        f"{case_path}/replies",
        json={"text": "Bitte senden Sie uns den Akku, wir tauschen ihn aus."},
        headers=bearer(admin_token),
    )
    assert reply.status_code == 200, reply.text
    hub.dispatcher.run_once()
    [answer] = wait_for(lambda: smtp.to(EMAIL))
    assert opened["ref"] in answer["Subject"]
    assert "Akku" in answer.get_body(("plain",)).get_content()

    # She answers from her mail client: In-Reply-To is the Message-ID of the mail she received.
    clock.advance(timedelta(hours=1))
    her_reply = _mail(
        f"Hanna Berg <{EMAIL}>",
        "Re: " + answer["Subject"],
        "Danke, der Akku ist unterwegs.",
        In_Reply_To=answer["Message-ID"],
        References=answer["Message-ID"],
        Message_ID="<reply-1@mail.example.net>",
    )
    _send_mail(inbound_port, her_reply)

    # The case threads: still one case of hers, her mail an inbound entry on it.
    cases = http.get("/api/service/cases", params={"profile_id": hanna}, headers=bearer(admin_token))
    assert cases.status_code == 200, cases.text
    [listed] = cases.json()["items"]
    assert listed["id"] == opened["id"]
    thread = http.get(case_path, headers=bearer(admin_token)).json()
    inbound = [(e["channel"], e["text"]) for e in thread["items"] if e["kind"] == "inbound"]
    assert inbound == [
        ("hotline", "Der Akku lädt seit gestern nicht mehr."),
        ("email", "Danke, der Akku ist unterwegs."),
    ]
    assert thread["status"] == "open"

    # The agent resolves the case; the satisfaction survey arrives by email.
    clock.advance(timedelta(hours=1))
    resolved = http.post(f"{case_path}/status", json={"status": "resolved"}, headers=bearer(admin_token))
    assert resolved.status_code == 200, resolved.text
    assert resolved.json()["status"] == "resolved"
    hub.dispatcher.run_once()
    [survey] = wait_for(lambda: [m for m in smtp.to(EMAIL) if m["Message-ID"] != answer["Message-ID"]])
    link = re.search(r"http://\S+/service/csat/\S+", survey.get_body(("plain",)).get_content())
    assert link is not None

    # She opens the signed link and answers 4, with a comment.
    page = http.get(link.group(0))
    assert page.status_code == 200
    assert 'name="score"' in page.text
    answered = http.post(
        link.group(0),
        content="score=4&comment=Schnelle+Hilfe%2C+danke",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert answered.status_code == 200, answered.text

    # The case shows her rating ...
    rated = http.get(case_path, headers=bearer(admin_token)).json()
    assert rated["csat"]["score"] == 4
    assert rated["csat"]["comment"] == "Schnelle Hilfe, danke"
    # ... and her timeline has every step of the case beside the web and store touchpoints.
    events = timeline(http, admin_token, hanna)
    assert _case_events(events) == [
        ("Case Opened", "hotline"),
        ("Case Replied", "email"),
        ("Case Message Received", "email"),
        ("Case Resolved", "hotline"),
        ("Case Rated", "hotline"),
    ]
    named = {(e.get("event"), e["channel"]) for e in events}
    assert {
        ("Product Viewed", "web"),
        ("Product Added to Wishlist", "web"),
        ("Order Completed", "store"),
    } <= named
    opened_event = next(e for e in events if e.get("event") == "Case Opened")
    assert opened_event["properties"]["order_id"] == "TILL-2026-0815"
    rated_event = next(e for e in events if e.get("event") == "Case Rated")
    assert rated_event["properties"]["score"] == 4


# -- Scenario 6: a complaint by email about an order -----------------------------------------------


def test_a_complaint_by_email_naming_an_order_opens_a_case_linked_to_it(
    hub: Hub, http: httpx.Client, admin_token: str, make_channel: Any, inbound_port: int
) -> None:
    web = make_channel("webshop", "web")
    setup_shop(http, admin_token)
    _batch(
        http,
        web.write_key,
        [
            {
                "type": "identify",
                "userId": "u-jonas",
                "traits": {"email": "jonas@example.org"},
                "messageId": "j-1",
            }
        ],
    )
    jonas = lookup(http, admin_token, "user_id", "u-jonas")["id"]
    receive(http, admin_token, "wh-north", "DRILL-18V-GREEN", 2)
    order = post(
        http,
        admin_token,
        "/api/commerce/orders",
        {
            "id": "WEB-100234",
            "profile_id": jonas,
            "channel": "web",
            "fulfilment": "home_delivery",
            "fulfilment_location_id": "wh-north",
            "lines": [{"sku": "DRILL-18V-GREEN", "quantity": 1}],
        },
    )

    # The drill arrives broken; he complains by email, naming the order in the text.
    _send_mail(
        inbound_port,
        _mail(
            "Jonas Weber <jonas@example.org>",
            "Beschwerde: Bohrschrauber defekt",
            f"Guten Tag, meine Bestellung {order['id']}. kam mit gebrochenem Gehäuse an.",
        ),
    )

    # The mail opened a case of his, on the email channel, linked to that order.
    cases = http.get("/api/service/cases", params={"profile_id": jonas}, headers=bearer(admin_token))
    assert cases.status_code == 200, cases.text
    [case] = cases.json()["items"]
    assert (case["channel"], case["subject"]) == ("email", "Beschwerde: Bohrschrauber defekt")
    assert case["links"] == {"order_id": "WEB-100234"}
    # The complaint is a step of his journey, with its channel and the order it is about.
    [opened] = [e for e in timeline(http, admin_token, jonas) if e.get("event") == "Case Opened"]
    assert opened["channel"] == "email"
    assert opened["properties"]["order_id"] == "WEB-100234"
