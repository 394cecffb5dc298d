"""Small modules and functions: the sizes a reader can hold, checked so they stay that way.

A module over ``MODULE_LINES`` lines or a function over ``FUNCTION_LINES`` lines fails unless it
is listed below; the lists hold what is still to be split along its seams, and may only shrink
(an entry that is no longer too long fails too, so it is taken off).
"""

from __future__ import annotations

import ast
from pathlib import Path

import omnikanal

ROOT = Path(omnikanal.__file__).parent
MODULE_LINES = 400
FUNCTION_LINES = 60

LONG_MODULES: set[str] = {
    "commerce/api.py",
    "commerce/orders.py",
    "consent/service.py",
    "journeys/engine.py",
    "journeys/jobs.py",
    "journeys/model.py",
    "messaging/api.py",
    "messaging/dispatcher.py",
    "messaging/service.py",
    "segments/model.py",
    "segments/service.py",
    "segments/store.py",
}
LONG_FUNCTIONS: set[str] = {
    "app.py:create_app",
    "commerce/catalogue.py:write_product",
    "commerce/orders.py:_hold_stock",
    "commerce/orders.py:_place",
    "commerce/orders.py:_return",
    "commerce/reservations.py:create",
    "commerce/reservations.py:work",
    "commerce/scan.py:scan",
    "commerce/stock.py:post",
    "console/overview.py:figures",
    "demo/journeys.py:build",
    "hub.py:build_hub",
    "ingest/model.py:validate",
    "ingest/service.py:prepare",
    "ingest/service.py:write",
    "journeys/engine.py:_take",
    "journeys/model.py:_steps",
    "journeys/model.py:parse_journey",
    "journeys/schema.py:journey_schema",
    "journeys/service.py:stats",
    "messaging/dispatcher.py:_gate",
    "messaging/dispatcher.py:_record",
    "messaging/dispatcher.py:_render",
    "messaging/facts.py:read",
    "messaging/gate.py:decide",
    "messaging/privacy.py:export",
    "messaging/push.py:parse_registration",
    "messaging/wiring.py:build_messaging",
    "profiles/service.py:_unmerge",
    "segments/model.py:node",
    "segments/service.py:_apply",
    "segments/store.py:facts_many",
}


def _modules() -> dict[str, Path]:
    return {
        str(path.relative_to(ROOT)): path
        for path in sorted(ROOT.rglob("*.py"))
        if "migrations" not in path.parts
    }


def long_modules() -> set[str]:
    return {
        name
        for name, path in _modules().items()
        if len(path.read_text(encoding="utf-8").splitlines()) > MODULE_LINES
    }


def long_functions() -> set[str]:
    found: set[str] = set()
    for name, path in _modules().items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                assert node.end_lineno is not None
                if node.end_lineno - node.lineno + 1 > FUNCTION_LINES:
                    found.add(f"{name}:{node.name}")
    return found


def test_no_module_is_longer_than_the_limit_beyond_the_list() -> None:
    assert not sorted(long_modules() - LONG_MODULES)


def test_no_function_is_longer_than_the_limit_beyond_the_list() -> None:
    assert not sorted(long_functions() - LONG_FUNCTIONS)


def test_the_lists_name_only_what_is_still_too_long() -> None:
    assert not sorted(LONG_MODULES - long_modules())
    assert not sorted(LONG_FUNCTIONS - long_functions())
