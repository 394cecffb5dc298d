"""Research online, purchase offline; channel preference per category; funnels with drop-outs."""

from __future__ import annotations

from typing import Any

from tests.helpers import assert_error, bearer
from tests.integration.analytics.support import World, event, since_until


def viewed(user: str, days_ago: float, sku: str, category: str) -> dict[str, Any]:
    properties = {"sku": sku, "product_id": sku, "category": category}
    return event("track", user, days_ago, event="Product Viewed", properties=properties)


def added(user: str, days_ago: float, sku: str) -> dict[str, Any]:
    return event("track", user, days_ago, event="Product Added", properties={"sku": sku})


def bought(user: str, days_ago: float, order_id: str, *lines: tuple[str, float]) -> dict[str, Any]:
    products = [{"sku": s, "quantity": 1, "price": p} for s, p in lines]
    total = sum(p for _, p in lines)
    properties = {"order_id": order_id, "revenue": total, "currency": "EUR", "products": products}
    return event("track", user, days_ago, event="Order Completed", properties=properties)


def _story(w: World) -> None:
    w.send(
        w.web,
        viewed("anna", 6, "boots-1", "shoes"),
        viewed("anna", 6, "coat-1", "coats"),
        added("anna", 6, "coat-1"),
        viewed("ben", 25, "boots-1", "shoes"),  # too long before his store purchase
        viewed("carl", 3, "hat-1", "hats"),
        added("carl", 3, "hat-1"),
        bought("carl", 2.9, "w1", ("hat-1", 20)),
    )
    w.send(w.app, viewed("dora", 4, "coat-1", "coats"))
    w.send(
        w.till,
        bought("anna", 2, "s1", ("boots-1", 90), ("scarf-1", 15)),
        bought("ben", 2, "s2", ("boots-1", 90)),
        bought("dora", 1, "s3", ("coat-1", 150)),
    )


def test_store_purchases_researched_online_are_found_and_categories_have_preferred_channels(
    world: World,
) -> None:
    _story(world)
    answer = world.get("/api/analytics/omnichannel", days=14, **since_until())
    ropo = answer["ropo"]
    # four store lines; anna's boots (web view 4 days before) and dora's coat (app view) researched
    assert (ropo["store_lines"], ropo["researched_online"], ropo["share"]) == (4, 2, 0.5)
    assert ropo["researched_value"] == 240.0
    by_category = {c["category"]: c for c in ropo["categories"]}
    assert by_category["shoes"] == {
        "category": "shoes",
        "store_lines": 2,
        "researched_online": 1,
        "share": 0.5,
    }
    assert by_category["(unknown)"]["store_lines"] == 1  # the scarf was never viewed
    preference = {p["category"]: p for p in answer["preference"]}
    assert preference["shoes"]["preferred"] == "pos"
    assert preference["hats"]["preferred"] == "web"
    assert preference["shoes"]["channels"]["pos"] == {"lines": 2, "share": 1.0, "value": 180.0}


def test_a_funnel_counts_steps_in_order_and_the_drop_outs_on_both_engines(world: World) -> None:
    _story(world)
    answers = [
        world.get(
            "/api/analytics/funnel",
            steps="Product Viewed,Product Added,Order Completed",
            engine=engine,
            **since_until(),
        )
        for engine in ("duckdb", "database")
    ]
    assert answers[0] == answers[1]
    steps = answers[0]["steps"]
    assert [(s["step"], s["people"], s["dropped"]) for s in steps] == [
        ("Product Viewed", 4, 2),
        ("Product Added", 2, 0),
        ("Order Completed", 2, None),
    ]
    assert steps[2]["of_first"] == 0.5


def test_bad_funnels_and_windows_are_refused_by_name(world: World) -> None:
    _story(world)
    headers = bearer(world.token)
    for url, params, code, field in [
        ("/api/analytics/funnel", {"steps": "Product Viewed"}, "invalid_steps", "steps"),
        ("/api/analytics/funnel", {"steps": "a,,b"}, "invalid_steps", "steps"),
        ("/api/analytics/funnel", {"since": "2026-11-20", "until": "2026-11-20"}, "empty_period", "until"),
        (
            "/api/analytics/omnichannel",
            {"since": "2016-01-01", "until": "2026-01-01"},
            "period_too_long",
            "since",
        ),
    ]:
        assert_error(world.http.get(url, params=params, headers=headers), 400, code, field)
    assert world.http.get("/api/analytics/omnichannel", params={"days": 0}, headers=headers).status_code in (
        400,
        422,
    )


COAT_VIEWERS = {
    "event": {"name": "Product Viewed", "where": [{"key": "category", "op": "eq", "value": "coats"}]}
}


def test_research_online_per_segment_counts_its_members_and_everyone_else_beside(world: World) -> None:
    _story(world)
    segment = world.hub.segments.create("coat viewers", None, COAT_VIEWERS, "test")
    world.process()
    members = world.hub.segments.members(segment["id"], 10, None)["members"]
    assert len(members) == 2  # anna and dora viewed coats
    answer = world.get("/api/analytics/omnichannel", days=14, segment=segment["id"], **since_until())
    assert answer["segment"] == {"id": segment["id"], "name": "coat viewers", "members": 2}
    ropo, rest = answer["ropo"], answer["ropo_rest"]
    # members' store lines: anna's boots (researched) and scarf (not), dora's coat (researched)
    assert (ropo["store_lines"], ropo["researched_online"], ropo["share"]) == (3, 2, 0.6667)
    assert (ropo["store_value"], ropo["researched_value"]) == (255.0, 240.0)
    # everyone else: ben's boots, viewed too long before
    assert (rest["store_lines"], rest["researched_online"], rest["share"]) == (1, 0, 0.0)
    whole = world.get("/api/analytics/omnichannel", days=14, **since_until())["ropo"]
    assert whole["store_lines"] == ropo["store_lines"] + rest["store_lines"]
    # channel preference of the members only: carl's web hat is not among them
    assert {c["category"] for c in answer["preference"]} == {"shoes", "(unknown)", "coats"}


def test_an_unknown_segment_is_refused_with_404_naming_it(world: World) -> None:
    response = world.http.get(
        "/api/analytics/omnichannel", params={"segment": "seg_nope"}, headers=bearer(world.token)
    )
    assert_error(response, 404, "segment_not_found", "segment")
