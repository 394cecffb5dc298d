"""Synthetic webshop traffic, shaped like what a Segment/RudderStack browser library sends. No I/O.

A pool of returning customers (known anonymousId and userId, now and then an identify with email and
phone) plus a share of first-time visitors whose anonymousId was never seen before. Every event has
a fresh uuid4 messageId, so nothing is deduplicated away.

Two mixes (``MIXES``): ``live`` is a webshop's traffic (30 % of the events from never-seen anonymous
visitors, the rest from returning customers); ``history`` is an import of a shop system's past
(95 % of the events from customers never seen before, each with a user id of its own, the rest from
a pool of 200,000 so that they too are seldom seen twice).
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

FIRST_NAMES = ("Anna", "Jonas", "Lea", "Lukas", "Mia", "Paul", "Emma", "Finn", "Sophie", "Elias")
LAST_NAMES = ("Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker", "Hoffmann")
CITIES = ("Berlin", "Hamburg", "München", "Köln", "Frankfurt am Main", "Stuttgart", "Leipzig", "Dresden")
CATEGORIES = ("Werkzeug", "Garten", "Küche", "Bad", "Farben", "Elektro", "Holz", "Beleuchtung")
PRODUCTS = (
    "Akkuschrauber",
    "Bohrhammer",
    "Rasenmäher",
    "Wasserkocher",
    "Duschkopf",
    "Wandfarbe",
    "LED-Lampe",
)
USER_AGENTS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.5 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.5 Safari/605.1.15",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0 Mobile Safari/537.36",
)
LIBRARY = {"name": "analytics.js", "version": "2.11.1"}
SHOP = "https://shop.example.de"


@dataclass(frozen=True, slots=True)
class Person:
    number: int
    anonymous_id: str
    user_id: str
    email: str
    phone: str
    first_name: str
    last_name: str
    city: str
    user_agent: str
    ip: str


@dataclass(frozen=True, slots=True)
class Product:
    product_id: str
    name: str
    category: str
    price: float


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True, slots=True)
class Mix:
    name: str
    people: int  # the pool of returning customers
    new_share: float  # events from people never seen before
    new_known: bool  # the new people are customers with a user id (a shop system's history)
    description: str


MIXES: dict[str, Mix] = {
    "live": Mix(
        "live", 20_000, 0.3, False, "live traffic: 30 % new anonymous visitors, the rest returning customers"
    ),
    "history": Mix(
        "history",
        200_000,
        0.95,
        True,
        "history import: 95 % customers never seen before (user id each), the rest from 200,000",
    ),
}


class Traffic:
    """Generates events. ``new_share`` of the events come from people never seen before: anonymous
    visitors, or with ``new_known`` customers with a user id of their own (a history import)."""

    def __init__(
        self, seed: int, people: int = 20_000, new_share: float = 0.3, new_known: bool = False
    ) -> None:
        self._rng = random.Random(seed)
        self._seed = seed
        self._new_share = new_share
        self._new_known = new_known
        self._new_people = 0
        self._people = [self._person(n) for n in range(people)]
        rng = self._rng
        self._products = [
            Product(
                product_id=f"SKU-{10_000 + n}",
                name=f"{rng.choice(PRODUCTS)} {rng.choice(('Pro', 'Basic', 'Plus', 'XL'))} {n}",
                category=rng.choice(CATEGORIES),
                price=round(rng.uniform(2.5, 450.0), 2),
            )
            for n in range(500)
        ]

    @classmethod
    def of(cls, mix: Mix, seed: int) -> Traffic:
        return cls(seed, people=mix.people, new_share=mix.new_share, new_known=mix.new_known)

    def _person(self, n: int, prefix: str = "cust") -> Person:
        rng = self._rng
        return Person(
            number=n,
            anonymous_id=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            user_id=f"{prefix}-{self._seed}-{n:07d}",
            email=f"{'kunde' if prefix == 'cust' else prefix}{self._seed}.{n}@example.com",
            phone=f"+49 151 {(20_000_000 if prefix == 'cust' else 60_000_000) + n:08d}",
            first_name=rng.choice(FIRST_NAMES),
            last_name=rng.choice(LAST_NAMES),
            city=rng.choice(CITIES),
            user_agent=rng.choice(USER_AGENTS),
            ip=f"203.0.113.{n % 254 + 1}",
        )

    # -- one event ---------------------------------------------------------------------------------

    def event(self, timestamp: str) -> dict[str, Any]:
        """One event of the mix: ``new_share`` from people never seen, the rest returning customers."""
        rng = self._rng
        new = rng.random() < self._new_share
        if new and self._new_known:
            self._new_people += 1
            return self._known(self._person(self._new_people, "hist"), timestamp, new=True)
        if new:
            ua = rng.choice(USER_AGENTS)
            ip = f"198.51.100.{rng.randrange(1, 255)}"
            ids = {"anonymousId": str(uuid.uuid4())}
            roll = rng.random()
            kind = "page" if roll < 0.5 else ("Product Viewed" if roll < 0.9 else "Added to Cart")
            return self._shape(kind, ids, ua, ip, timestamp, None)
        person = self._people[int(rng.random() ** 2 * len(self._people))]  # some customers come back often
        return self._known(person, timestamp, new=False)

    def _known(self, person: Person, timestamp: str, new: bool) -> dict[str, Any]:
        rng = self._rng
        # Now and then a known customer logs in on a device never seen before.
        anonymous_id = str(uuid.uuid4()) if not new and rng.random() < 0.05 else person.anonymous_id
        ids = {"anonymousId": anonymous_id, "userId": person.user_id}
        roll = rng.random()
        if roll < 0.10:
            kind = "identify"
        elif roll < 0.40:
            kind = "page"
        elif roll < 0.75:
            kind = "Product Viewed"
        elif roll < 0.90:
            kind = "Added to Cart"
        else:
            kind = "Order Completed"
        return self._shape(kind, ids, person.user_agent, person.ip, timestamp, person)

    def track_event(self, timestamp: str) -> dict[str, Any]:
        """A track event (for ``/v1/track``), of the same mix of people."""
        while True:
            event = self.event(timestamp)
            if event["type"] == "track":
                return event

    def _shape(
        self,
        kind: str,
        ids: dict[str, str],
        user_agent: str,
        ip: str,
        timestamp: str,
        person: Person | None,
    ) -> dict[str, Any]:
        rng = self._rng
        product = self._products[rng.randrange(len(self._products))]
        path = f"/p/{product.product_id.lower()}"
        page = {
            "url": SHOP + path,
            "path": path,
            "title": f"{product.name} | Shop",
            "referrer": rng.choice(("https://www.google.de/", SHOP + "/", "")),
        }
        context = {
            "library": LIBRARY,
            "ip": ip,
            "userAgent": user_agent,
            "locale": "de-DE",
            "timezone": "Europe/Berlin",
            "page": page,
        }
        event: dict[str, Any] = {"messageId": str(uuid.uuid4()), "timestamp": timestamp, **ids}
        if kind == "page":
            event.update(type="page", name="Product", properties=dict(page))
        elif kind == "identify":
            assert person is not None
            event.update(
                type="identify",
                traits={
                    "email": person.email,
                    "phone": person.phone,
                    "firstName": person.first_name,
                    "lastName": person.last_name,
                    "address": {"city": person.city, "country": "DE"},
                },
            )
        elif kind == "Order Completed":
            items = [self._products[rng.randrange(len(self._products))] for _ in range(rng.randint(1, 3))]
            total = round(sum(p.price for p in items), 2)
            event.update(
                type="track",
                event=kind,
                properties={
                    "order_id": f"ORD-{rng.getrandbits(40):x}",
                    "total": total,
                    "revenue": round(total / 1.19, 2),
                    "tax": round(total - total / 1.19, 2),
                    "currency": "EUR",
                    "products": [
                        {"product_id": p.product_id, "name": p.name, "price": p.price, "quantity": 1}
                        for p in items
                    ],
                },
            )
        else:
            event.update(
                type="track",
                event=kind,
                properties={
                    "product_id": product.product_id,
                    "name": product.name,
                    "category": product.category,
                    "price": product.price,
                    "currency": "EUR",
                    "quantity": 1,
                },
            )
        event["context"] = context
        return event

    # -- request bodies ----------------------------------------------------------------------------

    def batch_body(self, size: int) -> bytes:
        stamp = now_iso()
        return orjson.dumps({"batch": [self.event(stamp) for _ in range(size)], "sentAt": stamp})

    def track_body(self) -> bytes:
        stamp = now_iso()
        event = self.track_event(stamp)
        event["sentAt"] = stamp
        return orjson.dumps(event)
