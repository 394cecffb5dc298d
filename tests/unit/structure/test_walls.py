"""The walls between capabilities: a capability's tables and SQL are its own.

A module of one capability may not import another capability's ``tables`` or ``store`` modules;
it calls the owner's service instead, or reacts to its events. The reads that still reach across
are listed below by name, so the list can only shrink: a new one fails, and so does an entry that
is no longer needed.
"""

from __future__ import annotations

import ast
from pathlib import Path

import omnikanal

ROOT = Path(omnikanal.__file__).parent
# The composition root and the schema list may see every capability.
COMPOSITION = {"hub", "app", "cli", "demo", "tables"}
SHARED = {"db", "web", "settings", "clock", "ids", "errors", "signing", "pages", "background", "runtime"}

# Reads across the walls that are still to be replaced by the owner's public functions.
KNOWN: set[tuple[str, str]] = {
    ("omnikanal.console.queries", "omnikanal.commerce.tables"),
    ("omnikanal.console.queries", "omnikanal.eventlog.tables"),
    ("omnikanal.console.queries", "omnikanal.ingest.tables"),
    ("omnikanal.console.queries", "omnikanal.messaging.tables"),
    ("omnikanal.console.queries", "omnikanal.privacy.tables"),
    ("omnikanal.console.queries", "omnikanal.profiles.identity.tables"),
    ("omnikanal.console.queries", "omnikanal.profiles.tables"),
    ("omnikanal.console.queries", "omnikanal.segments.store"),
    ("omnikanal.journeys.engine", "omnikanal.eventlog.tables"),
    ("omnikanal.journeys.engine", "omnikanal.profiles.store"),
    ("omnikanal.journeys.engine", "omnikanal.profiles.tables"),
    ("omnikanal.journeys.engine", "omnikanal.segments.store"),
    ("omnikanal.journeys.engine", "omnikanal.segments.tables"),
    ("omnikanal.journeys.jobs", "omnikanal.profiles.tables"),
    ("omnikanal.journeys.jobs", "omnikanal.segments.tables"),
    ("omnikanal.journeys.service", "omnikanal.eventlog.tables"),
    ("omnikanal.journeys.service", "omnikanal.messaging.store"),
    ("omnikanal.journeys.service", "omnikanal.messaging.tables"),
    ("omnikanal.journeys.service", "omnikanal.profiles.tables"),
    ("omnikanal.journeys.service", "omnikanal.segments.tables"),
    ("omnikanal.privacy.parts", "omnikanal.ingest.tables"),
    ("omnikanal.profiles.identity.store", "omnikanal.eventlog.tables"),
    ("omnikanal.profiles.service", "omnikanal.eventlog.tables"),
    ("omnikanal.segments.service", "omnikanal.ingest.store"),
    ("omnikanal.segments.store", "omnikanal.consent.store"),
    ("omnikanal.segments.store", "omnikanal.consent.tables"),
    ("omnikanal.segments.store", "omnikanal.eventlog.tables"),
    ("omnikanal.segments.store", "omnikanal.profiles.identity.tables"),
    ("omnikanal.segments.store", "omnikanal.profiles.tables"),
    ("omnikanal.segments.store", "omnikanal.sources.tables"),
}


def _private(module: str) -> bool:
    last = module.rsplit(".", 1)[-1]
    return last in ("store", "tables") or last.endswith("_store")


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("omnikanal."):
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("omnikanal."))
    return {name for name in found if _private(name)}


def crossings() -> set[tuple[str, str]]:
    result: set[tuple[str, str]] = set()
    for path in ROOT.rglob("*.py"):
        parts = path.relative_to(ROOT).with_suffix("").parts
        owner = parts[0]
        if owner in COMPOSITION or owner in SHARED or len(parts) == 1:
            continue
        module = "omnikanal." + ".".join(parts)
        for imported in _imports(path):
            if imported.split(".")[1] != owner:
                result.add((module, imported))
    return result


def test_no_capability_reads_another_capabilitys_tables_or_store_beyond_the_known_list() -> None:
    found = crossings()
    new = sorted(found - KNOWN)
    assert not new, "new reads across a capability's walls (use the owner's service): " + repr(new)


def test_the_known_list_holds_only_crossings_that_still_exist() -> None:
    stale = sorted(KNOWN - crossings())
    assert not stale, "remove these from KNOWN, they are gone: " + repr(stale)
