"""The SQL compiler and the Python evaluator agree, on generated profiles and generated conditions.

A seeded generator (reproducible; the seed is in the failure message) builds customers with traits,
identifiers, consents, merges, a restriction and events over several channels and weeks, and a few
hundred random conditions over every kind of leaf and op, including values of the wrong JSON type.
Each condition's members are computed once by compile.py on the database and once per profile by
evaluate.py; the sets must be equal.
"""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from omnikanal.clock import FixedClock
from omnikanal.consent import store as consent_store
from omnikanal.consent.model import ConsentChange, ConsentStatus
from omnikanal.db.engine import read_tx, write_tx
from omnikanal.db.fast import Raw
from omnikanal.hub import build_hub
from omnikanal.profiles.tables import profiles
from omnikanal.segments import store
from omnikanal.segments.compile import compile_condition
from omnikanal.segments.evaluate import evaluate, readable
from omnikanal.segments.model import parse_computed, parse_condition
from omnikanal.settings import Settings
from tests.conftest import utc
from tests.helpers import iso

SEED = 20261123
EVENTS = ("Product Viewed", "Order Completed", "Cart Viewed")
CATEGORIES = ("Werkzeug", "Garten", "Küche", "werkzeug")
COMPUTED = [
    {"name": "ltv", "function": "sum", "event": "Order Completed", "property": "revenue"},
    {"name": "fav", "function": "most_frequent", "event": "Product Viewed", "property": "category"},
    {"name": "pref", "function": "most_frequent", "channel": True, "within_days": 14},
    {"name": "since", "function": "days_since_last", "event": "Order Completed"},
    {"name": "views", "function": "count", "event": "Product Viewed", "within_days": 7},
]
VALUES: dict[str, list[Any]] = {
    "city": ["Berlin", "Bonn", "berlin", "Ärzte", 5, True],
    "age": [30, 41.5, 18, "30", 0, False],
    "vip": [True, False, "true", 1],
    "score": [None, 1, 2.5, "x"],
    "missing": ["a", 1],
    "ltv": [0, 50, 100.5, 250, "100"],
    "fav": ["Werkzeug", "Garten", "Küche", 1],
    "pref": ["web", "app", "pos", "sms"],
    "since": [0, 1, 3, 10, 30, "3"],
    "views": [0, 1, 2, 3],
    "category": [*CATEGORIES, 3],
    "revenue": [0, 10, 49.99, 100, "10"],
}


# written by hand: scenario 8's shape (a required event leaf narrows the other aggregates) and friends
FIXED: list[dict[str, Any]] = [
    {
        "all": [
            {
                "event": {
                    "name": "Product Viewed",
                    "where": [{"key": "category", "op": "eq", "value": "Werkzeug"}],
                    "within_days": 14,
                    "min": 2,
                }
            },
            {"not": {"event": {"name": "Order Completed", "within_days": 14}}},
            {"channels": {"min": 2, "within_days": 14}},
        ]
    },
    {"all": [{"event": {"name": "Cart Viewed", "min": 1, "max": 2}}, {"channels": {"max": 1}}]},
    {
        "all": [
            {"channels": {"min": 2}},
            {"event": {"name": "Product Viewed", "within_days": 7, "min": 1}},
            {"event": {"name": "Product Viewed", "within_days": 7, "max": 1}},
        ]
    },
]


def _compare(rng: random.Random, key: str) -> dict[str, Any]:
    op = rng.choice(["eq", "ne", "gt", "gte", "lt", "lte", "in", "contains", "exists"])
    pool = [v for v in VALUES[key] if v is not None]
    if op == "exists":
        return {"op": op, "value": rng.random() < 0.5}
    if op == "in":
        return {"op": op, "value": rng.sample(pool, rng.randint(1, min(3, len(pool))))}
    if op == "contains":
        return {"op": op, "value": rng.choice(["erk", "B", "Ä", "e", "zz"])}
    value = rng.choice(pool)
    if op in ("gt", "gte", "lt", "lte") and isinstance(value, bool):
        value = 1
    return {"op": op, "value": value}


def _window(rng: random.Random) -> dict[str, Any]:
    roll = rng.random()
    if roll < 0.25:
        return {}
    if roll < 0.4:
        return {"within_hours": rng.choice([6, 30, 100])}
    return {"within_days": rng.choice([1, 3, 7, 14, 30])}


def _bounds(rng: random.Random) -> dict[str, Any]:
    roll = rng.random()
    if roll < 0.3:
        return {}
    if roll < 0.6:
        return {"min": rng.randint(0, 4)}
    if roll < 0.8:
        return {"max": rng.randint(0, 3)}
    low = rng.randint(0, 3)
    return {"min": low, "max": low + rng.randint(0, 3)}


def _leaf(rng: random.Random) -> dict[str, Any]:
    kind = rng.choice(["trait", "trait", "computed", "consent", "identifier", "event", "event", "channels"])
    if kind == "trait":
        key = rng.choice(["city", "age", "vip", "score", "missing"])
        return {"trait": {"key": key, **_compare(rng, key)}}
    if kind == "computed":
        name = rng.choice([c["name"] for c in COMPUTED])
        return {"computed": {"name": name, **_compare(rng, name)}}
    if kind == "consent":
        return {
            "consent": {
                "purpose": rng.choice(["email_marketing", "sms_marketing"]),
                "status": rng.choice(["granted", "withdrawn", "pending", "denied"]),
            }
        }
    if kind == "identifier":
        return {
            "identifier": {"type": rng.choice(["email", "phone", "user_id"]), "exists": rng.random() < 0.7}
        }
    if kind == "channels":
        return {"channels": {**_window(rng), **_bounds(rng)}}
    event: dict[str, Any] = {"name": rng.choice(EVENTS), **_window(rng), **_bounds(rng)}
    if rng.random() < 0.5:
        key = rng.choice(["category", "revenue"])
        event["where"] = [{"key": key, **_compare(rng, key)}]
    return {"event": event}


