"""Trait survivorship and profile state arithmetic."""

from __future__ import annotations

from datetime import UTC, datetime

from omnikanal.profiles.model import ProfileState, TraitRules


def _at(hour: int) -> datetime:
    return datetime(2026, 5, 1, hour, tzinfo=UTC)


def _observe(state: ProfileState, rules: TraitRules, hour: int, source: str, **traits: object) -> None:
    state.observe(
        channel="web",
        event_type="identify",
        at=_at(hour),
        traits=traits,
        source_id=source,
        source_name=source,
        rules=rules,
    )


def test_latest_event_time_wins_by_default_even_when_it_arrives_first() -> None:
    rules = TraitRules({})
    state = ProfileState(id="p", created_at=_at(0))
    _observe(state, rules, 10, "shop", city="Köln")
    _observe(state, rules, 9, "pos", city="Bonn")  # older event arriving late
    assert state.traits["city"]["value"] == "Köln"
    assert state.traits["city"]["source"] == "shop"


def test_source_priority_beats_time_for_the_traits_it_names() -> None:
    rules = TraitRules({"birthday": ["erp"]})
    state = ProfileState(id="p", created_at=_at(0))
    _observe(state, rules, 8, "erp", birthday="1980-01-01", city="Ulm")
    _observe(state, rules, 12, "shop", birthday="1990-09-09", city="Bonn")
    assert state.traits["birthday"]["value"] == "1980-01-01"
    assert state.traits["city"]["value"] == "Bonn"


def test_absorb_adds_counts_and_widens_the_seen_window() -> None:
    rules = TraitRules({})
    a = ProfileState(id="a", created_at=_at(5))
    b = ProfileState(id="b", created_at=_at(1))
    _observe(a, rules, 6, "shop", name="A")
    b.observe(
        channel="app",
        event_type="track",
        at=_at(2),
        traits=None,
        source_id="app",
        source_name="app",
        rules=rules,
    )
    a.absorb(b, rules)
    assert a.event_count == 2
    assert a.stats["channels"] == {"web": 1, "app": 1}
    assert (a.first_seen, a.last_seen) == (_at(2), _at(6))
    assert a.created_at == _at(1)
