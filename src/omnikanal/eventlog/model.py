"""What every event in the log is (one of the Segment spec's types), and which events a processor
wants."""

from __future__ import annotations

from dataclasses import dataclass

EVENT_TYPES = ("identify", "track", "page", "screen", "group", "alias")


@dataclass(frozen=True, slots=True)
class Interest:
    """Which events a processor can be affected by, decided from its definitions: every event, the
    events of some types, or track events of some names. The others are skipped without reading
    their payloads or the profiles behind them, so a listener costs only for what is defined."""

    every: bool = False
    types: frozenset[str] = frozenset()
    names: frozenset[str] = frozenset()

    def wants(self, event_type: str, name: str | None) -> bool:
        return self.every or event_type in self.types or (name is not None and name in self.names)

    @property
    def nothing(self) -> bool:
        return not (self.every or self.types or self.names)


EVERY = Interest(every=True)
NOTHING = Interest()
