"""Journey documents: each schema and semantic error names its place; cycles; durations; timing."""

from __future__ import annotations

import copy
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from jsonschema import Draft202012Validator

from omnikanal.errors import InvalidInput
from omnikanal.journeys.engine import variant_bucket
from omnikanal.journeys.model import JourneyLimits, load_text, parse_duration, parse_journey
from omnikanal.journeys.schema import journey_schema
from omnikanal.journeys.timing import next_local_time, occurrence, trait_date
from omnikanal.segments.model import Limits

LIMITS = JourneyLimits(max_steps=10, max_wait_days=365)

VALID: dict[str, Any] = {
    "name": "Abandoned cart",
    "trigger": {
        "event": {"name": "Product Added", "where": [{"key": "cart_id", "op": "exists", "value": True}]}
    },
    "entry": {"reentry": "after_exit", "key": "cart_id"},
    "exit": [{"event": {"name": "Order Completed"}}],
    "goal": {"event": {"name": "Order Completed"}, "within": "P7D"},
    "steps": [
        {"id": "wait", "wait": {"duration": "PT1H"}},
        {
            "id": "mail",
            "send": {"channel": "auto", "template": "cart-reminder", "purpose": "email_marketing"},
        },
        {"id": "wait-order", "wait_for": {"event": {"name": "Order Completed"}, "timeout": "P1D"}},
        {"id": "done", "exit": {"reason": "converted"}},
    ],
}


def parse(document: Any) -> Any:
    return parse_journey(document, LIMITS, Limits())


def error_of(document: Any) -> InvalidInput:
    with pytest.raises(InvalidInput) as caught:
        parse(document)
    return caught.value


def changed(path: list[str | int], value: Any) -> dict[str, Any]:
    document = copy.deepcopy(VALID)
    target: Any = document
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    return document


def test_a_valid_document_parses_with_defaults_filled_in() -> None:
    journey = parse(VALID)
    assert journey.first == "wait"
    assert journey.steps["wait"].next == "mail"
    assert journey.steps["done"].next is None
    assert journey.steps["wait"].duration == timedelta(hours=1)
    assert journey.key == "cart_id"
    assert journey.event_names() == {"Product Added", "Order Completed"}


def test_the_published_schema_is_a_valid_draft_2020_12_schema() -> None:
    Draft202012Validator.check_schema(journey_schema(50))


@pytest.mark.parametrize(
    ("document", "pointer", "words"),
    [
        (changed(["steps", 0, "wait", "duration"], "3 days"), "/steps/0/wait/duration", "does not match"),
        (changed(["steps", 0, "wait", "duration"], "PT0S"), "/steps/0/wait/duration", "longer than zero"),
        (changed(["steps", 2, "wait_for", "timeout"], "P1Y"), "/steps/2/wait_for/timeout", "does not match"),
        (changed(["steps", 1, "send", "channel"], "pigeon"), "/steps/1/send/channel", "pigeon"),
        (changed(["trigger"], {}), "/trigger", "non-empty"),
        (changed(["entry", "reentry"], "twice"), "/entry/reentry", "twice"),
        (changed(["steps", 0, "id"], "has space"), "/steps/0/id", "does not match"),
        (changed(["goal", "within"], "P800D"), "/goal/within", "longer than the limit of 365 days"),
        (changed(["steps", 1, "next"], "nowhere"), "/steps/1/next", "no step with id 'nowhere'"),
        (changed(["steps", 2, "wait_for", "on_timeout"], "gone"), "/steps/2/wait_for/on_timeout", "no step"),
        (changed(["steps", 3, "id"], "wait"), "/steps/3/id", "used by /steps/0"),
        (
            changed(["steps", 0], {"id": "x", "wait": {"duration": "PT1H"}, "exit": {}}),
            "/steps/0",
            "exactly one",
        ),
        (
            changed(["steps", 1, "send"], {"template": "a", "content": {"text": "b"}}),
            "/steps/1/send",
            "either",
        ),
        (changed(["entry", "cooldown"], "P1D"), "/entry/cooldown", "reentry: cooldown"),
        (
            changed(["trigger", "event", "where"], [{"key": "cart_id", "op": "between", "value": 1}]),
            "/trigger/event/where/0",
            "op",
        ),
        (
            changed(["entry", "audience"], {"all": [{"event": {"name": "X", "within_days": 9999}}]}),
            "/entry/audience/all/0/event/within_days",
            "longer than the limit",
        ),
        (changed(["steps"], [{"id": f"s{i}", "exit": {}} for i in range(11)]), "/steps", "too long"),
        (changed(["colour"], "blue"), "/", "colour"),
    ],
)
def test_each_error_names_its_place(document: Any, pointer: str, words: str) -> None:
    error = error_of(document)
    assert error.field == pointer, error.message
    assert error.message.startswith(f"{pointer}: ")
    assert words in error.message


