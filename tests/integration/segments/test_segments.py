"""Segments and computed traits over HTTP, on SQLite and PostgreSQL, with a clock the tests move.

Scenario 8's audience: a customer who looks at one category again and again without buying.
"""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from omnikanal.clock import FixedClock
from omnikanal.db.engine import read_tx
from omnikanal.hub import Hub, build_hub
from omnikanal.segments.service import PROCESSOR
from omnikanal.segments.tables import segment_changes
from omnikanal.settings import Settings
from tests.conftest import LiveServer, utc
from tests.helpers import assert_error, bearer, iso, lookup, settle_after_server_error, timeline

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


@dataclass
class World:
    hub: Hub
    clock: FixedClock
    http: httpx.Client
    token: str
    web: tuple[str, str]
    app: tuple[str, str]
    store: tuple[str, str]

    def send(self, auth: tuple[str, str], *items: dict[str, Any]) -> None:
        response = self.http.post("/v1/batch", json={"batch": list(items)}, auth=auth)
        assert response.status_code == 200, response.text
        assert response.json()["accepted"] == len(items), response.text
        self.process()

    def process(self) -> None:
        """Hand every committed event to the processors, as the background runner would.

        On PostgreSQL the log hands out a transaction's events once no older transaction is running,
        so this waits until the segments processor's cursor has passed every stored event.
        """
        deadline = time.monotonic() + 10
        while True:
            self.hub.runner.run_once()
            behind = self.hub.eventlog.behind(PROCESSOR)
            if behind == 0:
                return
            assert time.monotonic() < deadline, f"the segments processor is {behind} events behind"
            time.sleep(0.01)

    def view(self, user: str, category: str = "Werkzeug", days_ago: float = 0) -> dict[str, Any]:
        return {
            "type": "track",
            "userId": user,
            "event": "Product Viewed",
            "properties": {"category": category, "sku": "drill-1"},
            "timestamp": iso(self.clock.now() - timedelta(days=days_ago)),
        }

    def order(self, user: str, revenue: float, days_ago: float = 0) -> dict[str, Any]:
        return {
            "type": "track",
            "userId": user,
            "event": "Order Completed",
            "properties": {"revenue": revenue, "store": "Berlin-Mitte"},
            "timestamp": iso(self.clock.now() - timedelta(days=days_ago)),
        }

    def pid(self, user: str) -> str:
        return str(lookup(self.http, self.token, "user_id", user)["id"])

    def get(self, path: str, **params: Any) -> Any:
        response = self.http.get(path, params=params, headers=bearer(self.token))
        assert response.status_code == 200, response.text
        return response.json()

    def post(self, path: str, body: Any, status: int = 200) -> Any:
        response = self.http.post(path, json=body, headers=bearer(self.token))
        assert response.status_code == status, response.text
        return response.json()

    def segments_of(self, user: str) -> list[str]:
        return [s["name"] for s in self.get(f"/api/profiles/{self.pid(user)}/segments")["segments"]]


@pytest.fixture
def world(settings: Settings) -> Iterator[World]:
    clock = FixedClock(utc(2026, 11, 20, 12))
    hub = build_hub(settings.model_copy(update={"segment_batch_recheck_seconds": 0}), clock)
    # the ingest writer and the audit trail run; processors and the re-check are called by the tests
    hub.writer.start()
    hub.audit.start()
    server = LiveServer(hub)
    server.start()
    web, app, store = (
        hub.sources.create(n, c)[1] for n, c in (("shop", "web"), ("app", "app"), ("till", "pos"))
    )
    token = hub.tokens.create("marketing", "marketing")[1]
    with httpx.Client(base_url=server.url, timeout=30) as client:
        client.event_hooks["response"].append(settle_after_server_error)
        yield World(hub, clock, client, token, (web, ""), (app, ""), (store, ""))
    server.stop()
    hub.close()


