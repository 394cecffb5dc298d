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


def test_every_error_answer_is_documented_with_one_error_model(http: httpx.Client) -> None:
    doc = http.get("/openapi.json").json()
    assert set(doc["components"]["schemas"]["ErrorOut"]["required"]) == {"error"}
    assert "HTTPValidationError" not in doc["components"]["schemas"]
    for path, item in doc["paths"].items():
        for method, operation in item.items():
            responses = operation["responses"]
            # validation errors are answered 400, never FastAPI's 422
            assert "422" not in responses, (method, path)
            assert "400" in responses, (method, path)
            if path.startswith("/api/"):
                assert {"401", "403", "404"} <= responses.keys(), (method, path)
                if method in ("post", "put", "patch"):
                    assert {"409", "413"} <= responses.keys(), (method, path)
            for status, response in responses.items():
                if status.startswith("4"):
                    ref = response["content"]["application/json"]["schema"]["$ref"]
                    assert ref.rsplit("/", 1)[1] in ("ErrorOut", "ErrorResponse"), (method, path, status)
