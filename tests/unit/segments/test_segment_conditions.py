"""The condition language: parsing with errors that name their place, and the Python evaluator."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from omnikanal.errors import InvalidInput
from omnikanal.segments.evaluate import EventFact, Facts, compute, evaluate, readable
from omnikanal.segments.model import (
    All,
    Channels,
    EventCount,
    Limits,
    Not,
    parse_computed,
    parse_condition,
)

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)


def _error(document: Any, limits: Limits | None = None) -> InvalidInput:
    with pytest.raises(InvalidInput) as caught:
        parse_condition(document, limits)
    error = caught.value
    assert error.field is not None
    assert error.message.startswith(f"{error.field}: "), error.message
    return error


@pytest.mark.parametrize(
    ("document", "code", "field"),
    [
        ([], "invalid_condition", "$"),
        ({}, "invalid_condition", "$"),
        ({"all": [], "any": []}, "invalid_condition", "$"),
        ({"all": []}, "empty_group", "all"),
        ({"any": {"trait": {}}}, "invalid_condition", "any"),
        ({"all": [{"any": []}]}, "empty_group", "all[0].any"),
        ({"nope": 1}, "unknown_condition", "nope"),
        ({"trait": {"key": "city", "op": "like", "value": "x"}}, "unknown_op", "trait.op"),
        ({"trait": {"key": "city", "op": "eq"}}, "invalid_condition", "trait.value"),
        ({"trait": {"op": "eq", "value": 1}}, "invalid_condition", "trait.key"),
        ({"trait": {"key": "city", "op": "eq", "value": 1, "extra": 2}}, "unknown_key", "trait.extra"),
        ({"trait": {"key": 'a"b', "op": "eq", "value": 1}}, "invalid_condition", "trait.key"),
        ({"trait": {"key": "age", "op": "gt", "value": True}}, "invalid_condition", "trait.value"),
        ({"trait": {"key": "age", "op": "gt", "value": [1]}}, "invalid_condition", "trait.value"),
        ({"trait": {"key": "age", "op": "in", "value": []}}, "invalid_condition", "trait.value"),
        ({"trait": {"key": "age", "op": "in", "value": [1, {}]}}, "invalid_condition", "trait.value[1]"),
        ({"trait": {"key": "age", "op": "exists", "value": "yes"}}, "invalid_condition", "trait.value"),
        ({"trait": {"key": "age", "op": "contains", "value": 3}}, "invalid_condition", "trait.value"),
        ({"computed": {"name": "Bad Name", "op": "eq", "value": 1}}, "invalid_condition", "computed.name"),
        (
            {"consent": {"purpose": "email_marketing", "status": "maybe"}},
            "invalid_condition",
            "consent.status",
        ),
        ({"identifier": {"type": "email", "exists": "y"}}, "invalid_condition", "identifier.exists"),
        ({"event": {"name": ""}}, "invalid_condition", "event.name"),
        ({"event": {"name": "A", "within_days": 0}}, "invalid_condition", "event.within_days"),
        ({"event": {"name": "A", "within_days": 1.5}}, "invalid_condition", "event.within_days"),
        (
            {"event": {"name": "A", "within_days": 1, "within_hours": 2}},
            "invalid_condition",
            "event.within_hours",
        ),
        ({"event": {"name": "A", "within_days": 731}}, "window_too_long", "event.within_days"),
        ({"event": {"name": "A", "within_hours": 731 * 24}}, "window_too_long", "event.within_hours"),
        ({"event": {"name": "A", "min": -1}}, "invalid_condition", "event.min"),
        ({"event": {"name": "A", "min": 3, "max": 2}}, "invalid_condition", "event.max"),
        ({"event": {"name": "A", "where": {"key": "x"}}}, "invalid_condition", "event.where"),
        (
            {
                "event": {
                    "name": "A",
                    "where": [{"key": "x", "op": "eq", "value": 1}, {"key": "y", "op": "is"}],
                }
            },
            "unknown_op",
            "event.where[1].op",
        ),
        ({"channels": {"min": 2, "within_days": 9999}}, "window_too_long", "channels.within_days"),
        ({"channels": {"least": 2}}, "unknown_key", "channels.least"),
        (
            {
                "all": [
                    {"trait": {"key": "a", "op": "eq", "value": 1}},
                    {"not": {"event": {"name": "B", "within_days": 800}}},
                ]
            },
            "window_too_long",
            "all[1].not.event.within_days",
        ),
    ],
)
def test_each_error_names_its_place(document: Any, code: str, field: str) -> None:
    error = _error(document)
    assert (error.code, error.field) == (code, field)


def test_limits_on_depth_and_leaves() -> None:
    deep: Any = {"trait": {"key": "a", "op": "exists", "value": True}}
    for _ in range(8):
        deep = {"not": deep}
    error = _error(deep)
    assert error.code == "too_deep"
    assert error.field == "not.not.not.not.not.not.not.not"
    wide = {"any": [{"trait": {"key": f"k{i}", "op": "exists", "value": True}} for i in range(6)]}
    error = _error(wide, Limits(max_leaves=5))
    assert (error.code, error.field) == ("too_many_leaves", "any[5].trait")
    assert parse_condition(wide, Limits(max_leaves=6))


def test_scenario_8_parses_to_its_parts() -> None:
    condition = parse_condition(
        {
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
    )
    assert isinstance(condition, All)
    views, no_order, channels = condition.items
    assert isinstance(views, EventCount)
    assert (views.name, views.window_seconds, views.min, views.max) == ("Product Viewed", 14 * 86400, 3, None)
    assert isinstance(no_order, Not)
    assert isinstance(no_order.item, EventCount)
    assert no_order.item.min == 1
    assert channels == Channels(14 * 86400, 2, None)


def _event(name: str, days_ago: float, channel: str = "web", seq: int = 0, **properties: Any) -> EventFact:
    return EventFact(seq, "track", name, channel, NOW - timedelta(days=days_ago), properties)


def test_scenario_8_evaluates_and_says_when_it_can_change() -> None:
    condition = parse_condition(
        {
            "all": [
                {
                    "event": {
                        "name": "Product Viewed",
                        "where": [{"key": "category", "op": "eq", "value": "Werkzeug"}],
                        "within_days": 14,
                        "min": 3,
                    }
                },
                {"event": {"name": "Order Completed", "within_days": 14, "max": 0}},
                {"channels": {"min": 2, "within_days": 14}},
            ]
        }
    )
    views = [
        _event("Product Viewed", 10, category="Werkzeug"),
        _event("Product Viewed", 5, category="Garten"),
        _event("Product Viewed", 4, category="Werkzeug"),
        _event("Product Viewed", 1, channel="app", category="Werkzeug"),
    ]
    member, due = evaluate(condition, Facts(events=views), NOW)
    assert member is True
    # the 10-day-old view leaves the 14-day window first
    assert due == NOW + timedelta(days=4, microseconds=1)
    assert evaluate(condition, Facts(events=views[1:]), NOW)[0] is False  # two Werkzeug views
    assert evaluate(condition, Facts(events=[*views, _event("Order Completed", 2)]), NOW)[0] is False
    assert evaluate(condition, Facts(events=[*views, _event("Order Completed", 15)]), NOW)[0] is True
    assert evaluate(condition, Facts(events=views, restricted=True), NOW) == (False, None)
    later = NOW + timedelta(days=4, microseconds=1)
    assert evaluate(condition, Facts(events=views), later)[0] is False


@pytest.mark.parametrize(
    ("leaf", "expected"),
    [
        ({"trait": {"key": "city", "op": "eq", "value": "Berlin"}}, True),
        ({"trait": {"key": "city", "op": "ne", "value": "Berlin"}}, False),
        ({"trait": {"key": "city", "op": "contains", "value": "erl"}}, True),
        ({"trait": {"key": "city", "op": "in", "value": ["Bonn", "Berlin"]}}, True),
        ({"trait": {"key": "age", "op": "gte", "value": 42}}, True),
        ({"trait": {"key": "age", "op": "gt", "value": 42.0}}, False),
        ({"trait": {"key": "age", "op": "eq", "value": "42"}}, False),  # another JSON type never matches
        ({"trait": {"key": "vip", "op": "eq", "value": True}}, True),
        ({"trait": {"key": "vip", "op": "eq", "value": 1}}, False),
        ({"trait": {"key": "missing", "op": "ne", "value": 1}}, False),  # a missing value compares false
        ({"trait": {"key": "missing", "op": "exists", "value": False}}, True),
        ({"trait": {"key": "city", "op": "exists", "value": True}}, True),
        ({"trait": {"key": "city", "op": "lt", "value": "Bonn"}}, True),
        ({"consent": {"purpose": "email_marketing", "status": "granted"}}, True),
        ({"consent": {"purpose": "sms_marketing", "status": "granted"}}, False),
        ({"identifier": {"type": "email"}}, True),
        ({"identifier": {"type": "phone", "exists": False}}, True),
        ({"computed": {"name": "lifetime_value", "op": "gt", "value": 100}}, True),
        (
            {
                "any": [
                    {"identifier": {"type": "phone"}},
                    {"not": {"trait": {"key": "vip", "op": "eq", "value": False}}},
                ]
            },
            True,
        ),
    ],
)
def test_leaves_evaluate_as_documented(leaf: dict[str, Any], expected: bool) -> None:
    facts = Facts(
        traits={"city": "Berlin", "age": 42, "vip": True},
        computed={"lifetime_value": 120.5},
        consents={"email_marketing": "granted", "sms_marketing": "withdrawn"},
        identifier_types={"email", "user_id"},
    )
    assert evaluate(parse_condition(leaf), facts, NOW)[0] is expected


def test_computed_traits() -> None:
    events = [
        _event("Product Viewed", 40, seq=1, category="Garten"),
        _event("Product Viewed", 20, seq=2, channel="app", category="Werkzeug"),
        _event("Order Completed", 10, seq=3, channel="store", revenue=30, store="Köln"),
        _event("Product Viewed", 5, seq=4, channel="app", category="Werkzeug"),
        _event("Order Completed", 2, seq=5, revenue=12.5, store="Berlin"),
        _event("Product Viewed", 1, seq=6, category="Garten"),
    ]

    def value(document: dict[str, Any]) -> Any:
        trait = parse_computed(document)
        stored, _ = compute(trait, events, NOW)
        return readable(trait, stored, NOW)

    assert (
        value({"name": "ltv", "function": "sum", "event": "Order Completed", "property": "revenue"}) == 42.5
    )
    assert value({"name": "orders", "function": "count", "event": "Order Completed"}) == 2
    assert value({"name": "big", "function": "max", "event": "Order Completed", "property": "revenue"}) == 30
    assert (
        value({"name": "small", "function": "min", "event": "Order Completed", "property": "revenue"}) == 12.5
    )
    assert (
        value({"name": "first_store", "function": "first", "event": "Order Completed", "property": "store"})
        == "Köln"
    )
    assert (
        value({"name": "last_store", "function": "last", "event": "Order Completed", "property": "store"})
        == "Berlin"
    )
    # Garten twice, Werkzeug twice: the tie goes to the value seen last
    assert (
        value({"name": "fav", "function": "most_frequent", "event": "Product Viewed", "property": "category"})
        == "Garten"
    )
    recent = {
        "name": "fav",
        "function": "most_frequent",
        "event": "Product Viewed",
        "property": "category",
        "within_days": 30,
    }
    assert value(recent) == "Werkzeug"
    assert value({"name": "pref", "function": "most_frequent", "channel": True}) == "web"
    assert value({"name": "since", "function": "days_since_last", "event": "Order Completed"}) == 2
    assert value({"name": "none", "function": "sum", "event": "Refund", "property": "amount"}) == 0
    assert value({"name": "none", "function": "max", "event": "Refund", "property": "amount"}) is None
    trait = parse_computed(recent)
    assert compute(trait, events, NOW)[1] == NOW + timedelta(days=10, microseconds=1)


@pytest.mark.parametrize(
    ("document", "code", "field"),
    [
        ({"name": "x", "function": "median"}, "unknown_function", "function"),
        ({"name": "X y", "function": "count"}, "invalid_condition", "name"),
        ({"name": "x", "function": "sum", "event": "A"}, "invalid_condition", "property"),
        ({"name": "x", "function": "sum", "channel": True}, "invalid_condition", "channel"),
        ({"name": "x", "function": "count", "property": "a"}, "invalid_condition", "property"),
        (
            {"name": "x", "function": "count", "where": [{"key": "a", "op": "eq", "value": 1}]},
            "invalid_condition",
            "where",
        ),
        ({"name": "x", "function": "count", "within_days": 5000}, "window_too_long", "within_days"),
        ({"name": "x", "function": "count", "size": 1}, "unknown_key", "size"),
    ],
)
def test_computed_trait_errors_name_their_field(document: dict[str, Any], code: str, field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_computed(document)
    assert (caught.value.code, caught.value.field) == (code, field)