def test_scenario_8_enters_on_the_third_view_across_two_channels_and_leaves_when_an_order_arrives(
    world: World,
) -> None:
    segment = world.post("/api/segments", {"name": "Werkzeug browsers", "condition": SCENARIO_8}, 201)
    assert segment["member_count"] == 0

    world.send(world.web, world.view("anna", days_ago=3), world.view("anna", days_ago=2))
    world.send(world.web, world.view("anna", category="Garten", days_ago=1))
    assert world.segments_of("anna") == []  # two Werkzeug views, one channel
    world.send(world.app, world.view("anna"))
    assert world.segments_of("anna") == ["Werkzeug browsers"]
    assert world.get(f"/api/segments/{segment['id']}")["member_count"] == 1

    events = timeline(world.http, world.token, world.pid("anna"), event="Segment Entered")
    assert len(events) == 1
    assert events[0]["properties"] == {"segment_id": segment["id"], "segment_name": "Werkzeug browsers"}

    world.send(world.web, world.order("anna", 129.0))
    assert world.segments_of("anna") == []
    exits = timeline(world.http, world.token, world.pid("anna"), event="Segment Exited")
    assert [e["properties"]["segment_id"] for e in exits] == [segment["id"]]
    # the processor does not react to its own events: one entry and one exit, nothing more
    with read_tx(world.hub.engine) as conn:
        changes = [r.change for r in conn.execute(select(segment_changes).order_by(segment_changes.c.id))]
    assert changes == ["entered", "exited"]


def test_scenario_8_members_leave_when_their_views_age_out(world: World) -> None:
    segment = world.post("/api/segments", {"name": "browsers", "condition": SCENARIO_8}, 201)
    world.send(world.web, world.view("ben", days_ago=10), world.view("ben", days_ago=9))
    world.send(world.app, world.view("ben", days_ago=1))
    assert world.segments_of("ben") == ["browsers"]

    world.clock.advance(timedelta(days=3, hours=23))  # the oldest view is 13 days and 23 hours old
    assert world.hub.segment_recheck.run_once() == 0  # nothing is due yet
    assert world.segments_of("ben") == ["browsers"]

    world.clock.advance(timedelta(hours=2))  # the oldest view is now outside the 14 days
    assert world.hub.segment_recheck.run_once() == 1
    assert world.segments_of("ben") == []
    assert world.get(f"/api/segments/{segment['id']}")["member_count"] == 0
    exits = timeline(world.http, world.token, world.pid("ben"), event="Segment Exited")
    assert len(exits) == 1


def test_a_new_segment_is_computed_in_batch_over_existing_profiles_and_can_be_changed(world: World) -> None:
    for user in ("u1", "u2", "u3"):
        world.send(world.web, world.view(user, days_ago=2), world.view(user, days_ago=1))
        world.send(world.app, world.view(user))
    world.send(world.web, world.order("u3", 50.0))
    segment = world.post("/api/segments", {"name": "browsers", "condition": SCENARIO_8}, 201)
    assert segment["member_count"] == 2
    assert sorted(world.segments_of(u)[0] for u in ("u1", "u2")) == ["browsers", "browsers"]
    assert world.segments_of("u3") == []

    wider = {"event": {"name": "Product Viewed", "min": 1}}
    response = world.http.patch(
        f"/api/segments/{segment['id']}", json={"condition": wider}, headers=bearer(world.token)
    )
    assert response.status_code == 200, response.text
    assert response.json()["member_count"] == 3
    assert world.segments_of("u3") == ["browsers"]

    listed = world.get("/api/segments")["segments"]
    assert [(s["name"], s["member_count"]) for s in listed] == [("browsers", 3)]
    response = world.http.delete(f"/api/segments/{segment['id']}", headers=bearer(world.token))
    assert response.status_code == 200, response.text
    assert response.json() == {"deleted": segment["id"], "members_left": 3}
    assert world.get("/api/segments")["segments"] == []
    assert world.segments_of("u1") == []
    # the members left it the way they leave by their own doing: a timeline event and a change row each
    for user in ("u1", "u2", "u3"):
        exits = timeline(world.http, world.token, world.pid(user), event="Segment Exited")
        assert [e["properties"]["segment_id"] for e in exits] == [segment["id"]]
    with read_tx(world.hub.engine) as conn:
        left = conn.execute(
            select(func.count())
            .select_from(segment_changes)
            .where(segment_changes.c.segment_id == segment["id"], segment_changes.c.change == "exited")
        ).scalar_one()
    assert left == 3


