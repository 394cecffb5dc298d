"""The journey engine on SQLite and PostgreSQL over HTTP: each step kind, versions while customers are
inside, re-entry rules, keyed runs, exits that cancel waits, goals attributed to variant and message."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from tests.helpers import bearer
from tests.journey_support import World

CART = {
    "name": "Abandoned cart",
    "trigger": {"event": {"name": "Product Added"}},
    "entry": {"key": "cart_id"},
    "exit": [{"event": {"name": "Order Completed"}}],
    "goal": {"event": {"name": "Order Completed"}, "within": "P7D"},
    "steps": [
        {"id": "wait", "wait": {"duration": "PT1H"}},
        {"id": "remind", "send": {"channel": "email", "template": "cart", "purpose": "email_marketing"}},
    ],
}


def api_journey(*steps: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"name": extra.pop("name", "by api"), "trigger": {"api": {}}, "steps": list(steps), **extra}


def customer(world: World, user: str, **traits: Any) -> str:
    pid = world.identify(user, email=f"{user}@example.org", **traits)
    world.consent(pid, "email_marketing")
    return pid


def test_an_event_enters_a_wait_is_a_durable_timer_and_the_message_is_written_once(world: World) -> None:
    world.template("cart", "email", "Ihr Warenkorb {{ data.journey_key }} wartet.")
    pid = customer(world, "eva")
    journey_id = world.journey(CART)
    world.track("eva", "Product Added", cart_id="c-1", sku="drill")
    [run] = world.runs(journey_id)
    assert run["status"] == "active"
    assert run["step"] == "wait"
    assert run["key"] == "c-1"
    assert world.timers() == 1
    assert world.messages_of(pid) == []

    assert world.advance(timedelta(minutes=59)) == 0
    assert world.advance(timedelta(minutes=1)) == 1
    [message] = world.messages_of(pid)
    assert message.template == "cart"
    [run] = world.runs(journey_id)
    assert run["status"] == "ended"
    assert run["exit_reason"] == "completed"
    assert run["last_message_id"] == message.id
    assert [(s["step"], s["outcome"]) for s in world.steps(journey_id, run["id"])] == [
        ("wait", "waiting"),
        ("wait", "elapsed"),
        ("remind", "enqueued"),
    ]
    assert world.timers() == 0
    # the message goes out after the commit, through the gate, to a real SMTP server
    assert world.dispatch() == 1
    [mail] = world.smtp.to("eva@example.org")
    assert "c-1" in mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    # nothing more is due: no step runs twice
    assert world.advance(timedelta(days=1)) == 0
    assert len(world.messages_of(pid)) == 1


def test_keyed_runs_go_in_parallel_and_an_order_for_one_cart_exits_only_that_run(world: World) -> None:
    world.template("cart", "email", "Warenkorb")
    pid = customer(world, "kai")
    journey_id = world.journey(CART)
    world.track("kai", "Product Added", cart_id="A")
    world.track("kai", "Product Added", cart_id="B")
    world.track("kai", "Product Added", cart_id="A")  # already inside for cart A: no second run
    runs = {r["key"]: r for r in world.runs(journey_id)}
    assert set(runs) == {"A", "B"}
    assert world.timers() == 2

    world.track("kai", "Order Completed", cart_id="A", revenue=10)
    runs = {r["key"]: r for r in world.runs(journey_id)}
    assert runs["A"]["status"] == "ended"
    assert runs["A"]["exit_reason"] == "event:Order Completed"
    assert runs["B"]["status"] == "active"
    # the exit cancelled cart A's pending wait
    assert world.timers() == 1
    world.advance(timedelta(hours=1))
    [message] = world.messages_of(pid)
    assert message.data["journey_key"] == "B"
    runs = {r["key"]: r for r in world.runs(journey_id)}
    # the order came within the goal window of cart A's run, before any message: no message attributed
    assert runs["A"]["goal_at"] is not None
    assert runs["A"]["goal_message_id"] is None


def test_a_new_version_while_customers_are_inside_each_finishes_on_the_version_it_entered(
    world: World,
) -> None:
    world.template("cart", "email", "Version eins")
    world.template("cart-v2", "email", "Version zwei")
    first, second = customer(world, "v1"), customer(world, "v2")
    journey_id = world.journey(CART)
    world.track("v1", "Product Added", cart_id="x")
    changed = json.loads(json.dumps(CART))
    changed["steps"][0]["wait"]["duration"] = "PT2H"
    changed["steps"][1]["send"]["template"] = "cart-v2"
    updated = world.put(f"/api/journeys/{journey_id}", changed)
    assert updated["version"] == 2
    assert [v["version"] for v in updated["versions"]] == [1, 2]
    world.track("v2", "Product Added", cart_id="y")
    assert {r["profile_id"]: r["version"] for r in world.runs(journey_id)} == {first: 1, second: 2}
    stats = world.get(f"/api/journeys/{journey_id}/stats")  # currently at each step, per version
    assert [(v["version"], v["at_step"]) for v in stats["versions"]] == [(1, {"wait": 1}), (2, {"wait": 1})]

    world.advance(timedelta(hours=1))
    assert [m.template for m in world.messages_of(first)] == ["cart"]
    assert world.messages_of(second) == []
    world.advance(timedelta(hours=1))
    assert [m.template for m in world.messages_of(second)] == ["cart-v2"]
    stats = world.get(f"/api/journeys/{journey_id}/stats")
    assert [(v["version"], v["entered"], v["exited"], v["at_step"]) for v in stats["versions"]] == [
        (1, 1, {"completed": 1}, {}),
        (2, 1, {"completed": 1}, {}),
    ]


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ({"reentry": "once"}, [True, False, False]),
        ({"reentry": "after_exit"}, [True, False, True]),
        ({"reentry": "cooldown", "cooldown": "P2D"}, [True, False, False]),
        ({"reentry": "every_time"}, [True, True, True]),
    ],
)
def test_reentry_rules(world: World, entry: dict[str, Any], expected: list[bool]) -> None:
    pid = customer(world, "rita")
    journey_id = world.journey(api_journey({"id": "wait", "wait": {"duration": "P1D"}}, entry=entry))
    answers = [world.post(f"/api/journeys/{journey_id}/entries", {"profile_id": pid})["entered"]]
    # a second entry while the first run is inside
    answers.append(world.post(f"/api/journeys/{journey_id}/entries", {"profile_id": pid})["entered"])
    world.advance(timedelta(days=1))  # the run(s) end
    answers.append(world.post(f"/api/journeys/{journey_id}/entries", {"profile_id": pid})["entered"])
    assert answers == expected
    if entry["reentry"] == "cooldown":
        world.advance(timedelta(days=1, seconds=1))
        assert world.post(f"/api/journeys/{journey_id}/entries", {"profile_id": pid})["reason"] == "entered"


def test_an_idempotency_key_enters_once(world: World) -> None:
    pid = customer(world, "ida")
    journey_id = world.journey(
        api_journey({"id": "w", "wait": {"duration": "P1D"}}, entry={"reentry": "every_time"})
    )
    body = {"profile_id": pid, "idempotency_key": "order-1-review"}
    assert world.post(f"/api/journeys/{journey_id}/entries", body)["entered"] is True
    assert world.post(f"/api/journeys/{journey_id}/entries", body)["reason"] == "duplicate"


def test_branch_update_trait_task_webhook_and_exit_steps(world: World) -> None:
    pid = customer(world, "bea", tier="gold")
    document = api_journey(
        {
            "id": "vip",
            "branch": {
                "if": {"trait": {"key": "tier", "op": "eq", "value": "gold"}},
                "then": "mark",
                "else": "bye",
            },
        },
        {"id": "mark", "update_trait": {"key": "journey_vip", "value": True}},
        {"id": "call", "task": {"queue": "hotline", "kind": "call", "content": {"text": "Bitte anrufen"}}},
        {"id": "hook", "webhook": {"content": {"text": "vip entered"}}},
        {"id": "bye", "exit": {"reason": "done"}},
    )
    journey_id = world.journey(document)
    answer = world.post(f"/api/journeys/{journey_id}/entries", {"profile_id": pid})
    assert answer["entered"] is True
    steps = world.steps(journey_id, answer["run_id"])
    assert [(s["step"], s["outcome"]) for s in steps] == [
        ("vip", "then"),
        ("mark", "updated"),
        ("call", "enqueued"),
        ("hook", "enqueued"),
        ("bye", "exit"),
    ]
    profile = world.get(f"/api/profiles/{pid}")
    assert profile["traits"]["journey_vip"]["value"] is True
    channels = sorted(m.requested_channel for m in world.messages_of(pid))
    assert channels == ["task", "webhook"]
    world.dispatch()
    tasks = world.get("/api/tasks", queue="hotline")["tasks"]
    assert [t["profile_id"] for t in tasks] == [pid]
    assert len(world.hooks.received) == 1
    headers, _ = world.hooks.received[0]
    assert {k.lower() for k in headers} >= {"webhook-id", "webhook-signature", "webhook-timestamp"}
    [run] = world.runs(journey_id)
    assert run["exit_reason"] == "done"

    other = customer(world, "ben", tier="silver")
    answer = world.post(f"/api/journeys/{journey_id}/entries", {"profile_id": other})
    assert [s["outcome"] for s in world.steps(journey_id, answer["run_id"])] == ["else", "exit"]


def test_wait_for_an_event_first_to_happen_wins_and_already_true_skips(world: World) -> None:
    pid = customer(world, "wen")
    document = api_journey(
        {
            "id": "await",
            "wait_for": {"event": {"name": "App Opened"}, "timeout": "P1D", "on_timeout": "late"},
            "next": "opened",
        },
        {"id": "opened", "update_trait": {"key": "outcome", "value": "opened"}, "next": "end"},
        {"id": "late", "update_trait": {"key": "outcome", "value": "late"}},
        {"id": "end", "exit": {}},
        entry={"reentry": "every_time"},
    )
    journey_id = world.journey(document)
    first = world.post(f"/api/journeys/{journey_id}/entries", {"profile_id": pid})["run_id"]
    assert world.timers() == 1
    world.advance(timedelta(hours=2))
    world.track("wen", "App Opened")
    assert world.timers() == 0  # the event won; the timeout is gone
    assert [s["outcome"] for s in world.steps(journey_id, first)] == ["waiting", "matched", "updated", "exit"]
    assert world.get(f"/api/profiles/{pid}")["traits"]["outcome"]["value"] == "opened"

    world.clock.advance(timedelta(minutes=1))  # the App Opened above is from before this entry
    second = world.post(f"/api/journeys/{journey_id}/entries", {"profile_id": pid})["run_id"]
    world.advance(timedelta(days=1))
    assert [s["step"] for s in world.steps(journey_id, second)] == ["await", "await", "late", "end"]
    assert world.get(f"/api/profiles/{pid}")["traits"]["outcome"]["value"] == "late"


def test_wait_for_skips_when_the_event_happened_since_entry(world: World) -> None:
    pid = customer(world, "sky")
    document = api_journey(
        {"id": "pause", "wait": {"duration": "PT1H"}},
        {"id": "await", "wait_for": {"event": {"name": "App Opened"}, "timeout": "P1D"}},
        {"id": "end", "exit": {}},
    )
    journey_id = world.journey(document)
    run_id = world.post(f"/api/journeys/{journey_id}/entries", {"profile_id": pid})["run_id"]
    world.track("sky", "App Opened")  # during the first wait
    world.advance(timedelta(hours=1))
    assert [s["outcome"] for s in world.steps(journey_id, run_id)] == [
        "waiting",
        "elapsed",
        "already_true",
        "exit",
    ]


def test_split_is_sticky_holdout_gets_nothing_and_goals_count_per_variant(world: World) -> None:
    world.template("offer", "email", "Angebot")
    document = {
        "name": "split test",
        "trigger": {"api": {}},
        "entry": {"reentry": "every_time"},
        "goal": {"event": {"name": "Order Completed"}, "within": "P7D"},
        "steps": [
            {
                "id": "ab",
                "split": {
                    "variants": [
                        {"name": "A", "weight": 1, "next": "mail"},
                        {"name": "B", "weight": 1, "next": "end"},
                    ],
                    "holdout": 20,
                },
            },
            {"id": "mail", "send": {"channel": "email", "template": "offer", "purpose": "email_marketing"}},
            {"id": "end", "exit": {}},
        ],
    }
    journey_id = world.journey(document)
    pids = [customer(world, f"s{i}") for i in range(30)]
    for pid in pids:
        world.post(f"/api/journeys/{journey_id}/entries", {"profile_id": pid})
    first = {r["profile_id"]: r["variant"] for r in world.runs(journey_id, limit=500)}
    assert set(first.values()) == {"A", "B", "holdout"}
    for pid in pids:  # sticky: the same customer gets the same variant again
        world.post(f"/api/journeys/{journey_id}/entries", {"profile_id": pid})
    for run in world.runs(journey_id, limit=500):
        assert run["variant"] == first[run["profile_id"]]
    holdout = [pid for pid, v in first.items() if v == "holdout"]
    variant_a = [pid for pid, v in first.items() if v == "A"]
    assert all(world.messages_of(pid) == [] for pid in holdout)

    world.track(f"s{pids.index(variant_a[0])}", "Order Completed", revenue=5)
    world.track(f"s{pids.index(holdout[0])}", "Order Completed", revenue=5)
    runs = [r for r in world.runs(journey_id, limit=500) if r["goal_at"] is not None]
    by_variant = {r["variant"] for r in runs}
    assert by_variant == {"A", "holdout"}
    a_runs = [r for r in runs if r["variant"] == "A"]
    assert all(r["goal_message_id"] in {m.id for m in world.messages_of(variant_a[0])} for r in a_runs)
    stats = world.get(f"/api/journeys/{journey_id}/stats")
    [version] = stats["versions"]
    assert version["variants"]["A"]["goals"] == len(a_runs)
    assert version["variants"]["holdout"]["goals"] == 2  # both runs of that customer are in the window
    assert version["holdout_rate"] == version["variants"]["holdout"]["rate"]
    assert version["messages"]["email"] == {"queued": 2 * len(variant_a)}


def test_leaving_a_segment_exits_and_entering_one_triggers(world: World) -> None:
    world.post(
        "/api/segments",
        {"name": "app users", "condition": {"event": {"name": "App Opened", "within_days": 7}}},
        201,
    )
    document = {
        "name": "app onboarding",
        "trigger": {"segment_entered": "app users"},
        "exit": [{"segment_exited": "app users"}],
        "steps": [{"id": "wait", "wait": {"duration": "P30D"}}],
    }
    journey_id = world.journey(document)
    pid = customer(world, "seg")
    world.track("seg", "App Opened")
    [run] = world.runs(journey_id)
    assert (run["profile_id"], run["status"], run["step"]) == (pid, "active", "wait")
    world.clock.advance(timedelta(days=8))
    world.hub.segment_recheck.run_until_done()
    world.process()
    [run] = world.runs(journey_id)
    assert (run["status"], run["exit_reason"]) == ("ended", "segment_exited")
    assert world.timers() == 0


def test_a_paused_journey_lets_nobody_in_and_runs_inside_go_on(world: World) -> None:
    pid = customer(world, "pia")
    journey_id = world.journey(
        api_journey({"id": "w", "wait": {"duration": "PT1H"}}, entry={"reentry": "every_time"})
    )
    world.post(f"/api/journeys/{journey_id}/entries", {"profile_id": pid})
    world.post(f"/api/journeys/{journey_id}/pause")
    world.post(f"/api/journeys/{journey_id}/entries", {"profile_id": pid}, 409)
    world.advance(timedelta(hours=1))
    [run] = world.runs(journey_id)
    assert run["exit_reason"] == "completed"


def test_a_birthday_enters_once_per_year_at_local_midnight(world: World) -> None:
    pid = customer(world, "geb", birthday="1990-06-11", timezone="Europe/Berlin")
    journey_id = world.journey(
        {
            "name": "birthday",
            "trigger": {"date": {"trait": "birthday", "annual": True}},
            "entry": {"reentry": "every_time"},
            "steps": [{"id": "mark", "update_trait": {"key": "congratulated", "value": 2026}}],
        }
    )
    assert world.hub.journey_dates.run_once() == 0  # 10 June: not yet
    world.clock.advance(timedelta(hours=12))  # 11 June 00:00 in Berlin (22:00 UTC)
    assert world.hub.journey_dates.run_once() == 1
    assert world.hub.journey_dates.run_once() == 0  # the same occurrence never twice
    [run] = world.runs(journey_id)
    assert run["profile_id"] == pid
    assert world.get(f"/api/profiles/{pid}")["traits"]["congratulated"]["value"] == 2026


def test_n_days_after_the_last_order_from_a_computed_trait(world: World) -> None:
    """A date trigger on a computed trait: days_since_last keeps the last order's time, and the
    journey starts 30 days after it (local midnight); a later order starts a later occurrence."""
    world.put(
        "/api/computed-traits",
        {"name": "last_order", "function": "days_since_last", "event": "Order Completed"},
    )
    pid = customer(world, "ord", timezone="Europe/Berlin")
    journey_id = world.journey(
        {
            "name": "win back",
            "trigger": {"date": {"computed": "last_order", "offset": "P30D"}},
            "entry": {"reentry": "after_exit"},
            "steps": [{"id": "mark", "update_trait": {"key": "won_back", "value": True}}],
        }
    )
    world.track("ord", "Order Completed", order_id="o-1")  # 10 June, 10:00 UTC
    assert world.hub.journey_dates.run_once() == 0
    world.clock.advance(timedelta(days=29))  # 9 July
    assert world.hub.journey_dates.run_once() == 0
    world.clock.advance(timedelta(hours=12))  # 9 July 22:00 UTC = 10 July 00:00 in Berlin
    assert world.hub.journey_dates.run_once() == 1
    assert world.hub.journey_dates.run_once() == 0  # the same occurrence never twice
    [run] = world.runs(journey_id)
    assert (run["profile_id"], run["status"]) == (pid, "ended")
    world.clock.advance(timedelta(days=5))
    world.track("ord", "Order Completed", order_id="o-2")  # a new last order: a new occurrence
    world.clock.advance(timedelta(days=30))
    assert world.hub.journey_dates.run_once() == 1
    assert len(world.runs(journey_id)) == 2


def test_a_date_trigger_names_a_trait_or_a_computed_trait(world: World) -> None:
    both = {
        "name": "d",
        "trigger": {"date": {"trait": "birthday", "computed": "last_order"}},
        "steps": [{"id": "x", "exit": {}}],
    }
    for trigger in ({"trait": "birthday", "computed": "last_order"}, {"offset": "P1D"}):
        response = world.http.post(
            "/api/journeys", json={**both, "trigger": {"date": trigger}}, headers=bearer(world.token)
        )
        assert response.status_code == 400, response.text
        problem = response.json()["error"]
        assert problem["field"] == "/trigger/date"
        assert "either a trait or a computed trait" in problem["message"]
    unknown = {**both, "trigger": {"date": {"computed": "last_order"}}}
    response = world.http.post("/api/journeys", json=unknown, headers=bearer(world.token))
    assert response.status_code == 400, response.text
    assert (response.json()["error"]["code"], response.json()["error"]["field"]) == (
        "unknown_computed_trait",
        "/trigger/date/computed",
    )


def test_wait_until_a_local_time_and_until_a_date_trait(world: World) -> None:
    pid = customer(world, "tim", timezone="America/New_York", contract_end="2026-06-20")
    document = api_journey(
        {"id": "morning", "wait": {"until": {"time": "09:00", "weekdays": ["fri"]}}},
        {"id": "before-end", "wait": {"until_trait": {"trait": "contract_end", "offset": "-P1D"}}},
        {"id": "end", "exit": {}},
    )
    journey_id = world.journey(document)
    run_id = world.post(f"/api/journeys/{journey_id}/entries", {"profile_id": pid})["run_id"]
    # Wednesday 10 June 06:00 in New York -> Friday 12 June 09:00 New York = 13:00 UTC
    world.advance(timedelta(days=2, hours=2, minutes=59))
    assert [s["outcome"] for s in world.steps(journey_id, run_id)] == ["waiting"]
    world.advance(timedelta(minutes=1))
    assert [s["outcome"] for s in world.steps(journey_id, run_id)] == ["waiting", "elapsed", "waiting"]
    # 19 June 00:00 in New York = 04:00 UTC
    world.advance(timedelta(days=6, hours=14, minutes=59))
    assert len(world.steps(journey_id, run_id)) == 3
    world.advance(timedelta(minutes=1))
    assert [s["step"] for s in world.steps(journey_id, run_id)][-1] == "end"
