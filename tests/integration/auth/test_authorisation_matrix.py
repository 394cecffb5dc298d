"""Every /api operation of the app, with a token of every role, against one table of who may call it.

The operations are read from the app's own routes, so a new route without a line in ``ALLOWED``
fails this test. A role outside an operation's set must get 403; a role inside must not (it may
get 404 for the made-up ids used here, or 201, or 409: it got past the permission check). Every
request is well-formed, so a validation error never hides the permission check. A store token is
bound to the store named in the requests; a store token without a store (made before one was
required) is refused everywhere with 401. docs/roles.md shows the same decisions grouped.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
from fastapi import FastAPI
from fastapi import routing as fastapi_routing

from omnikanal.auth import store as token_store
from omnikanal.auth.model import ROLES, ApiToken
from omnikanal.db.engine import write_tx
from omnikanal.hub import Hub
from omnikanal.ids import hash_secret, new_id, new_secret
from tests.helpers import bearer

ALL = frozenset(ROLES)
ADMIN = frozenset({"admin"})
STORE = "store-mitte"


def roles(*names: str) -> frozenset[str]:
    unknown = set(names) - ALL
    assert not unknown, unknown
    return frozenset(names)


# Who may call each operation (past the permission check). Keep in step with docs/roles.md.
ALLOWED: dict[str, frozenset[str]] = {
    # profiles and identity
    "GET /api/profiles/lookup": ALL,
    "GET /api/profiles/{profile_id}": ALL,
    "GET /api/profiles/{profile_id}/events": ALL,
    "GET /api/profiles/{profile_id}/recommendations": ALL,
    "GET /api/profiles/{profile_id}/channels": ALL,
    "GET /api/profiles/{profile_id}/merges": ALL,
    "POST /api/profiles/{profile_id}/unmerge": roles("admin", "service", "privacy"),
    "GET /api/matching/reviews": ALL,
    "GET /api/matching/reviews/{pair_id}": ALL,
    "POST /api/matching/reviews/{pair_id}/accept": roles("admin", "service", "privacy"),
    "POST /api/matching/reviews/{pair_id}/reject": roles("admin", "service", "privacy"),
    # sources and the quarantine
    "GET /api/sources": roles("admin", "marketing"),
    "POST /api/sources": ADMIN,
    "GET /api/sources/{ref}": roles("admin", "marketing"),
    "POST /api/sources/{ref}/disable": ADMIN,
    "POST /api/sources/{ref}/enable": ADMIN,
    "POST /api/sources/{ref}/rotate-key": ADMIN,
    "PATCH /api/sources/{ref}": ADMIN,
    "GET /api/operations/log": ADMIN,
    "GET /api/quarantine": ADMIN,
    # messaging
    "POST /api/messaging/templates": roles("admin", "marketing"),
    "GET /api/messaging/templates": roles("admin", "marketing", "service"),
    "GET /api/messaging/templates/{template_id}": roles("admin", "marketing", "service"),
    "POST /api/messaging/templates/{template_id}/preview": roles("admin", "marketing", "service"),
    "POST /api/messages": roles("admin", "marketing"),  # a marketing message here
    "GET /api/messages": roles("admin", "marketing", "service"),
    "GET /api/messages/{message_id}": roles("admin", "marketing", "service"),
    "POST /api/messages/{message_id}/retry": roles("admin", "marketing", "service"),
    "GET /api/profiles/{profile_id}/messages": roles("admin", "marketing", "service"),
    "GET /api/messaging/stats": roles("admin", "marketing", "service"),
    "GET /api/tasks": roles("admin", "service", "store"),  # the store's own queue here
    "POST /api/tasks/{task_id}/claim": roles("admin", "service", "store"),
    "POST /api/tasks/{task_id}/complete": roles("admin", "service", "store"),
    # consent
    "GET /api/profiles/{profile_id}/consents": ALL,
    "POST /api/profiles/{profile_id}/consents": roles("admin", "service", "store", "privacy"),
    "GET /api/profiles/{profile_id}/contact": ALL,
    "GET /api/consents/purposes": ALL,
    "GET /api/consents/confirmations": ADMIN,
    "POST /api/consents/confirmations/{confirmation_id}/sent": ADMIN,
    # data-subject requests and the access log
    "POST /api/privacy/requests": roles("admin", "service", "privacy"),  # an export here
    "GET /api/privacy/requests": roles("admin", "privacy"),
    "GET /api/privacy/requests/{request_id}": roles("admin", "privacy"),
    "POST /api/privacy/requests/{request_id}/run": roles("admin", "privacy"),
    "GET /api/privacy/requests/{request_id}/export.json": roles("admin", "privacy"),
    "GET /api/privacy/requests/{request_id}/export.html": roles("admin", "privacy"),
    "GET /api/profiles/{profile_id}/access-log": roles("admin", "privacy"),
    # commerce: catalogue and locations
    "PUT /api/commerce/categories/{category_id}": ADMIN,
    "GET /api/commerce/categories": roles("admin", "marketing", "service", "store"),
    "PUT /api/commerce/products/{product_id}": ADMIN,
    "GET /api/commerce/products": roles("admin", "marketing", "service", "store"),
    "GET /api/commerce/products/{product_id}": roles("admin", "marketing", "service", "store"),
    "DELETE /api/commerce/products/{product_id}": ADMIN,
    "GET /api/commerce/gtin/{gtin}": roles("admin", "marketing", "service", "store"),
    "POST /api/commerce/catalogue/import": ADMIN,
    "PUT /api/commerce/locations/{location_id}": ADMIN,
    "GET /api/commerce/locations": roles("admin", "marketing", "service", "store"),
    "GET /api/commerce/locations/{location_id}": roles("admin", "marketing", "service", "store"),
    # commerce: stock, reservations, orders, carts, notifications, exports, scan
    "GET /api/commerce/stock": roles("admin", "service", "store"),
    "POST /api/commerce/stock/movements": roles("admin", "store"),
    "GET /api/commerce/stock/movements": roles("admin", "service", "store"),
    "POST /api/commerce/reservations": roles("admin", "store"),
    "GET /api/commerce/reservations": roles("admin", "service", "store"),
    "GET /api/commerce/reservations/{reservation_id}": roles("admin", "service", "store"),
    "POST /api/commerce/reservations/{reservation_id}/cancel": roles("admin", "store"),
    "POST /api/commerce/orders": roles("admin", "store"),
    "GET /api/commerce/orders": roles("admin", "service", "store"),
    "GET /api/commerce/orders/{order_id}": roles("admin", "service", "store"),
    "POST /api/commerce/orders/{order_id}/status": roles("admin", "store"),
    "POST /api/commerce/orders/{order_id}/returns": roles("admin", "store"),
    "GET /api/commerce/carts/{profile_id}": roles("admin", "service", "store"),
    "PUT /api/commerce/carts/{profile_id}/items": roles("admin", "store"),
    "GET /api/commerce/notifications": roles("admin", "service", "store"),
    "GET /api/commerce/export/orders.jsonl": roles("admin", "service", "store"),
    "GET /api/commerce/export/stock.csv": roles("admin", "service", "store"),
    "GET /api/scan": roles("admin", "store"),
    # analytics: aggregates for management, and the media costs behind them
    "GET /api/analytics/attribution": roles("admin", "marketing"),
    "GET /api/analytics/returns": roles("admin", "marketing"),
    "GET /api/analytics/customers": roles("admin", "marketing"),
    "GET /api/analytics/paths": roles("admin", "marketing"),
    "GET /api/analytics/costs": roles("admin", "marketing"),
    "GET /api/analytics/own-costs": roles("admin", "marketing"),
    "GET /api/analytics/lifetime-value": roles("admin", "marketing"),
    "GET /api/analytics/omnichannel": roles("admin", "marketing"),
    "GET /api/analytics/funnel": roles("admin", "marketing"),
    "POST /api/analytics/costs": roles("admin", "marketing"),
    "POST /api/analytics/refresh": roles("admin", "marketing"),
    # segments and computed traits
    "GET /api/segments": roles("admin", "marketing", "service"),
    "POST /api/segments": roles("admin", "marketing"),
    "POST /api/segments/preview": roles("admin", "marketing", "service"),
    "GET /api/segments/{segment_id}": roles("admin", "marketing", "service"),
    "PATCH /api/segments/{segment_id}": roles("admin", "marketing"),
    "DELETE /api/segments/{segment_id}": roles("admin", "marketing"),
    "GET /api/segments/{segment_id}/members": roles("admin", "marketing", "service"),
    "GET /api/segments/{segment_id}/members.csv": roles("admin", "marketing", "service"),
    "GET /api/computed-traits": roles("admin", "marketing", "service"),
    "PUT /api/computed-traits": roles("admin", "marketing"),
    "DELETE /api/computed-traits/{name}": roles("admin", "marketing"),
    "GET /api/profiles/{profile_id}/segments": roles("admin", "marketing", "service"),
    "GET /api/profiles/{profile_id}/computed": ALL,  # part of the profile every role reads
    # journeys
    "GET /api/journeys/schema": roles("admin", "marketing", "service"),
    "GET /api/journeys": roles("admin", "marketing", "service"),
    "POST /api/journeys/validate": roles("admin", "marketing", "service"),
    "POST /api/journeys": roles("admin", "marketing"),
    "GET /api/journeys/{journey_id}": roles("admin", "marketing", "service"),
    "PUT /api/journeys/{journey_id}": roles("admin", "marketing"),
    "POST /api/journeys/{journey_id}/activate": roles("admin", "marketing"),
    "POST /api/journeys/{journey_id}/pause": roles("admin", "marketing"),
    "POST /api/journeys/{journey_id}/entries": roles("admin", "marketing"),
    "GET /api/journeys/{journey_id}/runs": roles("admin", "marketing", "service"),
    "GET /api/journeys/{journey_id}/runs/{run_id}/steps": roles("admin", "marketing", "service"),
    "GET /api/journeys/{journey_id}/stats": roles("admin", "marketing", "service"),
    # service cases (a store's staff only their store's queue)
    "POST /api/service/cases": roles("admin", "service", "store"),
    "GET /api/service/cases": roles("admin", "service", "store"),
    "GET /api/service/cases/{case_id}": roles("admin", "service", "store"),
    "POST /api/service/cases/{case_id}/replies": roles("admin", "service", "store"),
    "POST /api/service/cases/{case_id}/notes": roles("admin", "service", "store"),
    "POST /api/service/cases/{case_id}/assign": roles("admin", "service", "store"),
    "POST /api/service/cases/{case_id}/status": roles("admin", "service", "store"),
    "GET /api/service/figures": roles("admin", "service"),
    "GET /api/service/mailboxes": ADMIN,
    "POST /api/service/cases/{case_id}/merge": roles("admin", "service", "store"),
    "POST /api/service/cases/{case_id}/unmerge": roles("admin", "service", "store"),
    "GET /api/service/macros": roles("admin", "service", "store"),
    "GET /api/service/attachments/{attachment_id}": roles("admin", "service", "store"),
    "POST /api/service/macros": roles("admin", "service", "store"),
    "GET /api/service/macros/{macro_id}": roles("admin", "service", "store"),
    "DELETE /api/service/macros/{macro_id}": roles("admin", "service", "store"),
    "GET /api/service/cases/{case_id}/macros": roles("admin", "service", "store"),
    "POST /api/service/cases/{case_id}/macros/{macro_id}": roles("admin", "service", "store"),
}

JOURNEY = b"name: matrix\ntrigger: {api: {}}\nsteps:\n  - id: w\n    wait: {duration: PT1H}\n"
YAML = {"Content-Type": "application/yaml"}


@dataclass(frozen=True)
class Call:
    """How to call an operation well-formed: query, JSON body or raw content."""

    params: dict[str, str] = field(default_factory=dict)
    json: Any = None
    content: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)


LINES = [{"sku": "NONE-1", "quantity": 1}]
CALLS: dict[str, Call] = {
    "GET /api/profiles/lookup": Call(params={"type": "user_id", "value": "nobody"}),
    "POST /api/profiles/{profile_id}/unmerge": Call(json={"merge_id": "mrg_none"}),
    "POST /api/sources": Call(json={"name": "matrix-source", "channel": "web"}),
    "PATCH /api/sources/{ref}": Call(json={"allowed_origins": ["https://shop.example"]}),
    "POST /api/messaging/templates": Call(
        json={"name": "matrix", "channel": "sms", "locale": "de", "body_text": "Hallo"}
    ),
    "POST /api/messaging/templates/{template_id}/preview": Call(json={"profile_id": "prof_none"}),
    "POST /api/messages": Call(json={"profile_id": "prof_none", "channel": "sms", "content": {"text": "Hi"}}),
    "GET /api/tasks": Call(params={"queue": f"store:{STORE}"}),
    "POST /api/tasks/{task_id}/complete": Call(json={}),
    "POST /api/profiles/{profile_id}/consents": Call(
        json={"changes": [{"purpose": "sms_marketing", "status": "granted"}]}
    ),
    "POST /api/privacy/requests": Call(json={"type": "export", "profile_id": "prof_none"}),
    "PUT /api/commerce/categories/{category_id}": Call(json={"id": "none", "names": {"de": "Keine"}}),
    "PUT /api/commerce/products/{product_id}": Call(
        json={"id": "none", "names": {"de": "Keins"}, "variants": [{"sku": "NONE-1"}]}
    ),
    "POST /api/commerce/catalogue/import": Call(
        params={"format": "csv"}, content=b"product_id,sku\n", headers={"Content-Type": "text/csv"}
    ),
    "PUT /api/commerce/locations/{location_id}": Call(json={"id": "none", "kind": "store", "name": "Keine"}),
    "POST /api/commerce/stock/movements": Call(
        json={"location_id": STORE, "sku": "NONE-1", "kind": "receipt", "quantity": 1}
    ),
    "POST /api/commerce/reservations": Call(
        json={"profile_id": "prof_none", "location_id": STORE, "sku": "NONE-1"}
    ),
    "POST /api/commerce/orders": Call(
        json={
            "channel": "store",
            "origin_location_id": STORE,
            "fulfilment": "buy_in_store",
            "fulfilment_location_id": STORE,
            "lines": LINES,
        }
    ),
    "POST /api/commerce/orders/{order_id}/status": Call(json={"status": "confirmed"}),
    "POST /api/service/cases": Call(
        json={"profile_id": "prof_none", "subject": "Matrix", "queue": f"store:{STORE}", "channel": "store"}
    ),
    "POST /api/service/cases/{case_id}/replies": Call(json={"text": "Hallo"}),
    "POST /api/service/cases/{case_id}/notes": Call(json={"text": "Notiz"}),
    "POST /api/service/cases/{case_id}/assign": Call(json={"assignee": "anna"}),
    "POST /api/service/cases/{case_id}/status": Call(json={"status": "resolved"}),
    "POST /api/service/macros": Call(
        json={"name": "Matrix", "queue": f"store:{STORE}", "texts": {"de": "Hallo {{ customer.first_name }}"}}
    ),
    "POST /api/service/cases/{case_id}/macros/{macro_id}": Call(json={}),
    "POST /api/service/cases/{case_id}/merge": Call(json={"into": "case_none"}),
    "POST /api/commerce/orders/{order_id}/returns": Call(
        json={"channel": "store", "location_id": STORE, "condition": "resellable", "lines": LINES}
    ),
    "PUT /api/commerce/carts/{profile_id}/items": Call(json={"sku": "NONE-1", "quantity": 1}),
    "GET /api/scan": Call(params={"gtin": "4006380000018", "store": STORE}),
    "POST /api/segments": Call(json={"name": "matrix", "condition": {"event": {"name": "X"}}}),
    "POST /api/segments/preview": Call(json={"condition": {"event": {"name": "X"}}}),
    "PATCH /api/segments/{segment_id}": Call(json={"description": "x"}),
    "PUT /api/computed-traits": Call(json={"name": "matrix_count", "function": "count", "event": "X"}),
    "POST /api/journeys/validate": Call(content=JOURNEY, headers=YAML),
    "POST /api/journeys": Call(content=JOURNEY, headers=YAML),
    "PUT /api/journeys/{journey_id}": Call(content=JOURNEY, headers=YAML),
    "POST /api/journeys/{journey_id}/entries": Call(json={"profile_id": "prof_none"}),
}
PATH_VALUES = {"gtin": "4006380000018", "location_id": STORE}


def api_operations(app: FastAPI) -> Iterator[tuple[str, str]]:
    """(method, path) of every /api route of the app, included routers and all."""
    iterate = getattr(fastapi_routing, "iter_route_contexts", None)
    routes = list(iterate(app.routes)) if iterate is not None else app.routes
    for route in routes:
        path = getattr(route, "path", None) or ""
        if path.startswith("/api/"):
            for method in sorted((getattr(route, "methods", None) or set()) - {"HEAD", "OPTIONS"}):
                yield method, path


def _url(path: str) -> str:
    for name, value in PATH_VALUES.items():
        path = path.replace("{" + name + "}", value)
    while "{" in path:
        start, end = path.index("{"), path.index("}")
        path = path[:start] + "none" + path[end + 1 :]
    return path


def _tokens(hub: Hub) -> dict[str, str]:
    made = {
        role: hub.tokens.create(f"matrix-{role}", role, STORE if role == "store" else None)[1]
        for role in ROLES
    }
    # A store token made before a store was required: written as such a deployment holds it.
    secret = new_secret("ok")
    legacy = ApiToken(new_id("tok"), "legacy-till", "store", hub.clock.now(), None, None)
    with write_tx(hub.engine) as conn:
        token_store.insert_token(conn, legacy, hash_secret(secret))
    made["store-unbound"] = secret
    return made


def test_every_api_operation_has_a_line_in_the_table(live_server: Any) -> None:
    app = live_server.server.config.app
    found = {f"{m} {p}" for m, p in api_operations(app)}
    assert len(found) > 80, found
    assert found - ALLOWED.keys() == set(), "operations without a line in ALLOWED"
    assert ALLOWED.keys() - found == set(), "lines in ALLOWED for operations that do not exist"
    assert CALLS.keys() <= found


def test_every_role_gets_403_exactly_where_the_table_says(
    hub: Hub, http: httpx.Client, live_server: Any
) -> None:
    tokens = _tokens(hub)
    wrong: list[str] = []
    for method, path in api_operations(live_server.server.config.app):
        key = f"{method} {path}"
        call = CALLS.get(key, Call())
        for who, secret in tokens.items():
            response = http.request(
                method,
                _url(path),
                params=call.params,
                json=call.json,
                content=call.content,
                headers={**call.headers, **bearer(secret)},
            )
            status = response.status_code
            code = _error_code(response)
            if who == "store-unbound":
                ok = status == 401 and code == "token_needs_store"
                expected = "401 token_needs_store"
            elif who in ALLOWED.get(key, frozenset()):
                ok = status != 403 and code != "invalid_request" and status < 500 and status != 401
                expected = "past the permission check"
            else:
                ok = status == 403
                expected = "403"
            if not ok:
                wrong.append(f"{key} as {who}: {status} {code}, expected {expected}")
    assert not wrong, f"{len(wrong)} answers differ from the table:\n" + "\n".join(wrong)


def _error_code(response: httpx.Response) -> str | None:
    if not response.content or not response.headers.get("content-type", "").startswith("application/json"):
        return None
    body = response.json()
    error = body.get("error") if isinstance(body, dict) else None
    return str(error["code"]) if isinstance(error, dict) else None