def test_preview_counts_and_samples_without_saving(world: World) -> None:
    for n in range(25):
        world.send(world.web, world.view(f"p{n:02d}"))
    result = world.post("/api/segments/preview", {"condition": {"event": {"name": "Product Viewed"}}})
    assert result["count"] == 25
    assert len(result["sample"]) == 20
    assert set(result["sample"]) <= {world.pid(f"p{n:02d}") for n in range(25)}
    assert world.get("/api/segments")["segments"] == []
    none = world.post("/api/segments/preview", {"condition": {"event": {"name": "Product Viewed", "min": 2}}})
    assert none == {"count": 0, "sample": [], "computed_at": none["computed_at"]}


def test_members_come_in_pages_and_as_csv(world: World) -> None:
    for n in range(7):
        world.send(world.web, world.view(f"m{n}"))
    segment = world.post(
        "/api/segments", {"name": "viewers", "condition": {"event": {"name": "Product Viewed"}}}, 201
    )
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 3}
        if cursor:
            params["cursor"] = cursor
        page = world.get(f"/api/segments/{segment['id']}/members", **params)
        pages += 1
        seen.extend(m["profile_id"] for m in page["members"])
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert pages == 3
    assert sorted(seen) == seen
    assert set(seen) == {world.pid(f"m{n}") for n in range(7)}

    response = world.http.get(f"/api/segments/{segment['id']}/members.csv", headers=bearer(world.token))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [r["profile_id"] for r in rows] == seen
    assert all(r["entered_at"].endswith("Z") for r in rows)


def test_a_restricted_profile_is_never_a_member(world: World) -> None:
    world.send(world.web, world.view("free"), world.view("kept"))
    kept = world.pid("kept")
    response = world.http.post(
        "/api/privacy/requests",
        json={"type": "restriction", "profile_id": kept},
        headers=bearer(world.hub.tokens.create("dpo", "privacy")[1]),
    )
    assert response.status_code in (200, 201), response.text
    condition = {"event": {"name": "Product Viewed"}}
    assert world.post("/api/segments/preview", {"condition": condition})["sample"] == [world.pid("free")]
    world.post("/api/segments", {"name": "viewers", "condition": condition}, 201)
    world.send(world.web, world.view("kept"))  # the processor keeps it out too
    assert world.segments_of("kept") == []
    assert world.segments_of("free") == ["viewers"]


def test_computed_traits_lifetime_value_favourite_category_and_preferred_channel(world: World) -> None:
    definitions = [
        {"name": "lifetime_value", "function": "sum", "event": "Order Completed", "property": "revenue"},
        {
            "name": "favourite_category",
            "function": "most_frequent",
            "event": "Product Viewed",
            "property": "category",
            "within_days": 90,
        },
        {"name": "preferred_channel", "function": "most_frequent", "channel": True},
        {
            "name": "preferred_store",
            "function": "most_frequent",
            "event": "Order Completed",
            "property": "store",
        },
        {"name": "days_since_last_order", "function": "days_since_last", "event": "Order Completed"},
    ]
    for definition in definitions:
        response = world.http.put("/api/computed-traits", json=definition, headers=bearer(world.token))
        assert response.status_code == 200, response.text
    world.send(world.app, world.view("cara", "Garten", 5), world.view("cara", "Werkzeug", 4))
    world.send(world.app, world.view("cara", "Werkzeug", 3), world.order("cara", 19.5, 3))
    world.send(world.web, world.order("cara", 100.25, 2))
    computed = world.get(f"/api/profiles/{world.pid('cara')}/computed")["computed"]
    assert computed == {
        "days_since_last_order": 2,
        "favourite_category": "Werkzeug",
        "lifetime_value": 119.75,
        "preferred_channel": "app",
        "preferred_store": "Berlin-Mitte",
    }
    world.clock.advance(timedelta(days=1))
    assert world.get(f"/api/profiles/{world.pid('cara')}/computed")["computed"]["days_since_last_order"] == 3

    # computed traits in a condition, in real time and in batch
    big = {"computed": {"name": "lifetime_value", "op": "gte", "value": 100}}
    assert world.post("/api/segments/preview", {"condition": big})["count"] == 1
    world.post("/api/segments", {"name": "big spenders", "condition": big}, 201)
    assert world.segments_of("cara") == ["big spenders"]
    recent = {"computed": {"name": "days_since_last_order", "op": "lte", "value": 3}}
    assert world.post("/api/segments/preview", {"condition": recent})["count"] == 1
    stale = {"computed": {"name": "days_since_last_order", "op": "gt", "value": 3}}
    assert world.post("/api/segments/preview", {"condition": stale})["count"] == 0


