"""Paths to conversion, built from touchpoint rows in (profile, time, seq) order.

Both engines (the database and DuckDB over the columnar copy) hand the same rows here, so they give
the same paths and the same answers.

For each person: the touchpoints since their previous conversion, and within the lookback before
this one, make the path of a conversion (the conversion event itself is no touchpoint, nor is a
return). Touchpoints in the period after the last conversion, within the lookback before the last
of them, make a path that did not convert: the Markov model needs those. A conversion's value is its revenue
net of every return of the same order recorded so far.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Set
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from omnikanal.analytics.model import Path, Touch

RETURN_EVENT = "Order Refunded"


@dataclass(slots=True)
class Customer:
    """A converting person in the period: the business channels they used, orders and net revenue."""

    channels: set[str] = field(default_factory=set)
    orders: int = 0
    revenue: float = 0.0


@dataclass(slots=True)
class Built:
    paths: list[Path] = field(default_factory=list)
    customers: dict[str, Customer] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Window:
    since: datetime
    until: datetime
    lookback: timedelta
    conversion: str = "Order Completed"

    @property
    def read_from(self) -> datetime:
        """The first time a touchpoint of a conversion in the window can have."""
        return self.since - self.lookback


def build_paths(
    rows: Iterable[Any], refunds: Mapping[str, int], window: Window, earlier: Set[str] = frozenset()
) -> Built:
    """Paths and converting customers from rows ordered by profile, time and seq; ``refunds`` is the
    returned amount in cents per order id, ``earlier`` the people who converted before the period
    (whose conversions in it are no acquisitions)."""
    built = Built()
    current: str | None = None
    pending: list[Touch] = []
    channels: set[str] = set()
    for row in rows:
        if row.profile_id != current:
            if current is not None:
                _close(built, current, pending, channels, window)
            current, pending, channels = row.profile_id, [], set()
        if window.since <= row.at < window.until:
            channels.add(row.channel)
        if row.event == window.conversion:
            _convert(built, row, pending, refunds, window, row.profile_id not in earlier)
            pending = []
        elif row.event != RETURN_EVENT:
            pending.append(Touch(row.at, row.channel, row.source, row.medium, row.campaign))
    if current is not None:
        _close(built, current, pending, channels, window)
    return built


def _within(touches: list[Touch], end: datetime, lookback: timedelta) -> tuple[Touch, ...]:
    cutoff = end - lookback
    if not touches or touches[0].at >= cutoff:
        return tuple(touches)  # the common case: the whole path is within the lookback
    return tuple(t for t in touches if t.at >= cutoff)


def _convert(
    built: Built, row: Any, pending: list[Touch], refunds: Mapping[str, int], window: Window, new: bool
) -> None:
    if not window.since <= row.at < window.until:
        return
    gross = row.value_cents or 0
    net = max(0, gross - refunds.get(row.order_id, 0)) if row.order_id else gross
    value = net / 100
    customer = built.customers.setdefault(row.profile_id, Customer())
    first = new and customer.orders == 0
    touches = _within(pending, row.at, window.lookback)
    built.paths.append(Path(row.profile_id, touches, row.at, value, row.order_id, first))
    customer.orders += 1
    customer.revenue += value


def _close(built: Built, profile_id: str, pending: list[Touch], channels: set[str], window: Window) -> None:
    customer = built.customers.get(profile_id)
    if customer is not None:
        customer.channels |= channels
    inside = [t for t in pending if window.since <= t.at < window.until]
    rest = _within(inside, inside[-1].at, window.lookback) if inside else ()
    if rest:
        built.paths.append(Path(profile_id, rest))
