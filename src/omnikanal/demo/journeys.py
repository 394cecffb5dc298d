"""Customers and their journeys across channels, as the channel systems would send them (Segment
calls per source). Deterministic for a seed. Duplicates and typos are made on purpose: a till that
types an email wrong, a hotline that only knows a phone number, a second device never logged in."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from omnikanal.clock import isoformat
from omnikanal.demo.data import EMAIL_DOMAINS, FIRST_NAMES, LAST_NAMES, PRODUCTS, STORES, ascii_name, slug

# The channel systems of the retailer: source name -> business channel.
SOURCES: dict[str, str] = {
    "demo-webshop": "web",
    "demo-app": "app",
    "demo-kasse": "store",
    "demo-hotline": "hotline",
    "demo-newsletter": "email",
}

# Of those asking for the newsletter in the shop, the share that clicks the confirmation link.
CONFIRMS_EMAIL = 0.95
# Of web orders, the share that ticks the SMS box at checkout; of delivered newsletters, the share
# opened without a click.
WEB_SMS_OPTIN = 0.4
OPENS_UNCLICKED = 0.45
# Of till customers not signed up in the shop, the share that signs up for the newsletter there.
TILL_EMAIL_OPTIN = 0.3

# Where a customer's first web visit came from, by customer number (None: typed the address).
CAMPAIGN_URLS: tuple[str | None, ...] = (
    "https://demo-shop.example/?utm_source=google&utm_medium=cpc&utm_campaign=Werkzeugwoche",
    "https://demo-shop.example/?utm_source=facebook&utm_medium=social&utm_campaign=Garten",
    "https://demo-shop.example/radio?utm_source=radio-ffh&utm_medium=radio&utm_campaign=Herbst",
    "https://demo-shop.example/?utm_source=google&utm_medium=cpc&utm_campaign=Frühjahr",
    None,
)


@dataclass
class Person:
    index: int
    first: str
    last: str
    email: str
    phone: str
    user_id: str | None
    loyalty_card: str | None
    store_id: str
    devices: list[str]
    # asked for the newsletter in the shop (pending), and will click the hub's confirmation link
    email_optin: bool = False
    confirms_email: bool = False


@dataclass
class Journeys:
    """Events per source, and the people behind them."""

    people: list[Person] = field(default_factory=list)
    events: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: {name: [] for name in SOURCES})


def _typo(rng: random.Random, email: str) -> str:
    local, _, domain = email.partition("@")
    i = rng.randrange(1, max(len(local) - 1, 2))
    return f"{local[:i]}{local[i + 1 :]}{local[i] if i < len(local) else ''}@{domain}"


def _sms_grant(anonymous_id: str | None, phone: str, extra: dict[str, Any]) -> dict[str, Any]:
    """An SMS marketing grant with the number it is for (so the profile holds it)."""
    call: dict[str, Any] = {
        "type": "track",
        "event": "Consent Updated",
        "properties": {"purpose": "sms_marketing", "status": "granted", **extra},
        "context": {"traits": {"phone": phone}},
    }
    if anonymous_id:
        call["anonymousId"] = anonymous_id
    return call


def _newsletter(person: Person, email: str, event: str, campaign: str) -> dict[str, Any]:
    # the tool's subscriber id is no customer number: by it and the address, the events join the
    # person who signed up (a second user id would keep them on a profile of their own)
    who = {"userId": person.user_id} if person.user_id else {"anonymousId": f"nl-{email}"}
    return {
        "type": "track",
        **who,
        "event": event,
        "properties": {"campaign": campaign},
        "context": {
            "traits": {"email": email},
            "campaign": {"source": "newsletter", "medium": "email", "name": campaign},
        },
    }


def _items(rng: random.Random, count: int) -> list[tuple[str, str, str, int]]:
    """(sku, product id, category, price in cents) of random catalogue items."""
    chosen = []
    for _ in range(count):
        product_id, _, _, _, category, cents, colours = rng.choice(PRODUCTS)
        chosen.append((f"{product_id}-{slug(rng.choice(colours))}", product_id, category, cents))
    return chosen


def build(seed: int, customers: int, now: datetime, days: int = 45) -> Journeys:
    rng = random.Random(seed)
    # Draws added later come from a stream of their own, so the journeys above stay as they were.
    side = random.Random(seed * 1_000_003 + 17)
    out = Journeys()
    events = out.events

    def add(source: str, call: dict[str, Any], at: datetime) -> None:
        call["timestamp"] = isoformat(min(at, now - timedelta(minutes=1)))
        call["messageId"] = f"demo-{seed}-{source}-{len(events[source])}"
        events[source].append(call)

    for i in range(customers):
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        email = f"{ascii_name(first)}.{ascii_name(last)}{rng.randrange(1, 999)}@{rng.choice(EMAIL_DOMAINS)}"
        person = Person(
            index=i,
            first=first,
            last=last,
            email=email,
            phone=f"+49 15{rng.randrange(1, 8)} {rng.randrange(10_000_000, 99_999_999)}",
            user_id=f"K{100_000 + i}" if rng.random() < 0.7 else None,
            loyalty_card=f"2{rng.randrange(10**11, 10**12)}" if rng.random() < 0.5 else None,
            store_id=rng.choice(STORES)[0],
            devices=[f"dev-{seed}-{i}-{k}" for k in range(rng.choice((1, 1, 2, 3)))],
        )
        out.people.append(person)
        at = now - timedelta(days=rng.uniform(1, days), hours=rng.uniform(0, 12))
        traits = {"firstName": first, "lastName": last, "email": email}
        web_device = person.devices[0]

        # Scenario 1: browse anonymously on the web, then register or check out. The first view
        # came through a campaign for four customers in five (by their number, so the random
        # sequence stays as it was): search ads, social, the radio spot's vanity URL.
        for k, (sku, product_id, category, _) in enumerate(_items(rng, rng.randrange(1, 7))):
            at += timedelta(minutes=rng.uniform(1, 40))
            view: dict[str, Any] = {
                "type": "track",
                "anonymousId": web_device,
                "event": "Product Viewed",
                "properties": {"sku": sku, "product_id": product_id, "category": category},
            }
            if k == 0 and CAMPAIGN_URLS[i % len(CAMPAIGN_URLS)]:
                view["context"] = {"page": {"url": CAMPAIGN_URLS[i % len(CAMPAIGN_URLS)]}}
            add("demo-webshop", view, at)
        ident: dict[str, Any] = {"type": "identify", "anonymousId": web_device, "traits": dict(traits)}
        if person.user_id:
            ident["userId"] = person.user_id
        at += timedelta(minutes=5)
        add("demo-webshop", ident, at)
        if rng.random() < 0.6:
            person.email_optin = True
            person.confirms_email = side.random() < CONFIRMS_EMAIL
            consent_at = at + timedelta(minutes=1)
            add(
                "demo-webshop",
                {
                    "type": "track",
                    "anonymousId": web_device,
                    "event": "Consent Updated",
                    "properties": {"purpose": "email_marketing", "status": "granted"},
                },
                consent_at,
            )
        if rng.random() < 0.35:
            at += timedelta(hours=rng.uniform(1, 48))
            lines = _items(rng, rng.randrange(1, 4))
            total = sum(c for *_, c in lines)
            add(
                "demo-webshop",
                {
                    "type": "track",
                    "anonymousId": web_device,
                    "userId": person.user_id,
                    "event": "Order Completed",
                    "properties": {
                        "order_id": f"W-{seed}-{i}",
                        "revenue": total / 100,
                        "currency": "EUR",
                        "products": [{"sku": s, "quantity": 1, "price": c / 100} for s, _, _, c in lines],
                    },
                },
                at,
            )
            if side.random() < WEB_SMS_OPTIN:  # ticked "text me about my order and offers" at checkout
                add("demo-webshop", _sms_grant(web_device, person.phone, {}), at + timedelta(minutes=1))

        # Scenario 2: the app, logged in on another device.
        if person.user_id and len(person.devices) > 1 and rng.random() < 0.8:
            app_device = person.devices[1]
            at += timedelta(days=rng.uniform(0, 5))
            add("demo-app", {"type": "identify", "anonymousId": app_device, "userId": person.user_id}, at)
            for sku, product_id, category, _ in _items(rng, rng.randrange(1, 5)):
                at += timedelta(minutes=rng.uniform(1, 20))
                add(
                    "demo-app",
                    {
                        "type": "track",
                        "anonymousId": app_device,
                        "userId": person.user_id,
                        "event": "Product Viewed",
                        "properties": {"sku": sku, "product_id": product_id, "category": category},
                    },
                    at,
                )
            if rng.random() < 0.3:
                at += timedelta(hours=2)
                lines = _items(rng, 1)
                add(
                    "demo-app",
                    {
                        "type": "track",
                        "userId": person.user_id,
                        "event": "Order Completed",
                        "properties": {
                            "order_id": f"A-{seed}-{i}",
                            "revenue": lines[0][3] / 100,
                            "products": [{"sku": lines[0][0], "quantity": 1, "price": lines[0][3] / 100}],
                        },
                    },
                    at,
                )

        # Scenario 3/4: the store till knows the loyalty card, sometimes with a mistyped email.
        if person.loyalty_card and rng.random() < 0.85:
            at += timedelta(days=rng.uniform(0, 7))
            till_email = _typo(rng, email) if rng.random() < 0.05 else email
            till_traits = {"loyaltyCard": person.loyalty_card, "email": till_email, "lastName": last}
            card_user = f"card-{person.loyalty_card}"
            add(
                "demo-kasse",
                {
                    "type": "identify",
                    "userId": person.user_id or card_user,
                    "traits": till_traits,
                    "context": {"location": {"store": person.store_id}},
                },
                at,
            )
            lines = _items(rng, rng.randrange(1, 5))
            total = sum(c for *_, c in lines)
            add(
                "demo-kasse",
                {
                    "type": "track",
                    "userId": person.user_id or card_user,
                    "event": "Order Completed",
                    "properties": {
                        "order_id": f"S-{seed}-{i}",
                        "revenue": total / 100,
                        "currency": "EUR",
                        "store": person.store_id,
                        "products": [{"sku": s, "quantity": 1, "price": c / 100} for s, _, _, c in lines],
                    },
                },
                at,
            )
            if rng.random() < 0.4:
                staff = {"staffUser": f"kasse-{rng.randrange(1, 9)}"}
                grant = _sms_grant(None, person.phone, staff) | {"userId": person.user_id or card_user}
                add("demo-kasse", grant, at + timedelta(minutes=2))
            if not person.email_optin and side.random() < TILL_EMAIL_OPTIN:
                # signed up for the newsletter at the till: the link goes to the address typed there
                person.email_optin = True
                person.confirms_email = till_email == email and side.random() < CONFIRMS_EMAIL
                signup = {
                    "type": "track",
                    "userId": person.user_id or card_user,
                    "event": "Consent Updated",
                    "properties": {"purpose": "email_marketing", "status": "granted"},
                }
                add("demo-kasse", signup, at + timedelta(minutes=3))

        # Scenario 5: a call to the hotline; the software knows the phone number (and the email if told).
        if rng.random() < 0.18:
            at += timedelta(days=rng.uniform(0, 10))
            hotline_traits: dict[str, Any] = {"phone": person.phone}
            if rng.random() < 0.6:
                hotline_traits["email"] = email
                hotline_traits["firstName"] = first
            caller = f"caller-{seed}-{i}"
            add("demo-hotline", {"type": "identify", "anonymousId": caller, "traits": hotline_traits}, at)
            topic = rng.choice(("Lieferstatus", "Reklamation", "Beratung Garten", "Rückgabe", "Rechnung"))
            add(
                "demo-hotline",
                {
                    "type": "track",
                    "anonymousId": caller,
                    "event": "Call Completed",
                    "properties": {"topic": topic, "duration_seconds": rng.randrange(60, 900)},
                },
                at + timedelta(minutes=rng.uniform(2, 15)),
            )
            if rng.random() < 0.2:
                add(
                    "demo-hotline",
                    {
                        "type": "track",
                        "anonymousId": caller,
                        "event": "Consent Updated",
                        "properties": {"purpose": "phone_marketing", "status": "denied"},
                    },
                    at + timedelta(minutes=16),
                )

        # The newsletter tool reports what became of its mails to confirmed subscribers: delivered,
        # some opened, a click always after an open of the same mail.
        if rng.random() < 0.3:
            for _ in range(rng.randrange(1, 4)):
                at += timedelta(days=rng.uniform(0, 6))
                clicked = rng.choice(("Email Opened", "Email Link Clicked")) == "Email Link Clicked"
                name = rng.choice(("Frühjahr", "Garten", "Werkzeugwoche"))
                if not person.confirms_email:
                    continue
                opened = clicked or side.random() < OPENS_UNCLICKED
                steps = [
                    "Email Delivered",
                    *(["Email Opened"] if opened else []),
                    *(["Email Link Clicked"] if clicked else []),
                ]
                for k, event in enumerate(steps):
                    add(
                        "demo-newsletter",
                        _newsletter(person, email, event, name),
                        at + timedelta(minutes=30 * k),
                    )
    return out
