"""A generated history of touchpoint rows for the columnar copy, with what the path builder must
get right: conversions before the period (which cut a path but make none), conversions without
touches, touches at the very moment of a conversion (after it by seq), returns taking part or all of
an order back, campaigns missing or blank, touches older than the lookback, people who never convert.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)
CHANNELS = ("web", "app", "pos", "email", "hotline")
SOURCES = (("google", "cpc", "spring"), ("newsletter", "email", "nov"), ("radio-ffh", "radio", None))
SOURCES += (("(direct)", "(none)", None), ("facebook", "social", ""))


def history(people: int, seed: int) -> list[SimpleNamespace]:
    """Touchpoint rows of the columnar copy, in seq order, over the 50 days before NOW."""
    rng = random.Random(seed)
    events: list[tuple[datetime, str, dict[str, object]]] = []
    for p in range(people):
        profile, at, orders = f"p{p}", NOW - timedelta(days=rng.uniform(5, 50)), []
        for _ in range(rng.randint(0, 14)):
            at += timedelta(hours=rng.choice((0, 1, 7, 30, 100)))
            if at >= NOW:
                break
            roll = rng.random()
            if roll < 0.2:
                orders.append(order := f"o{p}-{len(orders)}")
                cents = rng.choice((None, 0, 1999, 5000, 12_345))
                events.append(
                    (at, profile, {"event": "Order Completed", "order_id": order, "value_cents": cents})
                )
            elif roll < 0.26 and orders:
                back = rng.choice((500, 1999, 99_999))
                row = {"event": "Order Refunded", "order_id": rng.choice(orders), "value_cents": back}
                events.append((at, profile, row))
            else:
                source, medium, campaign = rng.choice(SOURCES)
                row = {"event": rng.choice((None, "Product Viewed")), "channel": rng.choice(CHANNELS)}
                events.append(
                    (at, profile, {**row, "source": source, "medium": medium, "campaign": campaign})
                )
    events.sort(key=lambda e: rng.random())  # seq order is arrival order, not time order
    return [touchpoint(seq, at, profile, fields) for seq, (at, profile, fields) in enumerate(events, 1)]


def touchpoint(seq: int, at: datetime, profile: str, fields: dict[str, object]) -> SimpleNamespace:
    base: dict[str, object] = {"type": "track", "channel": "web", "source": "(direct)", "medium": "(none)"}
    base.update(campaign=None, order_id=None, value_cents=None, currency="EUR", event=None)
    return SimpleNamespace(seq=seq, profile_id=profile, at=at, **{**base, **fields})