def test_a_cycle_without_a_wait_is_refused_with_its_steps() -> None:
    document = changed(
        ["steps"],
        [
            {"id": "a", "update_trait": {"key": "x", "value": 1}},
            {
                "id": "b",
                "branch": {"if": {"trait": {"key": "x", "op": "eq", "value": 1}}, "then": "a", "else": "c"},
            },
            {"id": "c", "exit": {}},
        ],
    )
    error = error_of(document)
    assert error.code == "cycle_without_wait"
    assert "a -> b -> a" in error.message
    assert error.field in ("/steps/0", "/steps/1")


def test_a_cycle_through_a_wait_is_allowed() -> None:
    document = changed(
        ["steps"],
        [
            {"id": "a", "wait": {"duration": "P1D"}},
            {"id": "b", "send": {"template": "t", "purpose": "email_marketing"}, "next": "a"},
        ],
    )
    assert parse(document).steps["b"].next == "a"


def test_an_exit_step_may_not_name_a_next_step() -> None:
    assert error_of(changed(["steps", 3, "next"], "wait")).field == "/steps/3/next"


def test_a_key_needs_an_event_or_api_trigger() -> None:
    document = changed(["trigger"], {"date": {"trait": "birthday", "annual": True}})
    assert error_of(document).field == "/entry/key"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("PT2H", timedelta(hours=2)),
        ("P1DT12H", timedelta(days=1, hours=12)),
        ("P2W", timedelta(weeks=2)),
        ("PT90S", timedelta(seconds=90)),
        ("P0D", timedelta()),
    ],
)
def test_durations(text: str, expected: timedelta) -> None:
    assert parse_duration(text, "/x", 365) == expected


@pytest.mark.parametrize("text", ["P", "PT", "P1M", "P1Y", "1D", "P1.5D", "-P1D", "PT1H30", ""])
def test_bad_durations_are_refused(text: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_duration(text, "/steps/3/wait/duration", 365)
    assert caught.value.field == "/steps/3/wait/duration"


def test_a_negative_offset_is_allowed_where_signed() -> None:
    assert parse_duration("-P1D", "/x", 365, signed=True) == -timedelta(days=1)


def test_yaml_and_json_give_the_same_document() -> None:
    yaml_text = """
name: Abandoned cart
trigger:
  event: {name: Product Added}
steps:
  - id: wait
    wait: {duration: PT1H}
"""
    assert load_text(yaml_text, "application/yaml") == {
        "name": "Abandoned cart",
        "trigger": {"event": {"name": "Product Added"}},
        "steps": [{"id": "wait", "wait": {"duration": "PT1H"}}],
    }
    with pytest.raises(InvalidInput) as caught:
        load_text("name: [unclosed", "application/yaml")
    assert "line 1" in caught.value.message


def test_next_local_time_is_in_the_customers_zone_and_on_allowed_weekdays() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    friday_evening = datetime(2026, 11, 20, 19, 0, tzinfo=UTC)  # 20:00 in Berlin, a Friday
    at = next_local_time(friday_evening, "09:00", ["mon", "tue"], berlin)
    assert at == datetime(2026, 11, 23, 8, 0, tzinfo=UTC)  # Monday 09:00 in Berlin
    assert next_local_time(friday_evening, "21:00", None, berlin) == datetime(2026, 11, 20, 20, 0, tzinfo=UTC)


def test_trait_dates_and_anniversaries() -> None:
    assert trait_date("1990-05-17") == date(1990, 5, 17)
    assert trait_date("2026-01-02T10:00:00Z") == date(2026, 1, 2)
    assert trait_date("not a date") is None
    assert trait_date(True) is None
    # a moment counts on its day in the customer's zone: 22:30 UTC is the next day in Berlin
    berlin = ZoneInfo("Europe/Berlin")
    late = datetime(2026, 7, 15, 22, 30, tzinfo=UTC)
    assert trait_date(late.timestamp()) == date(2026, 7, 15)
    assert trait_date(late.timestamp(), berlin) == date(2026, 7, 16)
    assert trait_date("2026-07-15T22:30:00Z", berlin) == date(2026, 7, 16)
    assert trait_date("2026-07-15", berlin) == date(2026, 7, 15)  # a date is a date everywhere
    assert occurrence(date(1992, 2, 29), True, date(2026, 3, 1)) == date(2026, 2, 28)
    assert occurrence(date(1990, 5, 17), False, date(2026, 3, 1)) == date(1990, 5, 17)


def test_split_buckets_are_sticky_and_spread() -> None:
    assert variant_bucket("j", "s", "p1") == variant_bucket("j", "s", "p1")
    buckets = [variant_bucket("j", "s", f"p{i}") for i in range(2000)]
    low = sum(1 for b in buckets if b < 5000)
    assert 800 < low < 1200


def test_the_documented_example_is_a_valid_journey() -> None:
    from pathlib import Path

    page = (Path(__file__).parents[3] / "docs" / "journeys.md").read_text(encoding="utf-8")
    example = page.split("```yaml", 1)[1].split("```", 1)[0]
    journey = parse(load_text(example, "application/yaml"))
    assert journey.key == "cart_id"
    assert journey.steps["later"].next == "remind"