def test_a_computed_trait_defined_later_is_filled_by_the_recheck_job(world: World) -> None:
    world.send(world.web, world.order("dora", 10), world.order("dora", 5))
    response = world.http.put(
        "/api/computed-traits",
        json={"name": "orders", "function": "count", "event": "Order Completed"},
        headers=bearer(world.token),
    )
    assert response.status_code == 200, response.text
    assert world.hub.segment_recheck.run_until_done() >= 1
    assert world.get(f"/api/profiles/{world.pid('dora')}/computed")["computed"] == {"orders": 2}
    assert world.get("/api/computed-traits")["computed_traits"][0]["name"] == "orders"


@pytest.mark.parametrize(
    ("condition", "code", "field"),
    [
        ({"all": []}, "empty_group", "all"),
        ({"all": [{"trait": {"key": "city", "op": "like", "value": "B"}}]}, "unknown_op", "all[0].trait.op"),
        (
            {"any": [{"event": {"name": "X", "within_days": 5000}}]},
            "window_too_long",
            "any[0].event.within_days",
        ),
        (
            {
                "all": [
                    {"trait": {"key": "a", "op": "eq", "value": 1}},
                    {"not": {"event": {"name": "Y", "size": 3}}},
                ]
            },
            "unknown_key",
            "all[1].not.event.size",
        ),
        ({"event": {"name": "Y", "min": "three"}}, "invalid_condition", "event.min"),
        ({"segment": {}}, "unknown_condition", "segment"),
    ],
)
def test_invalid_conditions_are_refused_naming_the_place(
    world: World, condition: dict[str, Any], code: str, field: str
) -> None:
    for path, body in (
        ("/api/segments", {"name": "bad", "condition": condition}),
        ("/api/segments/preview", {"condition": condition}),
    ):
        response = world.http.post(path, json=body, headers=bearer(world.token))
        assert_error(response, 400, code, field)
    assert world.get("/api/segments")["segments"] == []


def test_segment_permissions_and_missing_things(world: World) -> None:
    store_token = world.hub.tokens.create("till", "store", "store-mitte")[1]
    response = world.http.get("/api/segments", headers=bearer(store_token))
    assert_error(response, 403, response.json()["error"]["code"])
    service_token = world.hub.tokens.create("hotline", "service")[1]
    assert world.http.get("/api/segments", headers=bearer(service_token)).status_code == 200
    response = world.http.post(
        "/api/segments",
        json={"name": "x", "condition": {"event": {"name": "A"}}},
        headers=bearer(service_token),
    )
    assert response.status_code == 403
    assert_error(
        world.http.get("/api/segments/seg_nope", headers=bearer(world.token)), 404, "segment_not_found"
    )
    world.post("/api/segments", {"name": "dup", "condition": {"event": {"name": "A"}}}, 201)
    response = world.http.post(
        "/api/segments",
        json={"name": "dup", "condition": {"event": {"name": "A"}}},
        headers=bearer(world.token),
    )
    assert_error(response, 409, "segment_exists", "name")
    response = world.http.put(
        "/api/computed-traits", json={"name": "x", "function": "median"}, headers=bearer(world.token)
    )
    assert_error(response, 400, "unknown_function", "function")


def test_a_merge_is_evaluated_on_the_live_profile(world: World) -> None:
    world.post("/api/segments", {"name": "browsers", "condition": SCENARIO_8}, 201)
    phone = dict(world.view("unused", days_ago=2))
    phone.pop("userId")
    phone["anonymousId"] = "phone-1"
    second = dict(phone, timestamp=iso(world.clock.now() - timedelta(days=1)))
    world.send(world.app, phone, second)  # anonymous, on the phone
    world.send(world.web, world.view("erik"))  # logged in, on the PC: a profile of its own
    anonymous = str(lookup(world.http, world.token, "anonymous_id", "phone-1")["id"])
    assert anonymous != world.pid("erik")
    assert world.segments_of("erik") == []

    login = {
        "type": "identify",
        "anonymousId": "phone-1",
        "userId": "erik",
        "timestamp": iso(world.clock.now()),
    }
    world.send(world.app, login)  # the login joins both: three views on two channels
    live = world.pid("erik")
    assert world.get(f"/api/profiles/{live}/segments")["segments"][0]["name"] == "browsers"
    # asked by the absorbed profile's id, the answer is the live profile's
    absorbed = world.get(f"/api/profiles/{anonymous}/segments")
    assert absorbed["profile_id"] == live
    members = world.get(f"/api/segments/{world.get('/api/segments')['segments'][0]['id']}/members")["members"]
    assert [m["profile_id"] for m in members] == [live]


