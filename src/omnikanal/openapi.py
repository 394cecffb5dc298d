"""The error answers of the OpenAPI document: every status an operation can answer, each error body
described by one model (``ErrorOut``), so clients and schema-based tests know what comes back.

The statuses come from the shared edge, not from each router: every route's parameters are checked
(400, never FastAPI's 422), a NUL in a path or query is a 400 anywhere, /api answers 401 and 403
before any handler, bodies pass a limit while they arrive (413), an unknown id is a 404, a write
may meet a conflict (409), a tracking write a rate limit (429) or a busy writer (503). A router
still documents what only it answers (a 201 beside a 200, its own descriptions); this pass adds
the rest and the body model, so a new router is covered too.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class ErrorDetail(BaseModel):
    """What went wrong: a code for machines, a message for people, the field at fault if one is."""

    code: str = Field(description="machine-readable, e.g. invalid_request, not_found, body_too_large")
    message: str = Field(description="for people; names the field when one is at fault")
    field: str | None = Field(default=None, description="the field at fault (dotted), when one is")


class ErrorOut(BaseModel):
    """The body of every error answer of the hub (the tracking API adds code and message at the top)."""

    error: ErrorDetail


ERROR_REF = {"$ref": "#/components/schemas/ErrorOut"}
WRITES = frozenset({"post", "put", "patch", "delete"})

DESCRIPTIONS = {
    "400": "Bad input; the body names the code, the problem and the field",
    "401": "Missing or unknown credentials",
    "403": "Not allowed for this role or store, or the source is disabled",
    "404": "Not found",
    "409": "Conflicts with the current state (a duplicate, a state that does not allow it)",
    "413": "The request body is larger than this route's limit",
    "429": "Over a rate limit (failed logins, a browser source's requests); see Retry-After",
    "503": "Not known to be stored (storage busy or stopping); send the same request again",
}
TRACKING = ("/v1/", "/beacon/v1/")


def _statuses(path: str, method: str, operation: dict[str, Any]) -> list[str]:
    """The statuses the shared edge can answer for one operation."""
    found = ["400"]  # parameters are checked on every route; a NUL in path or query anywhere
    if path.startswith("/api/"):
        found += ["401", "403", "404"]
        if method in WRITES:
            found += ["409", "413"]
    elif path.startswith("/callbacks/"):
        found += ["401", "413"]
    elif path.startswith(TRACKING) and method == "post":
        # write keys, disabled sources, the public keys' rate limit, the writer's timeout
        found += ["401", "403", "429", "503"]
    elif "{" in path:
        found.append("404")
    if method in WRITES and not path.startswith(TRACKING):
        found.append("413")
    return sorted(set(found))


def _html(operation: dict[str, Any]) -> bool:
    ok = operation.get("responses", {}).get("200", {})
    return "text/html" in ok.get("content", {})


def document_errors(schema: dict[str, Any]) -> dict[str, Any]:
    """Add every error status of each operation with the ``ErrorOut`` body; drop FastAPI's 422."""
    schemas = schema.setdefault("components", {}).setdefault("schemas", {})
    for model in (ErrorDetail, ErrorOut):
        schemas[model.__name__] = model.model_json_schema(ref_template="#/components/schemas/{model}")
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    for path, item in schema.get("paths", {}).items():
        for method, operation in item.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            responses: dict[str, Any] = operation["responses"]
            # validation errors are answered 400 with ErrorOut (web.install_error_handlers)
            responses.pop("422", None)
            for status in _statuses(path, method, operation):
                responses.setdefault(status, {"description": DESCRIPTIONS[status]})
            html = _html(operation)
            for status, response in responses.items():
                if not status.startswith(("4", "5")):
                    continue
                content = response.setdefault("content", {})
                json_body = content.setdefault("application/json", {})
                # a router's own error model (the tracking API's) stays
                if "schema" not in json_body or not json_body["schema"]:
                    json_body["schema"] = ERROR_REF
                if html:
                    # a customer's page answers its errors as a page; checks before it as JSON
                    content.setdefault("text/html", {"schema": {"type": "string"}})
    return schema
