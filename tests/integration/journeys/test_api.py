"""The journeys API: bad documents answered with the place, warnings, YAML, roles, the schema."""

from __future__ import annotations

from typing import Any

import httpx
from jsonschema import Draft202012Validator

from tests.helpers import bearer
from tests.journey_support import World

BASIC: dict[str, Any] = {
    "name": "basic",
    "trigger": {"event": {"name": "Product Viewed"}},
    "steps": [{"id": "wait", "wait": {"duration": "PT1H"}}],
}


def error(response: httpx.Response, status: int = 400) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()["error"]
    return body


def post(world: World, document: Any, token: str | None = None, **kwargs: Any) -> httpx.Response:
    return world.http.post("/api/journeys", json=document, headers=bearer(token or world.token), **kwargs)


def test_the_schema_is_served_and_is_a_valid_json_schema(world: World) -> None:
    schema = world.get("/api/journeys/schema")
    Draft202012Validator.check_schema(schema)
    assert schema["properties"]["steps"]["maxItems"] == world.hub.settings.journey_max_steps


def test_bad_documents_name_the_place(world: World) -> None:
    bad_wait = {**BASIC, "steps": [{"id": "wait", "wait": {"duration": "soon"}}]}
    assert error(post(world, bad_wait))["field"] == "/steps/0/wait/duration"
    unknown_segment = {**BASIC, "trigger": {"segment_entered": "nobody"}}
    body = error(post(world, unknown_segment))
    assert (body["code"], body["field"]) == ("unknown_segment", "/trigger/segment_entered")
    unknown_computed = {
        **BASIC,
        "entry": {"audience": {"computed": {"name": "lifetime_value", "op": "gte", "value": 100}}},
    }
    body = error(post(world, unknown_computed))
    assert (body["code"], body["field"]) == ("unknown_computed_trait", "/entry/audience/computed/name")
    cycle = {
        **BASIC,
        "steps": [
            {"id": "a", "update_trait": {"key": "k", "value": 1}, "next": "b"},
            {"id": "b", "update_trait": {"key": "k", "value": 2}, "next": "a"},
        ],
    }
    assert error(post(world, cycle))["code"] == "cycle_without_wait"
    response = world.http.post(
        "/api/journeys",
        content="name: [broken",
        headers={**bearer(world.token), "Content-Type": "application/yaml"},
    )
    assert error(response)["field"] == "body"
    assert error(post(world, ["not", "an", "object"]))["field"] == "/"
    huge = {**BASIC, "description": "x" * (world.hub.settings.journey_max_document_bytes + 1)}
    # refused while it arrives, before anything parses it (web.BodyLimit)
    assert error(post(world, huge), 413)["code"] == "body_too_large"


def test_unknown_events_and_traits_warn_but_are_accepted(world: World) -> None:
    document = {
        **BASIC,
        "steps": [{"id": "wait", "wait": {"until_trait": {"trait": "contract_end"}}}],
    }
    checked = world.post("/api/journeys/validate", document)
    assert checked["valid"] is True
    assert {w["code"] for w in checked["warnings"]} == {"unknown_event", "unknown_trait"}
    created = world.post("/api/journeys", document, 201)
    assert len(created["warnings"]) == 2
    world.identify("known", contract_end="2027-01-01")
    world.track("known", "Product Viewed")
    assert world.post("/api/journeys/validate", document)["warnings"] == []


def test_names_are_unique_and_versions_keep_their_documents(world: World) -> None:
    created = world.post("/api/journeys", BASIC, 201)
    assert (created["version"], created["status"]) == (1, "draft")
    assert error(post(world, BASIC), 409)["code"] == "journey_exists"
    changed = {**BASIC, "steps": [{"id": "wait", "wait": {"duration": "PT2H"}}]}
    updated = world.put(f"/api/journeys/{created['id']}", changed)
    assert updated["version"] == 2
    assert updated["document"] == changed
    response = world.http.put("/api/journeys/jny_missing", json=BASIC, headers=bearer(world.token))
    assert error(response, 404)["code"] == "journey_not_found"


def test_api_entries_are_refused_clearly(world: World) -> None:
    pid = world.identify("ent")
    event_journey = world.journey(BASIC)
    response = world.http.post(
        f"/api/journeys/{event_journey}/entries", json={"profile_id": pid}, headers=bearer(world.token)
    )
    assert error(response, 409)["code"] == "not_api_triggered"
    keyed = world.journey(
        {"name": "keyed", "trigger": {"api": {}}, "entry": {"key": "order_id"}, "steps": BASIC["steps"]}
    )
    response = world.http.post(
        f"/api/journeys/{keyed}/entries", json={"profile_id": pid}, headers=bearer(world.token)
    )
    assert error(response)["field"] == "key"
    response = world.http.post(
        f"/api/journeys/{keyed}/entries",
        json={"profile_id": "prof_nobody", "key": "A-1"},
        headers=bearer(world.token),
    )
    assert error(response, 404)["field"] == "profile_id"


def test_roles_marketing_writes_service_reads_store_does_not(world: World) -> None:
    marketing = world.hub.tokens.create("m", "marketing")[1]
    service = world.hub.tokens.create("s", "service")[1]
    store = world.hub.tokens.create("t", "store", "store-mitte")[1]
    assert post(world, BASIC, marketing).status_code == 201
    assert post(world, {**BASIC, "name": "other"}, service).status_code == 403
    assert world.http.get("/api/journeys", headers=bearer(service)).status_code == 200
    assert world.http.get("/api/journeys", headers=bearer(store)).status_code == 403


def test_erasure_removes_runs_steps_and_timers_and_export_shows_them(world: World) -> None:
    pid = world.identify("eraseme", email="erase@example.org")
    journey_id = world.journey(
        {"name": "erasable", "trigger": {"api": {}}, "steps": [{"id": "w", "wait": {"duration": "P1D"}}]}
    )
    world.post(
        f"/api/journeys/{journey_id}/entries", {"profile_id": pid, "data": {"note": "Kastanienallee 7"}}
    )
    privacy = world.hub.tokens.create("dpo", "privacy")[1]
    exported = world.http.post(
        "/api/privacy/requests", json={"type": "export", "profile_id": pid}, headers=bearer(privacy)
    )
    assert exported.status_code == 201, exported.text
    document = world.http.get(exported.json()["export"]["json"], headers=bearer(privacy)).json()
    assert "Kastanienallee 7" in str(document)
    erased = world.http.post(
        "/api/privacy/requests", json={"type": "erasure", "profile_id": pid}, headers=bearer(privacy)
    )
    assert erased.status_code == 201, erased.text
    assert world.runs(journey_id) == []
    assert world.timers() == 0
    assert world.step_rows() == 0
