"""Touchpoints follow a merge to the surviving profile, in the database and in the columnar copy;
an erasure takes them out of both."""

from __future__ import annotations

from typing import Any

import pytest

from omnikanal.errors import InvalidInput
from tests.helpers import bearer, lookup
from tests.integration.analytics.support import World, event, order, since_until


def _last_touch_sources(world: World, engine: str) -> dict[str, Any]:
    q = world.hub.analytics.ask(model="last_touch", dimension="source", **since_until())
    return {r["key"]: r["conversions"] for r in world.hub.analytics.attribution(q, engine)["rows"]}


def _merge_story(world: World) -> None:
    url = "https://shop.example/?utm_source=facebook&utm_medium=social&utm_campaign=autumn"
    # an anonymous visit from an ad, copied as a touchpoint of the anonymous profile ...
    world.send(world.web, {**event("page", None, 7, properties={"url": url}), "anonymousId": "anon-1"})
    world.send(world.web, event("track", "erik", 8, event="Newsletter Signed Up"))
    # ... then erik buys on the same device: the two profiles become one
    world.send(world.web, {**order("erik", 1, "o9", 20), "anonymousId": "anon-1"})


def test_a_merged_visitors_ad_click_is_on_the_buyers_path_on_both_engines(world: World) -> None:
    _merge_story(world)
    assert _last_touch_sources(world, "database") == {"facebook": 1.0}
    assert _last_touch_sources(world, "duckdb") == {"facebook": 1.0}


def test_an_erasure_removes_the_persons_touchpoints_from_the_copy_too(world: World) -> None:
    _merge_story(world)
    admin = world.hub.tokens.create("dpo", "privacy")[1]
    pid = lookup(world.http, admin, "user_id", "erik")["id"]
    response = world.http.post(
        "/api/privacy/requests", json={"type": "erasure", "profile_id": pid}, headers=bearer(admin)
    )
    assert response.status_code in (200, 201), response.text
    world.process()
    window = world.hub.analytics.ask(**since_until()).window
    assert list(world.hub.analytics.columnar.path_rows(window)) == []
    # erik's was the only order: in the database no such conversion is left either
    q = world.hub.analytics.ask(model="last_touch", **since_until())
    with pytest.raises(InvalidInput) as caught:
        world.hub.analytics.built(q, "database")
    assert caught.value.code == "unknown_conversion"
