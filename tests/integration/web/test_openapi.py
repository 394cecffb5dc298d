"""The OpenAPI document describes the tracking and read APIs."""

from __future__ import annotations

import httpx


def test_openapi_lists_every_endpoint_with_the_envelope_schema(http: httpx.Client) -> None:
    doc = http.get("/openapi.json").json()
    paths = doc["paths"]
    for kind in ("identify", "track", "page", "screen", "group", "alias", "batch"):
        assert f"/v1/{kind}" in paths
    for path in (
        "/api/profiles/lookup",
        "/api/profiles/{profile_id}",
        "/api/profiles/{profile_id}/events",
        "/api/profiles/{profile_id}/merges",
        "/api/profiles/{profile_id}/unmerge",
        "/api/quarantine",
        "/api/sources",
    ):
        assert path in paths, path
    schemas = doc["components"]["schemas"]
    assert "anonymousId" in schemas["Envelope"]["properties"]
    assert schemas["BatchRequest"]["properties"]["batch"]["maxItems"] == 2500
    ref = paths["/v1/batch"]["post"]["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert ref == "#/components/schemas/BatchRequest"


def test_unknown_route_is_a_json_404(http: httpx.Client) -> None:
    r = http.get("/v1/nope")
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "not_found"
