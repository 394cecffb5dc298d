"""A profile's state: traits with provenance, survivorship, and computed basics. No I/O."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class TraitRules:
    """Survivorship: per trait, source names in order of trust; otherwise the latest event wins."""

    source_priority: Mapping[str, Sequence[str]]

    def rank(self, trait: str, source_name: str) -> int:
        order = self.source_priority.get(trait)
        if not order:
            return 0
        try:
            return order.index(source_name)
        except ValueError:
            return len(order)

    def wins(self, trait: str, new: Mapping[str, Any], old: Mapping[str, Any] | None) -> bool:
        """Whether the new observation of a trait replaces the old one."""
        if old is None:
            return True
        new_rank = self.rank(trait, str(new.get("source", "")))
        old_rank = self.rank(trait, str(old.get("source", "")))
        if new_rank != old_rank:
            return new_rank < old_rank
        return str(new["at"]) >= str(old["at"])


@dataclass(slots=True)
class ProfileState:
    """What the hub holds about one person, as kept on the profiles row."""

    id: str
    created_at: datetime
    first_seen: datetime | None = None
    last_seen: datetime | None = None
    traits: dict[str, dict[str, Any]] = field(default_factory=dict)
    stats: dict[str, dict[str, int]] = field(default_factory=lambda: {"channels": {}, "types": {}})
    event_count: int = 0
    # Summary of the profile's identifiers (kept with the profile so stitching needs no extra read):
    identifier_counts: dict[str, int] = field(default_factory=dict)
    user_ids: set[str] = field(default_factory=set)
    is_new: bool = False
    dirty: bool = False

    def observe(
        self,
        *,
        channel: str,
        event_type: str,
        at: datetime,
        traits: Mapping[str, Any] | None,
        source_id: str,
        source_name: str,
        rules: TraitRules,
    ) -> None:
        """Account for one event of this person."""
        self.dirty = True
        self.event_count += 1
        channels = self.stats.setdefault("channels", {})
        channels[channel] = channels.get(channel, 0) + 1
        types = self.stats.setdefault("types", {})
        types[event_type] = types.get(event_type, 0) + 1
        if self.first_seen is None or at < self.first_seen:
            self.first_seen = at
        if self.last_seen is None or at > self.last_seen:
            self.last_seen = at
        if traits:
            stamp = at.isoformat()
            for key, value in traits.items():
                observation = {"value": value, "source_id": source_id, "source": source_name, "at": stamp}
                if rules.wins(key, observation, self.traits.get(key)):
                    self.traits[key] = observation

    def absorb(self, other: ProfileState, rules: TraitRules) -> None:
        """Take in a profile merged into this one."""
        self.dirty = True
        self.event_count += other.event_count
        for group, counts in other.stats.items():
            mine = self.stats.setdefault(group, {})
            for key, count in counts.items():
                mine[key] = mine.get(key, 0) + count
        if other.first_seen is not None and (self.first_seen is None or other.first_seen < self.first_seen):
            self.first_seen = other.first_seen
        if other.last_seen is not None and (self.last_seen is None or other.last_seen > self.last_seen):
            self.last_seen = other.last_seen
        for key, observation in other.traits.items():
            if rules.wins(key, observation, self.traits.get(key)):
                self.traits[key] = observation
        self.created_at = min(self.created_at, other.created_at)
        for identifier_type, count in other.identifier_counts.items():
            self.identifier_counts[identifier_type] = self.identifier_counts.get(identifier_type, 0) + count
        self.user_ids |= other.user_ids

    def stored_stats(self) -> dict[str, Any]:
        """The stats column: event counts and the identifier summary."""
        return {**self.stats, "identifiers": self.identifier_counts, "user_ids": sorted(self.user_ids)}


def event_traits(event_type: str, payload: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The traits an event states about its person."""
    if event_type == "identify":
        traits = payload.get("traits")
        if isinstance(traits, dict):
            return traits
    context = payload.get("context")
    if isinstance(context, dict) and isinstance(context.get("traits"), dict):
        return dict(context["traits"])
    return None
