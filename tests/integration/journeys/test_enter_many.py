"""``JourneyEngine.enter_many`` on SQLite and PostgreSQL: a batch answers each entry as ``enter`` would
have, had the customers come one by one (re-entry rules inside one batch, duplicates, unknown and
merged profiles, audience, keys), and the first steps it takes send and wait as single entries do."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Connection

from omnikanal.db.engine import read_tx, run_write
from omnikanal.journeys.engine import Entered, Entry
from tests.journey_support import World

WAIT = {"id": "wait", "wait": {"duration": "P1D"}}
# a first pass that ends the run at once
MARK = {"id": "mark", "update_trait": {"key": "marked", "value": True}}
MAIL = {
    "id": "mail",
    "send": {
        "channel": "email",
        "transactional": True,
        "content": {"subject": "Hallo", "text": "Willkommen"},
    },
}


def journey(world: World, *steps: dict[str, Any], **extra: Any) -> str:
    document = {"name": extra.pop("name", "batch"), "trigger": {"api": {}}, "steps": list(steps), **extra}
    return world.journey(document)


def enter_many(world: World, journey_id: str, *entries: Entry) -> list[Entered]:
    engine = world.hub.journeys.engine

    def work(conn: Connection) -> list[Entered]:
        version = engine.version(conn, journey_id, 1)
        return engine.enter_many(conn, version, entries, world.clock.now())

    return run_write(world.hub.engine, work)


def entry(pid: str, origin: str, key: str = "", **data: Any) -> Entry:
    return Entry(pid, key, origin, data)


def reasons(answers: list[Entered]) -> list[str]:
    return [reason for _, reason in answers]


@pytest.mark.parametrize(
    ("reentry", "first_pass_ends", "expected"),
    [
        ({"reentry": "once"}, False, ["entered", "already_inside"]),
        ({"reentry": "once"}, True, ["entered", "entered_before"]),
        ({"reentry": "after_exit"}, False, ["entered", "already_inside"]),
        ({"reentry": "after_exit"}, True, ["entered", "entered"]),
        ({"reentry": "cooldown", "cooldown": "P2D"}, False, ["entered", "already_inside"]),
        ({"reentry": "cooldown", "cooldown": "P2D"}, True, ["entered", "cooling_down"]),
        ({"reentry": "every_time"}, False, ["entered", "entered"]),
        ({"reentry": "every_time"}, True, ["entered", "entered"]),
    ],
)
def test_the_same_customer_twice_in_one_batch_follows_the_reentry_rule(
    world: World, reentry: dict[str, Any], first_pass_ends: bool, expected: list[str]
) -> None:
    pid, other = world.identify("rea"), world.identify("reb")
    journey_id = journey(world, MARK if first_pass_ends else WAIT, entry=reentry)
    answers = enter_many(world, journey_id, entry(pid, "o1"), entry(other, "o1"), entry(pid, "o2"))
    assert reasons(answers) == [expected[0], "entered", expected[1]]
    runs = world.runs(journey_id)
    assert len(runs) == 1 + expected.count("entered")
    assert {r["id"] for r in runs} == {run_id for run_id, _ in answers if run_id is not None}
    # the rule also holds against the runs of earlier batches
    again = enter_many(world, journey_id, entry(pid, "o3"))
    assert reasons(again) == [expected[1]]


def test_a_cooldown_lets_a_customer_in_again_once_it_has_passed(world: World) -> None:
    pid = world.identify("coo")
    journey_id = journey(world, MARK, entry={"reentry": "cooldown", "cooldown": "P2D"})
    assert reasons(enter_many(world, journey_id, entry(pid, "a"))) == ["entered"]
    world.clock.advance(timedelta(days=2))
    assert reasons(enter_many(world, journey_id, entry(pid, "b"), entry(pid, "c"))) == [
        "entered",
        "cooling_down",
    ]


def test_an_origin_enters_a_customer_once_and_unknown_profiles_are_named(world: World) -> None:
    first, second = world.identify("dua"), world.identify("dub")
    journey_id = journey(world, WAIT, entry={"reentry": "every_time"})
    answers = enter_many(
        world,
        journey_id,
        entry(first, "order-1"),
        entry(first, "order-1"),  # the same cause twice: one run
        entry(second, "order-1"),  # the same cause for another customer: a run of theirs
        entry("prf_nobody", "order-1"),
    )
    assert reasons(answers) == ["entered", "duplicate", "entered", "unknown_profile"]
    assert answers[1][0] is None
    assert answers[3][0] is None
    # an origin entered by an earlier batch is a duplicate too
    assert reasons(enter_many(world, journey_id, entry(first, "order-1"), entry(first, "order-2"))) == [
        "duplicate",
        "entered",
    ]
    assert len(world.runs(journey_id)) == 3
    assert world.timers() == 3


def test_the_audience_decides_per_customer(world: World) -> None:
    gold, silver = world.identify("aug", tier="gold"), world.identify("aus", tier="silver")
    journey_id = journey(
        world, WAIT, entry={"audience": {"trait": {"key": "tier", "op": "eq", "value": "gold"}}}
    )
    answers = enter_many(world, journey_id, entry(silver, "x"), entry(gold, "x"))
    assert reasons(answers) == ["not_in_audience", "entered"]
    [run] = world.runs(journey_id)
    assert run["profile_id"] == gold


def test_an_audience_on_a_computed_trait_reads_each_customers_value(world: World) -> None:
    definition = {
        "name": "lifetime_value",
        "function": "sum",
        "event": "Order Completed",
        "property": "revenue",
    }
    world.put("/api/computed-traits", definition)
    big, small = world.identify("cbig"), world.identify("csmall")
    world.track("cbig", "Order Completed", revenue=150)
    world.track("csmall", "Order Completed", revenue=20)
    journey_id = journey(
        world, WAIT, entry={"audience": {"computed": {"name": "lifetime_value", "op": "gte", "value": 100}}}
    )
    answers = enter_many(world, journey_id, entry(small, "x"), entry(big, "x"), entry(small, "y"))
    assert reasons(answers) == ["not_in_audience", "entered", "not_in_audience"]


def test_keyed_runs_of_one_customer_go_in_parallel_within_a_batch(world: World) -> None:
    pid = world.identify("key")
    journey_id = journey(world, WAIT, entry={"key": "cart_id"})
    answers = enter_many(
        world,
        journey_id,
        entry(pid, "e1", "A", cart_id="A"),
        entry(pid, "e2", "B", cart_id="B"),
        entry(pid, "e3", "A", cart_id="A"),  # already inside for cart A
    )
    assert reasons(answers) == ["entered", "entered", "already_inside"]
    assert sorted(r["key"] for r in world.runs(journey_id)) == ["A", "B"]
    assert world.timers() == 2


def test_a_merged_profile_enters_as_its_live_profile_and_its_earlier_runs_count(world: World) -> None:
    world.send(world.web, {"type": "track", "anonymousId": "anon-1", "event": "Page Seen"})
    anonymous = world.get("/api/profiles/lookup", type="anonymous_id", value="anon-1")["id"]
    known = world.identify("mer")
    journey_id = journey(world, MARK, entry={"reentry": "once"})
    assert reasons(enter_many(world, journey_id, entry(anonymous, "before"))) == ["entered"]
    world.send(world.web, {"type": "identify", "userId": "mer", "anonymousId": "anon-1"})
    live = world.pid("mer")
    assert live in (anonymous, known)
    absorbed = known if live == anonymous else anonymous
    # the absorbed id is let in as the live profile, whose family has been in this journey before
    answers = enter_many(world, journey_id, entry(absorbed, "after"), entry(live, "after-2"))
    assert reasons(answers) == ["entered_before", "entered_before"]
    every = journey(world, MARK, name="every", entry={"reentry": "every_time"})
    [(run_id, reason)] = enter_many(world, every, entry(absorbed, "x"))
    assert reason == "entered"
    [run] = world.runs(every)
    assert (run["id"], run["profile_id"]) == (run_id, live)


def test_first_steps_send_and_wait_for_the_whole_batch(world: World) -> None:
    pids = [world.identify(f"fs{i}", email=f"fs{i}@example.org") for i in range(5)]
    journey_id = journey(world, MAIL, {"id": "later", "wait": {"duration": "PT1H"}}, MAIL | {"id": "again"})
    answers = enter_many(
        world, journey_id, *(entry(pid, "welcome", name=f"n{i}") for i, pid in enumerate(pids))
    )
    assert reasons(answers) == ["entered"] * 5
    for pid, (run_id, _) in zip(pids, answers, strict=True):
        [message] = world.messages_of(pid)
        assert message.status == "queued"
        assert run_id is not None
        steps = world.steps(journey_id, run_id)
        assert [(s["step"], s["outcome"]) for s in steps] == [("mail", "enqueued"), ("later", "waiting")]
        assert steps[0]["message_id"] == message.id
    assert world.timers() == 5
    runs = world.runs(journey_id)
    assert {(r["step"], r["status"]) for r in runs} == {("later", "active")}
    assert world.advance(timedelta(hours=1)) == 5
    assert all(len(world.messages_of(pid)) == 2 for pid in pids)
    assert {r["exit_reason"] for r in world.runs(journey_id)} == {"completed"}
    assert world.dispatch() == 10
    assert len(world.smtp.to("fs0@example.org")) == 2


def test_enter_is_a_batch_of_one(world: World) -> None:
    pid = world.identify("one")
    journey_id = journey(world, WAIT)
    engine = world.hub.journeys.engine

    def work(conn: Connection) -> list[Entered]:
        version = engine.version(conn, journey_id, 1)
        now = world.clock.now()
        return [engine.enter(conn, version, pid, "", origin, {}, now) for origin in ("a", "b")]

    assert reasons(run_write(world.hub.engine, work)) == ["entered", "already_inside"]
    with read_tx(world.hub.engine) as conn:
        assert engine.enter(
            conn, engine.version(conn, journey_id, 1), "prf_x", "", "c", {}, world.clock.now()
        ) == (
            None,
            "unknown_profile",
        )


CART = {
    "name": "Abandoned cart",
    "trigger": {"event": {"name": "Product Added"}},
    "entry": {"key": "cart_id"},
    "exit": [{"event": {"name": "Order Completed"}}],
    "steps": [{"id": "wait", "wait": {"duration": "PT1H"}}],
}


def test_the_processor_enters_a_batch_of_events_and_a_later_event_of_a_customer_sees_its_run(
    world: World,
) -> None:
    users = ["pa", "pb", "pc"]
    pids = {u: world.identify(u) for u in users}
    journey_id = world.journey(CART)
    items = [
        {"type": "track", "userId": u, "event": "Product Added", "properties": {"cart_id": f"c-{u}"}}
        for u in users
    ]
    # in the same batch: pa orders (its run, entered by the first event, ends) and adds again
    items.append(
        {"type": "track", "userId": "pa", "event": "Order Completed", "properties": {"cart_id": "c-pa"}}
    )
    items.append(
        {"type": "track", "userId": "pa", "event": "Product Added", "properties": {"cart_id": "c-pa"}}
    )
    world.send(world.web, *items)
    runs = world.runs(journey_id)
    by_customer: dict[str, list[tuple[str, str | None]]] = {}
    for run in runs:
        by_customer.setdefault(run["profile_id"], []).append((run["status"], run["exit_reason"]))
    assert sorted(by_customer[pids["pa"]]) == [("active", None), ("ended", "event:Order Completed")]
    assert by_customer[pids["pb"]] == [("active", None)]
    assert by_customer[pids["pc"]] == [("active", None)]
    assert world.timers() == 3


def test_a_batch_racing_another_for_the_same_customers_enters_none_twice(world: World) -> None:
    if world.hub.engine.dialect.name != "postgresql":
        pytest.skip("SQLite lets one writer in at a time: the second batch sees the first one's runs")
    pids = [world.identify(f"race{i}") for i in range(3)]
    journey_id = journey(world, WAIT)
    engine = world.hub.journeys.engine
    second: list[Entered] = []

    def enter_second() -> None:
        second.extend(enter_many(world, journey_id, *(entry(p, "second") for p in reversed(pids))))

    with world.hub.engine.connect() as conn:
        first = conn.begin()
        version = engine.version(conn, journey_id, 1)
        answers = engine.enter_many(conn, version, [entry(p, "first") for p in pids], world.clock.now())
        assert reasons(answers) == ["entered"] * 3
        racer = threading.Thread(target=enter_second)
        racer.start()
        racer.join(0.5)
        assert racer.is_alive()  # its insert waits for the first batch's rows
        first.commit()
    racer.join(30)
    assert reasons(second) == ["duplicate"] * 3
    assert len(world.runs(journey_id)) == 3
    assert world.timers() == 3