def _condition(rng: random.Random, depth: int = 0) -> dict[str, Any]:
    roll = rng.random()
    if depth >= 3 or roll < 0.45:
        return _leaf(rng)
    if roll < 0.6:
        return {"not": _condition(rng, depth + 1)}
    kind = "all" if roll < 0.8 else "any"
    return {kind: [_condition(rng, depth + 1) for _ in range(rng.randint(1, 3))]}


def test_sql_and_python_agree_on_generated_data(settings: Settings) -> None:
    rng = random.Random(SEED)
    clock = FixedClock(utc(2026, 11, 20, 12, 30))
    hub = build_hub(settings, clock)
    try:
        sources = [hub.sources.create(f"s-{c}", c)[0] for c in ("web", "app", "pos")]
        now = clock.now()
        for n in range(45):
            user = f"user{n}"
            traits: dict[str, Any] = {}
            for key in ("city", "age", "vip", "score"):
                if rng.random() < 0.7:
                    traits[key] = rng.choice(VALUES[key])
            if rng.random() < 0.5:
                traits["email"] = f"{user}@example.com"
            if rng.random() < 0.3:
                traits["phone"] = f"+4930123{n:04d}"
            items: list[dict[str, Any]] = [{"type": "identify", "userId": user, "traits": traits}]
            for _ in range(rng.randint(0, 14)):
                properties: dict[str, Any] = {}
                if rng.random() < 0.8:
                    properties["category"] = rng.choice(CATEGORIES)
                if rng.random() < 0.6:
                    properties["revenue"] = rng.choice([5, 10, 49.99, 120, "10"])
                moment = now - timedelta(hours=rng.uniform(0, 24 * 40))
                items.append(
                    {
                        "type": "track",
                        "userId": user,
                        "event": rng.choice(EVENTS),
                        "properties": properties,
                        "timestamp": iso(moment),
                    }
                )
            assert hub.ingest.ingest(rng.choice(sources), items).accepted == len(items)
        # merges: an anonymous device with its own consent, then the login joins it to a user
        for n in range(4):
            device = f"device{n}"
            hub.ingest.ingest(sources[1], [{"type": "track", "anonymousId": device, "event": "Cart Viewed"}])
            with read_tx(hub.engine) as conn:
                anonymous = store.live_ids(conn, [_pid(conn, "anonymous_id", device)])
            (anon_id,) = anonymous.values()
            hub.consent.record(
                anon_id,
                [
                    ConsentChange(
                        "sms_marketing", rng.choice([ConsentStatus.GRANTED, ConsentStatus.WITHDRAWN])
                    )
                ],
                source="api",
            )
            hub.ingest.ingest(
                sources[1],
                [{"type": "track", "anonymousId": device, "userId": f"user{n}", "event": "Cart Viewed"}],
            )
        with write_tx(hub.engine) as conn:
            live = list(conn.execute(select(profiles.c.id).where(profiles.c.state == "live")).scalars())
            consent_store.set_restricted(conn, sorted(live)[3], None, now, True)
        for pid in sorted(live)[::3]:
            change = ConsentChange(
                rng.choice(["email_marketing", "sms_marketing"]),
                rng.choice([ConsentStatus.GRANTED, ConsentStatus.WITHDRAWN, ConsentStatus.DENIED]),
                occurred_at=now - timedelta(days=rng.randint(0, 3)),
            )
            hub.consent.record(pid, [change], source="api")
        for definition in COMPUTED:
            hub.segments.define_computed(definition)
        assert hub.segment_recheck.run_until_done() >= len(live)

        definitions = [parse_computed(d) for d in COMPUTED]
        functions = {d.name: d.function for d in definitions}
        with read_tx(hub.engine) as conn:
            facts = {}
            for pid in live:
                found, _ = hub.segments.facts(conn, pid, None)
                stored = store.stored_computed(conn, pid)
                found.computed = {d.name: readable(d, stored.get(d.name), now) for d in definitions}
                facts[pid] = found
            raw = Raw(conn)
            checked = 0
            non_trivial = 0
            for index in range(300):
                document = FIXED[index] if index < len(FIXED) else _condition(rng)
                condition = parse_condition(document)
                compiled = compile_condition(
                    condition,
                    dialect=conn.dialect.name,
                    now=now,
                    time=raw.time,
                    system_source=store.SYSTEM_SOURCE_ID,
                    computed_functions=functions,
                )
                in_sql = {r[0] for r in raw.fetch(compiled.sql, compiled.params)}
                in_python = {pid for pid, f in facts.items() if evaluate(condition, f, now)[0]}
                assert in_sql == in_python, (
                    f"seed {SEED}, condition {index}: {document}\n"
                    f"only SQL: {sorted(in_sql - in_python)}\nonly Python: {sorted(in_python - in_sql)}"
                )
                checked += 1
                non_trivial += 0 < len(in_sql) < len(live) - 1
        assert checked == 300
        assert non_trivial > 100  # the generated conditions split the customers, not just all or none
    finally:
        hub.close()


def _pid(conn: Any, identifier_type: str, value: str) -> str:
    from omnikanal.profiles.identity.tables import identities

    return str(
        conn.execute(
            select(identities.c.profile_id).where(
                identities.c.type == identifier_type, identities.c.value == value
            )
        ).scalar_one()
    )
