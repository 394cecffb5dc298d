"""Builds the demo retailer through the public HTTP APIs of a running hub: locations, catalogue and
stock, sources, customers' journeys (Segment batches), segments, reservations, click & collect
orders, messages and tasks. Deterministic for a seed (ids and random choices; times follow the clock)."""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx

from omnikanal.demo import data
from omnikanal.demo.http import Step
from omnikanal.demo.http import check as _check
from omnikanal.demo.journeys import SOURCES, Journeys, Person, build
from omnikanal.demo.optin import Confirmer

BATCH_EVENTS = 500


@dataclass
class Built:
    customers: int
    events: int
    reservations: int
    orders: int
    messages: int


SEGMENTS: tuple[tuple[str, str, dict[str, Any]], ...] = (
    (
        "Werkzeug-Interessierte ohne Kauf",
        "Szenario 8: mindestens 3 Werkzeug-Ansichten in 14 Tagen, keine Bestellung, 2+ Kanäle",
        {
            "all": [
                {
                    "event": {
                        "name": "Product Viewed",
                        "where": [{"key": "category", "op": "eq", "value": "Werkzeug"}],
                        "within_days": 14,
                        "min": 3,
                    }
                },
                {"not": {"event": {"name": "Order Completed", "within_days": 14}}},
                {"channels": {"min": 2, "within_days": 14}},
            ]
        },
    ),
    (
        "Mehrkanal-Kunden",
        "In den letzten 30 Tagen auf mindestens zwei Kanälen aktiv",
        {"channels": {"min": 2, "within_days": 30}},
    ),
    (
        "Gartenfreunde",
        "Haben in 30 Tagen Garten-Artikel angesehen",
        {
            "event": {
                "name": "Product Viewed",
                "where": [{"key": "category", "op": "eq", "value": "Garten"}],
                "within_days": 30,
            }
        },
    ),
    (
        "Newsletter-Leser",
        "Haben eine Newsletter-Mail geöffnet",
        {"event": {"name": "Email Opened", "within_days": 60}},
    ),
)


