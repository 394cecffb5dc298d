"""Evaluate a condition or a computed trait for one profile in Python (the real-time path).

Besides the answer, evaluation says when it can next change by itself as time passes (the oldest
counted event leaving its window, a day boundary of a days-since value), so the re-check job knows
when to look at the profile again. compile.py must give the same answers in SQL; a test checks it.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from omnikanal.segments.model import (
    All,
    AnyOf,
    Channels,
    Computed,
    ComputedTrait,
    Condition,
    Consent,
    EventCount,
    IdentifierLeaf,
    Not,
    PropertyFilter,
    Trait,
    compare,
    in_bounds,
)

TICK = timedelta(microseconds=1)
DAY = 86400


@dataclass(frozen=True, slots=True)
class EventFact:
    seq: int
    type: str
    name: str | None
    channel: str
    at: datetime
    properties: dict[str, Any]


@dataclass(slots=True)
class Facts:
    """What evaluation needs to know about one live profile."""

    traits: dict[str, Any] = field(default_factory=dict)  # trait -> value
    computed: dict[str, Any] = field(default_factory=dict)  # computed trait -> readable value
    consents: dict[str, str] = field(default_factory=dict)  # purpose -> status
    identifier_types: set[str] = field(default_factory=set)
    events: list[EventFact] = field(default_factory=list)  # in (timestamp, seq) order
    restricted: bool = False


class _Due:
    def __init__(self) -> None:
        self.at: datetime | None = None

    def add(self, moment: datetime | None) -> None:
        if moment is not None and (self.at is None or moment < self.at):
            self.at = moment


def matches_filters(properties: dict[str, Any], where: tuple[PropertyFilter, ...]) -> bool:
    return all(compare(properties.get(f.key), f.compare) for f in where)


def _windowed(events: list[EventFact], window: int | None, now: datetime, due: _Due) -> list[EventFact]:
    if window is None:
        return events
    since = now - timedelta(seconds=window)
    kept = [e for e in events if e.at >= since]
    if kept:
        # counted events leave the window one by one; the first to leave may change the answer
        due.add(min(e.at for e in kept) + timedelta(seconds=window) + TICK)
    return kept


def _leaf_events(facts: Facts, leaf: EventCount) -> list[EventFact]:
    return [
        e
        for e in facts.events
        if e.type == "track" and e.name == leaf.name and matches_filters(e.properties, leaf.where)
    ]


def _eval(node: Condition, facts: Facts, now: datetime, due: _Due) -> bool:
    if isinstance(node, All):
        return all([_eval(item, facts, now, due) for item in node.items])
    if isinstance(node, AnyOf):
        return any([_eval(item, facts, now, due) for item in node.items])
    if isinstance(node, Not):
        return not _eval(node.item, facts, now, due)
    if isinstance(node, Trait):
        return compare(facts.traits.get(node.key), node.compare)
    if isinstance(node, Computed):
        return compare(facts.computed.get(node.name), node.compare)
    if isinstance(node, Consent):
        return facts.consents.get(node.purpose) == node.status
    if isinstance(node, IdentifierLeaf):
        return (node.type in facts.identifier_types) == node.exists
    if isinstance(node, EventCount):
        counted = _windowed(_leaf_events(facts, node), node.window_seconds, now, due)
        return in_bounds(len(counted), node.min, node.max)
    if isinstance(node, Channels):
        counted = _windowed(facts.events, node.window_seconds, now, due)
        return in_bounds(len({e.channel for e in counted}), node.min, node.max)
    raise TypeError(f"unknown condition {node!r}")


def evaluate(condition: Condition, facts: Facts, now: datetime) -> tuple[bool, datetime | None]:
    """Whether the profile satisfies the condition, and the earliest time the answer may change."""
    due = _Due()
    if facts.restricted:
        return False, None
    return _eval(condition, facts, now, due), due.at


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _scalar(value: Any) -> bool:
    return isinstance(value, str | bool) or _number(value)


def compute(trait: ComputedTrait, events: list[EventFact], now: datetime) -> tuple[Any, datetime | None]:
    """The stored value of a computed trait (None: no value) and when it may next change by itself.

    days_since_last stores the time of the last matching event as epoch seconds; ``readable`` turns it
    into whole days at the time of reading.
    """
    due = _Due()
    matched = [
        e
        for e in events
        if trait.event is None
        or (e.type == "track" and e.name == trait.event and matches_filters(e.properties, trait.where))
    ]
    matched = _windowed(matched, trait.window_seconds, now, due)
    fn = trait.function
    if fn == "count":
        return len(matched), due.at
    if fn == "days_since_last":
        if not matched:
            return None, due.at
        last = max(e.at for e in matched)
        stored = last.timestamp()
        due.add(_next_day(stored, now))
        return stored, due.at
    values: list[tuple[EventFact, Any]] = [
        (e, e.channel if trait.channel else e.properties.get(trait.property or "")) for e in matched
    ]
    if fn in ("sum", "min", "max"):
        numbers: list[float] = [v for _, v in values if _number(v)]
        if fn == "sum":
            return (sum(numbers) if numbers else 0), due.at
        if not numbers:
            return None, due.at
        return (min(numbers) if fn == "min" else max(numbers)), due.at
    present = [(e, v) for e, v in values if _scalar(v)]
    if not present:
        return None, due.at
    if fn == "first":
        return present[0][1], due.at
    if fn == "last":
        return present[-1][1], due.at
    # most_frequent: the most counted value; a tie goes to the value seen last
    counts = Counter((type(v).__name__, v) for _, v in present)
    latest = {(type(v).__name__, v): i for i, (_, v) in enumerate(present)}
    best = max(counts, key=lambda k: (counts[k], latest[k]))
    return best[1], due.at


def _next_day(stored: float, now: datetime) -> datetime:
    days = readable_days(stored, now)
    return datetime.fromtimestamp(stored, UTC) + timedelta(days=max(days, 0) + 1)


def readable_days(stored: float, now: datetime) -> int:
    return math.floor((now.timestamp() - stored) / DAY)


def readable(trait: ComputedTrait, stored: Any, now: datetime) -> Any:
    """The value as profiles and conditions see it."""
    if stored is None:
        return None
    if trait.function == "days_since_last":
        return readable_days(float(stored), now)
    return stored
