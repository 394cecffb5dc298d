"""Staff users of every role and a small shop with customers, for the console tests (HTTP and browser)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import httpx

from omnikanal.hub import Hub
from tests.commerce_helpers import drill, post, receive, setup_shop
from tests.helpers import bearer, lookup

PASSWORD = "correct horse battery"
# The store user works in Berlin Mitte; reservations of Kreuzberg are not theirs.
USERS: dict[str, tuple[str, str | None]] = {
    "admin": ("admin", None),
    "marketing": ("marketing", None),
    "service": ("service", None),
    "store": ("store", "store-mitte"),
    "privacy": ("privacy", None),
}


def make_users(hub: Hub) -> None:
    for username, (role, store) in USERS.items():
        hub.staff.create_user(username, role, PASSWORD, store)


def login(client: httpx.Client, username: str, password: str = PASSWORD) -> httpx.Response:
    return client.post(
        "/console/login", data={"username": username, "password": password}, follow_redirects=False
    )


def csrf_of(html: str) -> str:
    found = re.search(r'<meta name="csrf-token" content="([^"]+)"', html)
    assert found, "the page carries no CSRF token"
    return found.group(1)


@dataclass
class Shop:
    """What the shop fixture made: the merged customer Eva, another customer, reservations per store."""

    eva: str
    merge_id: str
    other: str
    reservations: dict[str, str] = field(default_factory=dict)
    gtin: str = ""


def build_shop(http: httpx.Client, hub: Hub) -> Shop:
    token = hub.tokens.create("console-test", "admin")[1]
    setup_shop(http, token, [drill()])
    for store in ("store-mitte", "store-kreuzberg"):
        receive(http, token, store, "DRILL-18V-BLUE", 10)
    _, web_key = hub.sources.create("webshop", "web")
    _, pos_key = hub.sources.create("till", "pos")

    def send(key: str, batch: list[dict[str, Any]]) -> None:
        response = http.post("/v1/batch", json={"batch": batch}, auth=(key, ""))
        assert response.status_code == 200, response.text

    # Eva browses anonymously on the web, then is known at the till by her customer number; the app
    # logs her in on the phone she browsed with, which merges both profiles.
    send(
        web_key,
        [
            {
                "type": "identify",
                "anonymousId": "dev-eva",
                "traits": {"firstName": "Eva", "lastName": "Müller"},
            },
            {
                "type": "track",
                "anonymousId": "dev-eva",
                "event": "Product Viewed",
                "properties": {"sku": "X"},
            },
        ],
    )
    send(pos_key, [{"type": "identify", "userId": "kunde-4711", "traits": {"email": "eva@example.de"}}])
    send(web_key, [{"type": "identify", "anonymousId": "dev-eva", "userId": "kunde-4711"}])
    send(
        pos_key,
        [{"type": "identify", "userId": "kunde-9", "traits": {"firstName": "Jonas", "lastName": "Berg"}}],
    )
    eva = lookup(http, token, "user_id", "kunde-4711")["id"]
    other = lookup(http, token, "user_id", "kunde-9")["id"]
    merges = http.get(f"/api/profiles/{eva}/merges", headers=bearer(token)).json()["merges"]
    assert merges, "the fixture expected Eva's two profiles to be merged"
    post(
        http,
        token,
        f"/api/profiles/{eva}/consents",
        {"changes": [{"purpose": "sms_marketing", "status": "granted", "channel": "store"}]},
    )
    shop = Shop(eva=eva, merge_id=merges[0]["id"], other=other, gtin=drill()["variants"][0]["gtin"])
    for store, who in (("store-mitte", eva), ("store-kreuzberg", other)):
        made = post(
            http,
            token,
            "/api/commerce/reservations",
            {"profile_id": who, "sku": "DRILL-18V-BLUE", "location_id": store, "quantity": 1},
        )
        shop.reservations[store] = made["id"]
    return shop


# A journey with a wait, a branch, a task and an exit; entering Eva leaves her waiting at "pause".
JOURNEY = {
    "name": "Willkommen",
    "trigger": {"api": {}},
    "steps": [
        {"id": "pause", "wait": {"duration": "P1D"}},
        {
            "id": "check",
            "branch": {
                "if": {"trait": {"key": "lastName", "op": "exists", "value": True}},
                "then": "call",
                "else": "bye",
            },
        },
        {"id": "call", "task": {"queue": "hotline", "kind": "call", "content": {"text": "Begrüßen"}}},
        {"id": "bye", "exit": {"reason": "done"}},
    ],
}


def journey_with_eva(hub: Hub, shop: Shop) -> str:
    """The journey above, active, with Eva inside; answers its id."""
    created = hub.journeys.create(JOURNEY, "test")
    hub.journeys.set_status(created["id"], "active")
    hub.journeys.enter(created["id"], shop.eva, None, {}, "test")
    return str(created["id"])


def ready_pickup(http: httpx.Client, hub: Hub, profile_id: str, store: str) -> str:
    """A click & collect order of the shop's drill for ``store``, moved on to ready for pick-up."""
    token = hub.tokens.create(f"orders-{store}-{profile_id[-6:]}", "admin")[1]
    order = post(
        http,
        token,
        "/api/commerce/orders",
        {
            "profile_id": profile_id,
            "channel": "web",
            "fulfilment": "click_and_collect",
            "fulfilment_location_id": store,
            "lines": [{"sku": "DRILL-18V-BLUE", "quantity": 1}],
        },
    )
    for status in ("confirmed", "ready_for_pickup"):
        post(http, token, f"/api/commerce/orders/{order['id']}/status", {"status": status}, status=200)
    return str(order["id"])


def send_task(
    http: httpx.Client, hub: Hub, profile_id: str, queue: str, kind: str, subject: str, text: str
) -> None:
    """A staff task for ``queue`` about a customer, sent as a transactional message."""
    token = hub.tokens.create(f"tasks-{queue}", "admin")[1]
    sent = http.post(
        "/api/messages",
        json={
            "profile_id": profile_id,
            "channel": "task",
            "queue": queue,
            "kind": kind,
            "transactional": True,
            "content": {"subject": subject, "text": text},
        },
        headers=bearer(token),
    )
    assert sent.status_code < 300, sent.text


def give_phone(http: httpx.Client, hub: Hub, user_id: str, phone: str) -> None:
    """The phone system tells the hub a customer's number, under her customer number."""
    _, key = hub.sources.create(f"phone-system-{user_id}", "other")
    batch = [{"type": "identify", "userId": user_id, "traits": {"phone": phone}}]
    sent = http.post("/v1/batch", json={"batch": batch}, auth=(key, ""))
    assert sent.status_code == 200, sent.text
