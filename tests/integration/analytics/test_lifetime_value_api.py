"""Customer lifetime value by acquisition channel over HTTP, the same on both engines."""

from __future__ import annotations

import pytest

from tests.helpers import assert_error, bearer
from tests.integration.analytics.support import World, event, order


def _customers(w: World) -> None:
    """40 customers: web-acquired ones buy every month up to now, store-acquired ones once or
    twice, months ago."""
    web, till = [], []
    for i in range(20):
        user = f"w{i}"
        n = i % 5 + 1
        web.append(event("page", user, 5 + 30 * n, properties={"url": "https://shop.example/"}))
        for k in range(n):
            web.append(order(user, 4 + i % 3 + 30 * k, f"w{i}-{k}", 40 + i + k))
    for i in range(20):
        user = f"s{i}"
        till.append(order(user, 190 - i, f"s{i}-0", 60 + i))
        if i % 3 == 0:
            till.append(order(user, 100 - i, f"s{i}-1", 55 + i))
    w.send(w.web, *web)
    w.send(w.till, *till)


def test_lifetime_value_by_acquisition_channel_on_both_engines(world: World) -> None:
    _customers(world)
    answers = [
        world.get("/api/analytics/lifetime-value", until="2026-11-21", horizon=365, engine=engine)
        for engine in ("duckdb", "database")
    ]
    assert answers[0] == answers[1]
    answer = answers[0]
    assert answer["customers"] == 40
    assert answer["models"] is not None
    rows = {r["key"]: r for r in answer["rows"]}
    assert rows["web"]["customers"] == 20
    assert rows["pos"]["customers"] == 20
    assert rows["web"]["repeat_customers"] == 16
    assert rows["pos"]["repeat_customers"] == 7
    # the frequent web buyers are worth more in the year ahead than the store's one-off buyers
    assert rows["web"]["clv"] > rows["pos"]["clv"] > 0


def test_too_few_customers_answer_without_a_model_and_bad_input_is_refused(world: World) -> None:
    world.send(world.till, order("solo", 3, "o1", 20))
    answer = world.get("/api/analytics/lifetime-value")
    assert answer["models"] is None
    assert answer["note"]
    assert answer["rows"][0]["clv"] is None
    headers = bearer(world.token)
    url = "/api/analytics/lifetime-value"
    for params, code, field in [
        ({"conversion": "Nope"}, "unknown_conversion", "conversion"),
        ({"until": "soon"}, "invalid_time", "until"),
    ]:
        assert_error(world.http.get(url, params=params, headers=headers), 400, code, field)
    assert world.http.get(url, params={"horizon": 0}, headers=headers).status_code in (400, 422)


def test_lifetime_value_on_margin_and_discounted_says_so_on_both_engines(world: World) -> None:
    _customers(world)
    url = "/api/analytics/lifetime-value"
    answers = [
        world.get(url, until="2026-11-21", horizon=30, engine=engine, discount_rate=0.1, margin=0.4)
        for engine in ("duckdb", "database")
    ]
    assert answers[0] == answers[1]
    answer = answers[0]
    assert answer["value_basis"] == {
        "of": "margin",
        "gross_margin": 0.4,
        "discounted": True,
        "annual_discount_rate": 0.1,
    }
    for row in answer["rows"]:
        # one step of 30 days, discounted from its end: 0.4 x 1.1^(-30/365) of the revenue
        assert row["total_value"] == pytest.approx(row["total_clv"] * 0.4 / 1.1 ** (30 / 365), abs=0.02)
    plain = world.get(url, until="2026-11-21", horizon=365, discount_rate=0, margin=1)
    assert plain["value_basis"]["discounted"] is False
    assert all(r["total_value"] == pytest.approx(r["total_clv"], abs=0.02) for r in plain["rows"])
    default = world.get(url, until="2026-11-21", horizon=365)
    assert default["value_basis"]["annual_discount_rate"] == 0.1
    assert default["value_basis"]["gross_margin"] == 0.35
    for row, undiscounted in zip(default["rows"], plain["rows"], strict=True):
        assert row["value"] < 0.35 * undiscounted["value"]  # a year's purchases are worth less today


def test_rates_out_of_range_are_refused_naming_the_field(world: World) -> None:
    """The hub answers every bad query parameter with 400 and its name (not FastAPI's 422)."""
    headers = bearer(world.token)
    url = "/api/analytics/lifetime-value"
    for params, field in [
        ({"discount_rate": -0.1}, "discount_rate"),
        ({"discount_rate": 1.5}, "discount_rate"),
        ({"margin": 0}, "margin"),
        ({"margin": 2}, "margin"),
    ]:
        assert_error(world.http.get(url, params=params, headers=headers), 400, "invalid_request", field)
