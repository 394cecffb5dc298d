"""The store page's rows act, over real HTTP on both engines: a click & collect order is handed over,
a reservation cancelled, a store task taken and finished with its outcome; each through the same
services as the API, each on the customer's timeline, and never for another store's rows."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest

from omnikanal.hub import Hub
from omnikanal.profiles.service import TimelineQuery
from tests.conftest import LiveServer
from tests.console_helpers import Shop, build_shop, csrf_of, login, make_users, ready_pickup, send_task
from tests.helpers import assert_error


@pytest.fixture
def shop(hub: Hub, http: httpx.Client) -> Shop:
    make_users(hub)
    return build_shop(http, hub)


@pytest.fixture
def store_client(live_server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live_server.url, timeout=30) as client:
        assert login(client, "store").status_code == 303
        yield client


def _events(hub: Hub, profile_id: str) -> list[str]:
    events = hub.profiles.timeline(profile_id, TimelineQuery(limit=50))["events"]
    return [e.get("event") or e["type"] for e in events]


def test_a_click_and_collect_order_is_handed_over_from_its_row(
    shop: Shop, hub: Hub, http: httpx.Client, store_client: httpx.Client
) -> None:
    order_id = ready_pickup(http, hub, shop.eva, "store-mitte")
    page = store_client.get("/console/store").text
    assert f'action="/console/store/pickups/{order_id}"' in page
    assert "Abholbereit" in page
    assert "Eva Müller" in page
    assert "ready_for_pickup" not in page
    done = store_client.post(f"/console/store/pickups/{order_id}", data={"csrf": csrf_of(page)})
    assert done.status_code == 303
    assert "done=handed_over" in done.headers["location"]
    assert hub.commerce.orders.get(order_id)["status"] == "picked_up"
    after = store_client.get(done.headers["location"]).text
    assert "Die Bestellung wurde übergeben." in after
    assert f"/console/store/pickups/{order_id}" not in after
    # A second click (a colleague's, a double tap) changes nothing and says the list moved on.
    again = store_client.post(f"/console/store/pickups/{order_id}", data={"csrf": csrf_of(page)})
    assert "done=stale" in again.headers["location"]


def test_a_reservation_is_cancelled_from_its_row_and_shows_on_the_timeline(
    shop: Shop, hub: Hub, store_client: httpx.Client
) -> None:
    own = shop.reservations["store-mitte"]
    page = store_client.get("/console/store").text
    done = store_client.post(f"/console/store/reservations/{own}/cancel", data={"csrf": csrf_of(page)})
    assert done.status_code == 303
    assert "done=cancelled" in done.headers["location"]
    assert hub.commerce.reservations.get(own)["status"] == "cancelled"
    assert "Reservation Cancelled" in _events(hub, shop.eva)


def test_another_stores_rows_are_refused_and_unchanged(
    shop: Shop, hub: Hub, http: httpx.Client, store_client: httpx.Client
) -> None:
    other = shop.reservations["store-kreuzberg"]
    order_id = ready_pickup(http, hub, shop.other, "store-kreuzberg")
    csrf = csrf_of(store_client.get("/console/store").text)
    refused = store_client.post(f"/console/store/reservations/{other}/cancel", data={"csrf": csrf})
    assert_error(refused, 403, "other_store")
    assert_error(
        store_client.post(f"/console/store/pickups/{order_id}", data={"csrf": csrf}), 403, "other_store"
    )
    assert hub.commerce.reservations.get(other)["status"] == "active"
    assert hub.commerce.orders.get(order_id)["status"] == "ready_for_pickup"
    # Without the form's CSRF token nothing happens either.
    own = shop.reservations["store-mitte"]
    assert store_client.post(f"/console/store/reservations/{own}/cancel", data={}).status_code == 403
    assert hub.commerce.reservations.get(own)["status"] == "active"


def test_a_store_task_is_taken_and_finished_with_its_outcome(
    shop: Shop, hub: Hub, http: httpx.Client, store_client: httpx.Client
) -> None:
    send_task(
        http,
        hub,
        shop.eva,
        "store:store-mitte",
        "advice",
        "Beratung Akkuschrauber",
        "Frau Müller kommt um 15 Uhr.",
    )
    page = store_client.get("/console/store").text
    assert "Beratung Akkuschrauber" in page
    task_id = re.search(r'action="/console/store/tasks/([^"]+)"', page).group(1)  # type: ignore[union-attr]
    csrf = csrf_of(page)
    taken = store_client.post(f"/console/store/tasks/{task_id}", data={"csrf": csrf, "action": "claim"})
    assert "done=task_taken" in taken.headers["location"]
    assert 'name="outcome"' in store_client.get("/console/store").text
    finished = store_client.post(
        f"/console/store/tasks/{task_id}",
        data={"csrf": csrf, "action": "complete", "outcome": "Beraten, Akkuschrauber reserviert"},
    )
    assert "done=task_done" in finished.headers["location"]
    tasks = hub.messaging.tasks("store:store-mitte", None, 10, lambda _: None)
    assert [(t["status"], t["claimed_by"], t["outcome"]) for t in tasks] == [
        ("done", "staff:store", "Beraten, Akkuschrauber reserviert")
    ]