class DemoBuilder:
    def __init__(self, client: httpx.Client, token: str, seed: int, customers: int, now: datetime) -> None:
        self.http = client
        self.auth = {"Authorization": f"Bearer {token}"}
        self.seed = seed
        self.customers = customers
        self.now = now
        self.rng = random.Random(seed + 1)

    def _put(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        return _check(self.http.put(path, json=body, headers=self.auth), f"PUT {path}")

    def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        return _check(self.http.post(path, json=body, headers=self.auth), f"POST {path}")

    def run(self, step: Step) -> Built:
        self.shop(step)
        keys = self.sources()
        journeys = build(self.seed, self.customers, self.now)
        # Newsletter sign-ups click their confirmation links while the rest of the shop is built.
        with Confirmer(self.http, self.auth, journeys.people, step) as confirmer:
            events = self.send(journeys, keys, step)
            self.segments(step)
            reservations = self.reservations(journeys.people, step)
            orders = self.pickups(journeys.people, step)
            messages = self.messages(journeys.people, step)
            confirmer.all_sent()
        self.costs(step)
        return Built(len(journeys.people), events, reservations, orders, messages)

    # -- the shop --------------------------------------------------------------------------------

    def shop(self, step: Step) -> None:
        products = data.catalogue()
        places = data.locations()
        skus = [v["sku"] for p in products for v in p["variants"]]
        advance = step("Filialen, Katalog und Bestand", len(places) + len(products) + len(skus))
        for place in places:
            self._put(f"/api/commerce/locations/{place['id']}", place)
            advance(1)
        for product in products:
            self._put(f"/api/commerce/products/{product['id']}", product)
            advance(1)
        for sku in skus:
            for place in places:
                quantity = (
                    self.rng.randrange(20, 400) if place["kind"] == "warehouse" else self.rng.randrange(0, 25)
                )
                if quantity:
                    body = {"location_id": place["id"], "sku": sku, "kind": "receipt", "quantity": quantity}
                    self._post("/api/commerce/stock/movements", body)
            advance(1)

    def sources(self) -> dict[str, str]:
        keys = {}
        for name, channel in SOURCES.items():
            keys[name] = self._post("/api/sources", {"name": name, "channel": channel})["write_key"]
        return keys

    def costs(self, step: Step) -> None:
        """Media spend of the campaigns the journeys came through (search, social, radio, the
        newsletter), imported as a cost file, then the columnar copy brought up to date."""
        advance = step("Mediakosten (Suche, Social, Radio, Newsletter)", 2)
        lines = ["date,source,medium,campaign,cost,clicks"]
        for back in range(1, 46):
            day = (self.now - timedelta(days=back)).date().isoformat()
            lines += [
                f"{day},google,cpc,Werkzeugwoche,38.50,{40 + back % 7}",
                f"{day},google,cpc,Frühjahr,21.00,{25 + back % 5}",
                f"{day},facebook,social,Garten,17.00,{30 + back % 3}",
            ]
            if back % 7 == 0:
                lines += [f"{day},radio-ffh,radio,Herbst,900,", f"{day},newsletter,email,Werkzeugwoche,12,"]
        headers = {**self.auth, "Content-Type": "text/csv"}
        answer = self.http.post(
            "/api/analytics/costs",
            params={"name": "demo-mediaplan.csv"},
            content="\n".join(lines) + "\n",
            headers=headers,
        )
        _check(answer, "POST /api/analytics/costs")
        advance(1)
        _check(self.http.post("/api/analytics/refresh", headers=self.auth), "POST /api/analytics/refresh")
        advance(1)

    # -- the customers' journeys -----------------------------------------------------------------

    def send(self, journeys: Journeys, keys: dict[str, str], step: Step) -> int:
        total = sum(len(v) for v in journeys.events.values())
        advance = step(f"Kundenreisen von {len(journeys.people)} Kunden (Segment-Batches)", total)
        for source, calls in journeys.events.items():
            for start in range(0, len(calls), BATCH_EVENTS):
                chunk = calls[start : start + BATCH_EVENTS]
                answer = self.http.post("/v1/batch", json={"batch": chunk}, auth=(keys[source], ""))
                _check(answer, f"batch of {source}")
                advance(len(chunk))
        return total

    def segments(self, step: Step) -> None:
        advance = step("Segmente und berechnete Merkmale", len(SEGMENTS) + 1)
        self._put(
            "/api/computed-traits",
            {"name": "lifetime_value", "function": "sum", "event": "Order Completed", "property": "revenue"},
        )
        advance(1)
        for name, description, condition in SEGMENTS:
            self._post("/api/segments", {"name": name, "description": description, "condition": condition})
            advance(1)

    def _profile(self, person: Person) -> str | None:
        if person.user_id is None:
            return None
        answer = self.http.get(
            "/api/profiles/lookup", params={"type": "user_id", "value": person.user_id}, headers=self.auth
        )
        return str(answer.json()["id"]) if answer.status_code == 200 else None

    def _callers(self, people: list[Person], share: float, at_least: int) -> list[tuple[Person, str]]:
        """People the hotline can call back: their profile holds the phone number they called from."""
        wanted = max(at_least, int(len(people) * share))
        found: list[tuple[Person, str]] = []
        for person in self.rng.sample(people, min(len(people), wanted * 10)):
            answer = self.http.get(
                "/api/profiles/lookup", params={"type": "phone", "value": person.phone}, headers=self.auth
            )
            if answer.status_code == 200:
                found.append((person, str(answer.json()["id"])))
                if len(found) == wanted:
                    break
        return found

    def _some(self, people: list[Person], share: float, at_least: int) -> list[Person]:
        known = [p for p in people if p.user_id]
        count = min(len(known), max(at_least, int(len(people) * share)))
        return self.rng.sample(known, count)

    def reservations(self, people: list[Person], step: Step) -> int:
        chosen = self._some(people, 0.03, 10)
        advance = step("Reservierungen", len(chosen))
        made = 0
        for person in chosen:
            profile_id = self._profile(person)
            sku = self._available_sku(person.store_id)
            if profile_id and sku:
                body = {
                    "profile_id": profile_id,
                    "location_id": person.store_id,
                    "sku": sku,
                    "quantity": 1,
                    "hold_hours": self.rng.choice((8, 24, 48)),
                    "channel": self.rng.choice(("web", "app")),
                }
                if (
                    self.http.post("/api/commerce/reservations", json=body, headers=self.auth).status_code
                    == 201
                ):
                    made += 1
            advance(1)
        return made

    def _available_sku(self, store_id: str) -> str | None:
        rows = _check(
            self.http.get("/api/commerce/stock", params={"location_id": store_id}, headers=self.auth), "stock"
        )["stock"]
        available = sorted(r["sku"] for r in rows if r["available"] > 0)
        return self.rng.choice(available) if available else None

    def pickups(self, people: list[Person], step: Step) -> int:
        chosen = self._some(people, 0.01, 6)
        advance = step("Click & Collect", len(chosen))
        made = 0
        for person in chosen:
            profile_id = self._profile(person)
            sku = self._available_sku(person.store_id)
            if profile_id and sku:
                order = {
                    "profile_id": profile_id,
                    "channel": "web",
                    "fulfilment": "click_and_collect",
                    "fulfilment_location_id": person.store_id,
                    "lines": [{"sku": sku, "quantity": 1}],
                }
                answer = self.http.post("/api/commerce/orders", json=order, headers=self.auth)
                if answer.status_code == 201:
                    made += 1
                    order_id = answer.json()["id"]
                    for status in ("confirmed", "ready_for_pickup")[: self.rng.randrange(0, 3)]:
                        self._post(f"/api/commerce/orders/{order_id}/status", {"status": status})
            advance(1)
        return made

    def messages(self, people: list[Person], step: Step) -> int:
        mails = self._some(people, 0.02, 10)
        hotline = self._callers(people, 0.002, 5)
        stores = [(p, self._profile(p)) for p in self._some(people, 0.003, 6)]
        advance = step("Nachrichten und Aufgaben", len(mails) + len(hotline) + len(stores))
        sent = 0
        for person in mails:
            profile_id = self._profile(person)
            if profile_id:
                body = {
                    "profile_id": profile_id,
                    "channel": "email",
                    "transactional": True,
                    "content": {
                        "subject": "Ihre Bestellung ist unterwegs",
                        "text": f"Hallo {person.first}, Ihre Bestellung ist unterwegs. Ihr Werkhaus-Team",
                    },
                    "idempotency_key": f"demo-{self.seed}-ship-{person.index}",
                }
                sent += self.http.post("/api/messages", json=body, headers=self.auth).status_code < 300
            advance(1)
        for queue, group, title in (
            ("hotline", hotline, "Rückruf erbeten"),
            ("store", stores, "Beratung vor Ort"),
        ):
            for person, profile_id in group:
                if profile_id:
                    body = {
                        "profile_id": profile_id,
                        "channel": "task",
                        "transactional": True,
                        "queue": queue if queue == "hotline" else f"store:{person.store_id}",
                        "kind": "call" if queue == "hotline" else "advice",
                        "content": {
                            "subject": title,
                            "text": f"{person.first} {person.last} bittet um {title}.",
                        },
                        "idempotency_key": f"demo-{self.seed}-{queue}-{person.index}",
                    }
                    sent += self.http.post("/api/messages", json=body, headers=self.auth).status_code < 300
                advance(1)
        return sent


@contextmanager
def demo_client(base_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base_url, timeout=120) as client:
        yield client
