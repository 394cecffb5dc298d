"""The OpenAPI document describes the messaging endpoints and their request bodies."""

from __future__ import annotations

import httpx


def test_openapi_lists_the_messaging_endpoints(http: httpx.Client) -> None:
    doc = http.get("/openapi.json").json()
    paths = doc["paths"]
    for path, method in (
        ("/api/messaging/templates", "post"),
        ("/api/messaging/templates", "get"),
        ("/api/messaging/templates/{template_id}/preview", "post"),
        ("/api/messages", "post"),
        ("/api/messages/{message_id}", "get"),
        ("/api/messages/{message_id}/retry", "post"),
        ("/api/profiles/{profile_id}/messages", "get"),
        ("/api/messaging/stats", "get"),
        ("/api/tasks", "get"),
        ("/api/tasks/{task_id}/claim", "post"),
        ("/api/tasks/{task_id}/complete", "post"),
        ("/unsubscribe/{token}", "post"),
        ("/unsubscribe/{token}", "get"),
        ("/callbacks/twilio/status", "post"),
    ):
        assert method in paths.get(path, {}), (path, method)
    schemas = doc["components"]["schemas"]
    assert {"profile_id", "channel", "template", "content", "transactional", "idempotency_key"} <= set(
        schemas["MessageIn"]["properties"]
    )
    assert schemas["MessageIn"]["required"] == ["profile_id", "channel"]
    assert "body_html" in schemas["TemplateIn"]["properties"]
