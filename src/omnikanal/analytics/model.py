"""Types of the analytics capability: touchpoints, paths and attribution answers (no I/O)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal, NamedTuple

Dimension = Literal["channel", "source", "medium", "campaign"]
DIMENSIONS: tuple[Dimension, ...] = ("channel", "source", "medium", "campaign")
MODELS = (
    "first_touch",
    "last_touch",
    "last_non_direct",
    "linear",
    "time_decay",
    "position_based",
    "markov",
    "shapley",
)
# What a touchpoint without any marketing source is called (GA's convention).
DIRECT = "(direct)"
NONE = "(none)"


class Touch(NamedTuple):
    """One touchpoint: when, through which business channel, and its marketing source (a named
    tuple: paths hold millions of them, and a tuple is made several times faster than a frozen
    dataclass)."""

    at: datetime
    channel: str
    source: str = DIRECT
    medium: str = NONE
    campaign: str | None = None

    def key(self, dimension: Dimension) -> str:
        if dimension == "channel":
            return self.channel
        if dimension == "source":
            return self.source
        if dimension == "medium":
            return self.medium
        return self.campaign or NONE

    @property
    def direct(self) -> bool:
        return self.source == DIRECT


@dataclass(frozen=True, slots=True)
class Path:
    """A person's touchpoints before a conversion (``converted_at`` set) or, when none followed
    within the lookback, before the end of the period (a path that did not convert)."""

    profile_id: str
    touches: tuple[Touch, ...]
    converted_at: datetime | None = None
    # the conversion's value net of its returns, in the analytics currency
    value: float = 0.0
    order_id: str | None = None
    # the person's first purchase ever (none before it, in or before the period): an acquisition
    first: bool = False

    @property
    def converted(self) -> bool:
        return self.converted_at is not None


@dataclass(frozen=True, slots=True)
class Options:
    """How paths are built and credited."""

    lookback: timedelta = timedelta(days=30)
    half_life: timedelta = timedelta(days=7)
    markov_order: int = 1


@dataclass(slots=True)
class Credit:
    """What a model gives one key: fractions of conversions and of their value."""

    conversions: float = 0.0
    value: float = 0.0
