"""Hostile journey documents get a clear 400 and store nothing: YAML aliases that would expand a
small document into a huge one, and nesting deep enough to exhaust the parser's recursion."""

from __future__ import annotations

import httpx
import pytest

from tests.helpers import assert_error, bearer
from tests.journey_support import World

# 9 levels of 9 aliases each: a few hundred bytes standing for 9**9 strings.
ALIAS_BOMB = "\n".join(
    ["name: bomb", "trigger: {api: {}}", 'a0: &a0 ["lol"]']
    + [f"a{n}: &a{n} [{', '.join([f'*a{n - 1}'] * 9)}]" for n in range(1, 10)]
    + ["steps: [{id: w, wait: {duration: PT1H}}]", "description: *a9"]
)


def _post(world: World, path: str, text: str, content_type: str) -> httpx.Response:
    headers = {**bearer(world.token), "Content-Type": content_type}
    return world.http.post(path, content=text.encode(), headers=headers)


@pytest.mark.parametrize("path", ["/api/journeys", "/api/journeys/validate"])
def test_yaml_aliases_are_refused_with_the_place(world: World, path: str) -> None:
    assert len(ALIAS_BOMB) < 1000
    error = assert_error(_post(world, path, ALIAS_BOMB, "application/yaml"), 400, "invalid_document", "body")
    assert "alias" in error["message"]
    assert "line 4" in error["message"]
    assert world.get("/api/journeys")["journeys"] == []


@pytest.mark.parametrize(
    ("text", "content_type"),
    [
        ("[" * 2000 + "]" * 2000, "application/json"),
        ("name: deep\nx: " + "[" * 2000 + "]" * 2000, "application/yaml"),
        ("name: deep\nx:\n" + "".join(f"{'  ' * (n + 1)}k{n}:\n" for n in range(300)), "application/yaml"),
    ],
)
def test_deep_nesting_is_refused_not_a_server_error(world: World, text: str, content_type: str) -> None:
    error = assert_error(_post(world, "/api/journeys", text, content_type), 400, "invalid_document", "body")
    limit = world.hub.settings.journey_max_document_depth
    assert f"deeper than {limit} levels" in error["message"]
    assert world.get("/api/journeys")["journeys"] == []


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"\x00", "application/yaml"),  # found by the schemathesis test: a 500 before
        (b"name: nul\x00here\n", "application/yaml"),
        (b"\xff\xfe\xfa", "application/yaml"),  # not UTF-8 (nor UTF-16)
        (b"\x00", "text/plain"),
    ],
)
@pytest.mark.parametrize("path", ["/api/journeys", "/api/journeys/validate"])
def test_characters_yaml_cannot_read_are_400_not_a_server_error(
    world: World, path: str, body: bytes, content_type: str
) -> None:
    headers = {**bearer(world.token), "Content-Type": content_type}
    response = world.http.post(path, content=body, headers=headers)
    assert_error(response, 400, "invalid_document", "body")
    assert world.get("/api/journeys")["journeys"] == []
