"""Schemathesis over the hub's whole OpenAPI document, on both engines, against the live server.

Every operation gets generated requests, valid ones (positive) and ones that break the schema
(negative), with an administrator's token or a store-bound one, and with the ids of seeded data
(a customer, stores, a product, an order, a reservation, a template, a message, a segment, a
journey, a data-subject request, a source) as often as with made-up ones, so the requests reach past
the 404s. Every answer must be documented (status and content type), match its schema (errors:
``ErrorOut``), and none may be a server error.

Bounded: ``EXAMPLES`` per operation and mode (115 operations). Operations that remove what the
others use (deletions, disabling a source, rotating its key, carrying out a request) run last.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import APIOperation, GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from omnikanal.hub import Hub
from tests.commerce_helpers import LOCATIONS, customer, drill, post, put, receive, setup_shop
from tests.helpers import bearer

# examples per operation and generation mode: 12 and 6, about 1.5 minutes per engine on two cores;
# OMNIKANAL_SCHEMATHESIS_EXAMPLES=<n> runs n and n/2 for a deeper look
_N = int(os.environ.get("OMNIKANAL_SCHEMATHESIS_EXAMPLES", "12"))
EXAMPLES = {GenerationMode.POSITIVE: _N, GenerationMode.NEGATIVE: max(1, _N // 2)}
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
STORE = LOCATIONS[0]["id"]
# run after the others: they remove or change what the seeded ids point at
LAST = ("DELETE ", "/disable", "/rotate-key", "/run", "/unmerge", "/complete")


def _seed(http: httpx.Client, hub: Hub, token: str) -> dict[str, str]:
    """Data for the generated requests to find: the ids by path parameter name."""
    source, write_key = hub.sources.create("schema-shop", "web")
    profile_id = customer(http, token, write_key, "st-anna", "anna@example.org")
    product = drill()
    setup_shop(http, token, [product])
    sku = product["variants"][0]["sku"]
    receive(http, token, STORE, sku, 10)
    order = post(
        http,
        token,
        "/api/commerce/orders",
        {
            "channel": "store",
            "profile_id": profile_id,
            "origin_location_id": STORE,
            "fulfilment": "buy_in_store",
            "fulfilment_location_id": STORE,
            "lines": [{"sku": sku, "quantity": 1}],
        },
    )
    held = {"profile_id": profile_id, "location_id": STORE, "sku": sku}
    reservation = post(http, token, "/api/commerce/reservations", held)
    template = post(
        http,
        token,
        "/api/messaging/templates",
        {"name": "hallo", "channel": "sms", "locale": "de", "body_text": "Hallo {{ profile.first_name }}"},
    )
    message = post(
        http,
        token,
        "/api/messages",
        {"profile_id": profile_id, "channel": "sms", "transactional": True, "content": {"text": "Hi"}},
    )
    segment = post(http, token, "/api/segments", {"name": "viewers", "condition": {"event": {"name": "X"}}})
    journey = http.post(
        "/api/journeys",
        content=b"name: wait\ntrigger: {api: {}}\nsteps:\n  - id: w\n    wait: {duration: PT1H}\n",
        headers={**bearer(token), "Content-Type": "application/yaml"},
    )
    assert journey.status_code == 201, journey.text
    request = post(http, token, "/api/privacy/requests", {"type": "export", "profile_id": profile_id})
    put(http, token, "/api/commerce/categories/tools", {"id": "tools", "names": {"de": "Werkzeug"}})
    return {
        "profile_id": profile_id,
        "product_id": product["id"],
        "location_id": STORE,
        "gtin": product["variants"][0]["gtin"],
        "category_id": "tools",
        "order_id": order["id"],
        "reservation_id": reservation["id"],
        "template_id": template["id"],
        "message_id": message["id"],
        "segment_id": segment["id"],
        "journey_id": journey.json()["id"],
        "request_id": request["id"],
        "ref": source.name,
        "write_key": write_key,
    }


def _order(label: str) -> tuple[bool, str]:
    return (any(part in label for part in LAST), label)


@dataclass
class Tally:
    """What the generated requests got: statuses and the failures of the checks."""

    statuses: Counter[int] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    refusals: Counter[str] = field(default_factory=Counter)  # error codes of valid requests' 400s


def _explore(
    operation: APIOperation,
    mode: GenerationMode,
    known: dict[str, str],
    url: str,
    tokens: list[str],
    tally: Tally,
) -> None:
    seeded = {p.name: known[p.name] for p in operation.path_parameters if p.name in known}
    cases = [operation.as_strategy(generation_mode=mode)]
    if seeded:
        cases.append(operation.as_strategy(generation_mode=mode, path_parameters=seeded))

    @settings(
        max_examples=EXAMPLES[mode],
        deadline=None,
        database=None,
        derandomize=True,  # the same cases each run: a failure here is one anyone can repeat
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=st.one_of(cases), who=st.sampled_from(tokens))
    def run(case: schemathesis.Case, who: str) -> None:
        response = case.call(base_url=url, headers=bearer(who), timeout=30)
        tally.statuses[response.status_code] += 1
        if mode is GenerationMode.POSITIVE and response.status_code == 400:
            tally.refusals[f"{operation.label}: {response.text[:60]}"] += 1
        try:
            case.validate_response(response, checks=CHECKS)
        except BaseException as exc:  # Schemathesis' failure groups: collected, reported at the end
            tally.failures.append(f"{operation.label} [{mode.value}]: {str(exc)[:1200]}")

    # an operation without parameters or body has no negative cases to make
    with contextlib.suppress(Unsatisfiable):
        run()


def test_generated_requests_get_documented_answers_and_no_server_error(
    hub: Hub, http: httpx.Client, live_server: Any
) -> None:
    admin = hub.tokens.create("schema-admin", "admin")[1]
    store = hub.tokens.create("schema-till", "store", STORE)[1]
    known = _seed(http, hub, admin)
    document = http.get("/openapi.json").json()
    tally = Tally()
    started = time.monotonic()
    by_mode = {}
    for mode in EXAMPLES:
        schema = schemathesis.openapi.from_dict(document)
        # valid requests without NUL characters, which every text field refuses (400): so they
        # get past the checks to the work; the invalid ones keep them
        schema.config.generation.update(allow_x00=mode is GenerationMode.NEGATIVE)
        by_mode[mode] = sorted((r.ok() for r in schema.get_all_operations()), key=lambda op: _order(op.label))
    assert len(by_mode[GenerationMode.POSITIVE]) > 100
    for same in zip(*by_mode.values(), strict=True):
        for mode, operation in zip(by_mode, same, strict=True):
            _explore(operation, mode, known, live_server.url, [admin, store], tally)
    took = time.monotonic() - started
    statuses, failures = tally.statuses, tally.failures
    print(f"schemathesis: {sum(statuses.values())} requests in {took:.0f} s, statuses {dict(statuses)}")
    print(f"valid requests refused with 400: {dict(tally.refusals.most_common(25))}")
    assert not failures, f"{len(failures)} failures:\n" + "\n\n".join(failures[:20])
    # the seeded ids take the requests past the 404s: most answers are not 'not found'
    assert statuses[404] < sum(statuses.values()) / 3, statuses
    assert sum(n for status, n in statuses.items() if status < 300) > sum(statuses.values()) / 10, statuses
