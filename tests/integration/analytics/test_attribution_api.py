"""Touchpoints from stored events, attribution over HTTP, on DuckDB and in the database alike.

The shop (web), the app and the till (pos) send; anna is reached by search ads and a newsletter and
buys in the store (a return takes 30 of her 100 back), ben buys in the app without any campaign,
dora heard of the shop on the radio (her till answer maps through a campaign code), carl only
visits from a search engine and does not buy.
"""

from __future__ import annotations

from typing import Any

import pytest

from omnikanal.analytics.model import MODELS
from tests.helpers import assert_error
from tests.integration.analytics.support import World, event, order, refund, since_until


def _story(w: World) -> None:
    w.send(
        w.web,
        event(
            "page",
            "anna",
            10,
            properties={"url": "https://shop.example/?utm_source=google&utm_medium=cpc&utm_campaign=spring"},
        ),
        event(
            "track",
            "anna",
            5,
            event="Email Clicked",
            context={"campaign": {"name": "nov", "source": "newsletter", "medium": "email"}},
        ),
        event(
            "page",
            "carl",
            2,
            context={"page": {"url": "https://shop.example/", "referrer": "https://www.google.de/search"}},
        ),
    )
    w.send(w.app, event("screen", "ben", 3), order("ben", 2.9, "o2", 50))
    w.send(
        w.till,
        order("anna", 4, "o1", 100),
        refund("anna", 2, "o1", 30),
        event("track", "dora", 6, event="Survey Answered", properties={"heard_about": "radio"}),
        order("dora", 5.9, "o3", 80),
    )


def _rows(answer: dict[str, Any]) -> dict[str, tuple[float, float]]:
    return {r["key"]: (r["conversions"], r["value"]) for r in answer["rows"]}


def test_last_touch_by_channel_counts_the_store_conversion_net_of_its_return(world: World) -> None:
    _story(world)
    answer = world.get("/api/analytics/attribution", model="last_touch", **since_until())
    assert answer["conversions"] == 3
    assert answer["value"] == 200.0  # 70 + 50 + 80: anna's order net of the return
    assert _rows(answer) == {"web": (1, 70.0), "app": (1, 50.0), "pos": (1, 80.0)}
    assert sum(r["share"] for r in answer["rows"]) == pytest.approx(1, abs=1e-5)


def test_marketing_sources_come_from_utm_campaign_context_codes_and_referrers(world: World) -> None:
    _story(world)
    first = world.get("/api/analytics/attribution", model="first_touch", dimension="source", **since_until())
    assert _rows(first) == {"google": (1, 70.0), "(direct)": (1, 50.0), "radio-ffh": (1, 80.0)}
    last = world.get(
        "/api/analytics/attribution", model="last_non_direct", dimension="source", **since_until()
    )
    assert _rows(last) == {"newsletter": (1, 70.0), "(direct)": (1, 50.0), "radio-ffh": (1, 80.0)}
    campaigns = world.get("/api/analytics/attribution", model="linear", dimension="campaign", **since_until())
    assert _rows(campaigns) == {
        "spring": (0.5, 35.0),
        "nov": (0.5, 35.0),
        "(none)": (1, 50.0),
        "autumn": (1, 80.0),
    }


def test_model_all_answers_every_model_side_by_side(world: World) -> None:
    _story(world)
    answer = world.get("/api/analytics/attribution", model="all", **since_until())
    assert answer["models"] == list(MODELS)
    for name in MODELS:
        assert sum(r["models"][name]["share"] for r in answer["rows"]) == pytest.approx(1, abs=1e-5), name
        assert sum(r["models"][name]["conversions"] for r in answer["rows"]) == pytest.approx(3), name


def test_duckdb_over_the_columnar_copy_answers_as_the_database_does(world: World) -> None:
    _story(world)
    analytics = world.hub.analytics
    for dimension in ("channel", "source", "medium", "campaign"):
        for markov_order in (1, 2, 3):
            q = analytics.ask(model="all", dimension=dimension, order=markov_order, **since_until())
            same = (dimension, markov_order)
            assert analytics.attribution(q, "duckdb") == analytics.attribution(q, "database"), same
            assert analytics.returns(q, "duckdb") == analytics.returns(q, "database"), same
        assert analytics.customers(q, "duckdb") == analytics.customers(q, "database")
        assert analytics.top_paths(q, 10, "duckdb") == analytics.top_paths(q, 10, "database")


def test_a_short_lookback_leaves_the_older_touches_off_the_path(world: World) -> None:
    _story(world)
    answer = world.get(
        "/api/analytics/attribution", model="first_touch", dimension="source", lookback="P3D", **since_until()
    )
    # anna's touches were 6 and 1 days before her order: only the newsletter is within three days
    assert _rows(answer)["newsletter"] == (1, 70.0)


def test_multichannel_customers_are_told_from_single_channel_ones(world: World) -> None:
    _story(world)
    groups = {g["group"]: g for g in world.get("/api/analytics/customers", **since_until())["groups"]}
    assert groups["multichannel"] == {
        "group": "multichannel",
        "customers": 1,
        "orders": 1,
        "revenue": 70.0,
        "revenue_per_customer": 70.0,
        "orders_per_customer": 1.0,
        "average_order_value": 70.0,
    }
    assert groups["single_channel"]["customers"] == 2
    assert groups["single_channel"]["revenue_per_customer"] == 65.0


def test_bad_questions_are_refused_by_name(world: World) -> None:
    _story(world)
    url = "/api/analytics/attribution"
    cases = [
        ({"conversion": "Nope Happened"}, "unknown_conversion", "conversion"),
        ({"lookback": "P0D"}, "invalid_lookback", "lookback"),
        ({"lookback": "P3650D"}, "invalid_lookback", "lookback"),
        ({"lookback": "thirty days"}, "invalid_duration", "lookback"),
        ({"since": "2016-01-01", "until": "2026-01-01"}, "period_too_long", "since"),
        ({"since": "2026-11-20", "until": "2026-11-20"}, "empty_period", "until"),
        ({"since": "yesterday"}, "invalid_time", "since"),
        ({"model": "banzhaf"}, "invalid_model", "model"),
    ]
    for params, code, field in cases:
        response = world.http.get(url, params=params, headers={"Authorization": f"Bearer {world.token}"})
        assert_error(response, 400, code, field)
