"""A generated retail history for evaluation and benchmarks: customers with one or two favourite
categories, products of Zipf-like popularity, views that lead to cart adds and orders, consumables
bought again and again, some returns. Seeded, so a run can be repeated. No I/O."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta


@dataclass(frozen=True, slots=True)
class Interaction:
    profile_id: str
    sku: str | None
    product_id: str
    kind: str
    weight: float
    store_id: str | None
    at: datetime


@dataclass(frozen=True, slots=True)
class Catalogue:
    products: list[str]
    categories: dict[str, str]
    consumables: frozenset[str]


WEIGHT = {"view": 1.0, "scan": 2.0, "cart": 3.0, "order": 5.0, "return": -5.0}


def catalogue(products: int, categories: int = 40, seed: int = 7) -> Catalogue:
    rng = random.Random(seed)
    ids = [f"P{n:06d}" for n in range(products)]
    cats = {p: f"C{rng.randrange(categories):02d}" for p in ids}
    consumable = frozenset(p for p in ids if rng.random() < 0.1)
    return Catalogue(ids, cats, consumable)


def history(
    interactions: int,
    customers: int,
    shop: Catalogue,
    stores: int = 10,
    days: int = 365,
    seed: int = 11,
) -> list[Interaction]:
    """About ``interactions`` rows, in time order."""
    rng = random.Random(seed)
    by_category: dict[str, list[str]] = {}
    for p in shop.products:
        by_category.setdefault(shop.categories[p], []).append(p)
    cats = sorted(by_category)
    # Zipf-like: the n-th product of a category is chosen with weight 1 / (n + 1)
    weights = {c: [1.0 / (n + 1) for n in range(len(by_category[c]))] for c in cats}
    start = datetime(2026, 1, 1, tzinfo=UTC)
    per_customer = max(1, interactions // customers)
    out: list[Interaction] = []
    for n in range(customers):
        pid = f"prof_gen_{n:07d}"
        favourites = rng.sample(cats, k=min(len(cats), rng.choice((1, 1, 2))))
        home = f"store-{rng.randrange(stores)}"
        count = max(1, int(rng.expovariate(1.0 / per_customer)))
        staples: list[str] = []
        for _ in range(count):
            at = start + timedelta(seconds=rng.randrange(days * 86400))
            if staples and rng.random() < 0.15:
                product = rng.choice(staples)  # repeat buying of a consumable
                out.append(Interaction(pid, None, product, "order", WEIGHT["order"], home, at))
                continue
            category = rng.choice(favourites) if rng.random() < 0.8 else rng.choice(cats)
            product = rng.choices(by_category[category], weights[category])[0]
            roll = rng.random()
            kind = "view" if roll < 0.6 else "scan" if roll < 0.7 else "cart" if roll < 0.85 else "order"
            store = home if kind in ("scan", "order") and rng.random() < 0.5 else None
            out.append(Interaction(pid, None, product, kind, WEIGHT[kind], store, at))
            if kind == "order":
                if product in shop.consumables:
                    staples.append(product)
                elif rng.random() < 0.05:
                    later = at + timedelta(days=rng.randrange(1, 30))
                    out.append(Interaction(pid, None, product, "return", WEIGHT["return"], store, later))
    out.sort(key=lambda r: r.at)
    return out


@dataclass(frozen=True, slots=True)
class SentMessage:
    profile_id: str
    channel: str
    sent_at: datetime
    window_end: datetime
    acted_at: datetime | None


# how often a customer acts after a message, per channel, before their own taste
BASE_RATES = {"email": 0.15, "sms": 0.1, "whatsapp": 0.25, "push": 0.05}


def messages(
    customers: int, per_customer: int = 20, window_hours: float = 48.0, seed: int = 13
) -> list[SentMessage]:
    """Messages to customers reachable on two to four channels, sent on a random one of theirs; each
    customer acts on one favourite channel far more often than on the others. In time order."""
    rng = random.Random(seed)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    out: list[SentMessage] = []
    for n in range(customers):
        pid = f"prof_gen_{n:07d}"
        mine = ["email", *[c for c in ("sms", "whatsapp", "push") if rng.random() < 0.5]]
        if len(mine) < 2:
            mine.append(rng.choice(("sms", "whatsapp", "push")))
        favourite = rng.choice(mine)
        rates = {c: 0.6 if c == favourite else BASE_RATES[c] * rng.uniform(0.3, 1.2) for c in mine}
        for _ in range(max(1, int(rng.expovariate(1.0 / per_customer)))):
            channel = rng.choice(mine)
            at = start + timedelta(seconds=rng.randrange(365 * 86400))
            acted = (
                at + timedelta(hours=rng.uniform(0.1, window_hours))
                if rng.random() < rates[channel]
                else None
            )
            out.append(SentMessage(pid, channel, at, at + timedelta(hours=window_hours), acted))
    out.sort(key=lambda m: m.sent_at)
    return out
