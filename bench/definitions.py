"""The definitions the benchmark makes active before it loads the hub, so that ingest is measured
with every event-log processor doing the work a retailer's hub does.

``demo``: the demo retailer's computed trait and segments, created by the demo builder itself
(``DemoBuilder.segments``, over the HTTP API), and two active journeys declared here: an abandoned
cart (triggered by ``Added to Cart``, which the generated traffic sends, left on ``Order Completed``)
and a follow-up for customers entering scenario 8's segment. Both wait before they send an email, so
entries, runs and timers are written while the benchmark runs, emails only hours later.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx

from omnikanal.demo.builder import SEGMENTS, DemoBuilder

KINDS = ("demo", "none")
SCENARIO_8 = SEGMENTS[0][0]  # "Werkzeug-Interessierte ohne Kauf"

JOURNEYS: tuple[dict[str, Any], ...] = (
    {
        "name": "Warenkorb-Erinnerung",
        "description": "Added to Cart without an order: an email an hour later",
        "trigger": {"event": {"name": "Added to Cart"}},
        "exit": [{"event": {"name": "Order Completed"}}],
        "goal": {"event": {"name": "Order Completed"}, "within": "P7D"},
        "steps": [
            {"id": "wait", "wait": {"duration": "PT1H"}},
            {
                "id": "remind",
                "send": {
                    "channel": "email",
                    "purpose": "email_marketing",
                    "content": {
                        "subject": "Ihr Warenkorb wartet / Your cart is waiting",
                        "text": "Sie haben noch Artikel im Warenkorb. / You still have items in your cart.",
                    },
                },
            },
        ],
    },
    {
        "name": "Werkzeug-Beratung",
        "description": "Entered scenario 8's segment: an email with advice the next day",
        "trigger": {"segment_entered": SCENARIO_8},
        "exit": [{"segment_exited": SCENARIO_8}],
        "steps": [
            {"id": "wait", "wait": {"duration": "P1D"}},
            {
                "id": "advice",
                "send": {
                    "channel": "email",
                    "purpose": "email_marketing",
                    "content": {
                        "subject": "Beratung zu Werkzeug / Advice on tools",
                        "text": "Unsere Fachleute helfen gern. / Our experts are glad to help.",
                    },
                },
            },
        ],
    },
)


class DefinitionError(RuntimeError):
    pass


def _check(response: httpx.Response, what: str) -> dict[str, Any]:
    if response.status_code >= 300:
        raise DefinitionError(f"{what}: {response.status_code} {response.text[:300]}")
    body: dict[str, Any] = response.json()
    return body


def effects(base_url: str, token: str) -> dict[str, dict[str, Any]]:
    """What the definitions did by now: members per segment, and per journey the customers who
    entered, are inside, and left (by reason): proof that the processors worked, not only skipped."""
    auth = {"Authorization": f"Bearer {token}"}
    out: dict[str, dict[str, Any]] = {"segments": {}, "journeys": {}}
    with httpx.Client(base_url=base_url, timeout=60.0, headers=auth) as client:
        for segment in _check(client.get("/api/segments"), "GET /api/segments")["segments"]:
            out["segments"][segment["name"]] = segment.get("member_count")
        for journey in _check(client.get("/api/journeys"), "GET /api/journeys")["journeys"]:
            stats = _check(client.get(f"/api/journeys/{journey['id']}/stats"), "GET journey stats")
            versions = stats["versions"]
            out["journeys"][journey["name"]] = {
                "entered": sum(v["entered"] for v in versions),
                "active": sum(v["active"] for v in versions),
                "exited": sum(sum(v["exited"].values()) for v in versions),
            }
    return out


def create(base_url: str, token: str, kind: str, seed: int) -> list[str]:
    """Make the definitions of ``kind`` active on the running server; what was made, one line each."""
    if kind == "none":
        return []
    made: list[str] = []
    auth = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base_url, timeout=60.0) as client:
        # The demo's own code creates its computed trait and segments, so the two stay the same.
        DemoBuilder(client, token, seed, 0, datetime.now(UTC)).segments(lambda _what, _total: lambda _n: None)
        traits = _check(client.get("/api/computed-traits", headers=auth), "GET /api/computed-traits")
        for trait in traits["computed_traits"]:
            rule = trait["definition"]
            made.append(f"computed trait {trait['name']} ({rule.get('function')} of {rule.get('event')})")
        for name, _description, _condition in SEGMENTS:
            made.append(f"segment {name}")
        for document in JOURNEYS:
            created = _check(client.post("/api/journeys", json=document, headers=auth), "POST /api/journeys")
            journey = _check(
                client.post(f"/api/journeys/{created['id']}/activate", headers=auth),
                f"activating journey {document['name']}",
            )
            trigger = document["trigger"]
            on = trigger["event"]["name"] if "event" in trigger else f"entering {trigger['segment_entered']}"
            made.append(f"journey {document['name']} ({journey.get('status', '?')}; on {on})")
    return made
