"""Paths from touchpoint rows: lookback, conversion not a touch, returns netted, open paths."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

from omnikanal.analytics.paths import Window, build_paths

T0 = datetime(2026, 3, 1, tzinfo=UTC)


def row(profile: str, days: float, event: str, channel: str = "web", **extra: Any) -> SimpleNamespace:
    values = {
        "source": "(direct)",
        "medium": "(none)",
        "campaign": None,
        "order_id": None,
        "value_cents": None,
    }
    values.update(extra)
    return SimpleNamespace(
        profile_id=profile, at=T0 + timedelta(days=days), event=event, channel=channel, **values
    )


WINDOW = Window(T0 + timedelta(days=10), T0 + timedelta(days=40), timedelta(days=7))


def test_touches_older_than_the_lookback_are_not_on_the_path() -> None:
    rows = [
        row("a", 1, "page", source="google", medium="cpc"),
        row("a", 9, "page", "app"),
        row("a", 12, "Order Completed", "store", order_id="o1", value_cents=10_000),
    ]
    built = build_paths(rows, {}, WINDOW)
    [path] = built.paths
    assert [t.channel for t in path.touches] == ["app"]
    assert path.value == 100.0


def test_the_value_is_net_of_the_orders_returns_and_a_return_is_no_touchpoint() -> None:
    rows = [
        row("a", 11, "Product Viewed"),
        row("a", 12, "Order Completed", order_id="o1", value_cents=10_000),
        row("a", 13, "Order Refunded", "store", order_id="o1", value_cents=2_500),
    ]
    built = build_paths(rows, {"o1": 2_500}, WINDOW)
    assert len(built.paths) == 1
    assert built.paths[0].value == 75.0
    assert built.customers["a"].revenue == 75.0
    assert built.customers["a"].channels == {"web", "store"}


def test_a_second_conversion_starts_a_new_path_and_trailing_touches_make_one_that_did_not_convert() -> None:
    rows = [
        row("a", 11, "page", "web"),
        row("a", 12, "Order Completed", order_id="o1", value_cents=100),
        row("a", 13, "page", "email", source="newsletter", medium="email"),
        row("a", 14, "Order Completed", order_id="o2", value_cents=200),
        row("a", 15, "page", "app"),
        row("b", 20, "page", "web"),
    ]
    built = build_paths(rows, {}, WINDOW)
    shapes = [([t.channel for t in p.touches], p.converted) for p in built.paths]
    assert shapes == [(["web"], True), (["email"], True), (["app"], False), (["web"], False)]
    assert built.customers["a"].orders == 2
    assert "b" not in built.customers


def test_conversions_outside_the_window_are_not_counted() -> None:
    rows = [row("a", 5, "Order Completed", order_id="o1", value_cents=100)]
    assert build_paths(rows, {}, WINDOW).paths == []