def test_a_member_restricted_later_leaves_at_the_next_recheck_and_comes_back_when_lifted(
    world: World,
) -> None:
    world.post("/api/segments", {"name": "viewers", "condition": {"event": {"name": "Product Viewed"}}}, 201)
    world.send(world.web, world.view("greta"))
    pid = world.pid("greta")
    assert world.segments_of("greta") == ["viewers"]
    dpo = bearer(world.hub.tokens.create("dpo", "privacy")[1])
    response = world.http.post(
        "/api/privacy/requests", json={"type": "restriction", "profile_id": pid}, headers=dpo
    )
    assert response.status_code in (200, 201), response.text
    # no event announces a restriction: the request marks the profile due, the re-check takes it out
    assert world.hub.segment_recheck.run_once() == 1
    with read_tx(world.hub.engine) as conn:
        changes = [
            r.change
            for r in conn.execute(
                select(segment_changes)
                .where(segment_changes.c.profile_id == pid)
                .order_by(segment_changes.c.id)
            )
        ]
    assert changes == ["entered", "exited"]
    response = world.http.post(
        "/api/privacy/requests",
        json={"type": "restriction", "profile_id": pid, "details": {"lift": True}},
        headers=dpo,
    )
    assert response.status_code in (200, 201), response.text
    assert world.hub.segment_recheck.run_once() == 1
    assert world.segments_of("greta") == ["viewers"]


def test_an_unmerge_is_picked_up_by_the_recheck_without_a_new_event(world: World) -> None:
    world.post("/api/segments", {"name": "browsers", "condition": SCENARIO_8}, 201)
    phone = dict(world.view("unused", days_ago=2))
    phone.pop("userId")
    phone["anonymousId"] = "phone-2"
    world.send(world.app, phone, dict(phone, timestamp=iso(world.clock.now() - timedelta(days=1))))
    world.send(world.web, world.view("hugo"))
    world.send(world.app, {"type": "identify", "anonymousId": "phone-2", "userId": "hugo"})
    live = world.pid("hugo")
    assert world.segments_of("hugo") == ["browsers"]
    merge = world.get(f"/api/profiles/{live}/merges")["merges"][0]
    service = bearer(world.hub.tokens.create("hotline", "service")[1])
    response = world.http.post(
        f"/api/profiles/{live}/unmerge", json={"merge_id": merge["id"]}, headers=service
    )
    assert response.status_code == 200, response.text
    # both halves are due now: each alone has one channel, so neither is a member any more
    assert world.hub.segment_recheck.run_once() == 2
    assert world.segments_of("hugo") == []
    restored = response.json()["restored_profile_id"]
    assert world.get(f"/api/profiles/{restored}/segments")["segments"] == []


def test_a_subscriber_hears_of_entries_and_exits_in_the_deciding_transaction(world: World) -> None:
    heard: list[tuple[str, str, str]] = []

    def listener(conn: Any, changes: list[Any]) -> None:
        # inside the transaction: the membership it reports is already written
        for change in changes:
            count = conn.execute(
                select(func.count())
                .select_from(segment_changes)
                .where(segment_changes.c.profile_id == change.profile_id)
            ).scalar_one()
            assert count >= 1
            heard.append((change.segment_name, change.profile_id, change.change))

    world.hub.segments.listeners.append(listener)
    world.post("/api/segments", {"name": "buyers", "condition": {"event": {"name": "Order Completed"}}}, 201)
    world.send(world.web, world.order("fiona", 10))
    pid = world.pid("fiona")
    assert heard == [("buyers", pid, "entered")]
    world.clock.advance(timedelta(days=1))
    response = world.http.patch(
        f"/api/segments/{world.get('/api/segments')['segments'][0]['id']}",
        json={"condition": {"event": {"name": "Order Completed", "within_hours": 12}}},
        headers=bearer(world.token),
    )
    assert response.status_code == 200, response.text
    assert heard == [("buyers", pid, "entered"), ("buyers", pid, "exited")]
