"""Segments and computed traits kept in files (YAML or JSON), applied with ``omnikanal segments apply``.

A retailer keeps its audiences in version control beside its templates; applying a file makes the
hub match it: computed traits are defined or replaced, segments are created or, when their
description or condition differ, updated by name. Nothing is deleted: a segment missing from the
file stays (deleting members is a decision, not a side effect of a file edit).

The file::

    computed_traits:
      - {name: lifetime_value, function: sum, event: Order Completed, property: revenue}
    segments:
      - name: Werkzeug-Interessenten ohne Kauf
        description: Szenario 8
        condition:
          all:
            - event: {name: Product Viewed, min: 3, within_days: 14,
                      where: [{key: category, op: eq, value: Werkzeug}]}
            - not: {event: {name: Order Completed, within_days: 14}}

Every document is checked before anything is applied; an error names the file and the place
(``segments[0].condition.all[1].not.event.within_days``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from omnikanal.errors import InvalidInput, NotFound
from omnikanal.segments.model import parse_computed
from omnikanal.segments.service import SegmentService

MAX_FILE_BYTES = 1_000_000
MAX_ENTRIES = 500
TOP_KEYS = frozenset({"segments", "computed_traits"})
SEGMENT_KEYS = frozenset({"name", "description", "condition"})


@dataclass(frozen=True, slots=True)
class Applied:
    kind: str  # segment, computed_trait
    name: str
    outcome: str  # created, updated, unchanged, defined


def _fail(place: str, message: str) -> InvalidInput:
    return InvalidInput("invalid_definitions", f"{place}: {message}", place)


def read(path: Path) -> dict[str, Any]:
    """The document of a definitions file; YAML unless the name ends in .json."""
    where = str(path)
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise _fail(where, f"cannot read the file ({exc.strerror})") from None
    if size > MAX_FILE_BYTES:
        raise _fail(where, f"the file is larger than {MAX_FILE_BYTES} bytes")
    text = path.read_text(encoding="utf-8")
    is_json = path.suffix.lower() == ".json"
    try:
        document = json.loads(text) if is_json else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise _fail(where, f"not valid {'JSON' if is_json else 'YAML'}: {exc}") from None
    if not isinstance(document, dict):
        raise _fail(where, "the file must hold a mapping with 'segments' and/or 'computed_traits'")
    unknown = sorted(set(document) - TOP_KEYS)
    if unknown:
        raise _fail(where, f"unknown keys {unknown}; allowed: {sorted(TOP_KEYS)}")
    return document


def _entries(document: dict[str, Any], key: str, where: str) -> list[Any]:
    entries = document.get(key) or []
    if not isinstance(entries, list):
        raise _fail(f"{where}: {key}", "a list is expected")
    if len(entries) > MAX_ENTRIES:
        raise _fail(f"{where}: {key}", f"at most {MAX_ENTRIES} entries")
    return entries


def check(service: SegmentService, document: dict[str, Any], where: str) -> None:
    """Check every entry of a document; the first problem is raised with its place."""
    seen: set[str] = set()
    for n, entry in enumerate(_entries(document, "computed_traits", where)):
        place = f"{where}: computed_traits[{n}]"
        try:
            trait = parse_computed(entry, service.limits)
        except InvalidInput as exc:
            raise _fail(place, exc.message) from None
        if trait.name in seen:
            raise _fail(place, f"the computed trait {trait.name!r} is defined twice")
        seen.add(trait.name)
    names: set[str] = set()
    for n, entry in enumerate(_entries(document, "segments", where)):
        place = f"{where}: segments[{n}]"
        if not isinstance(entry, dict):
            raise _fail(place, "a mapping with name, condition and optionally description is expected")
        unknown = sorted(set(entry) - SEGMENT_KEYS)
        if unknown:
            raise _fail(place, f"unknown keys {unknown}; allowed: {sorted(SEGMENT_KEYS)}")
        name = entry.get("name")
        if not isinstance(name, str) or not 1 <= len(name.strip()) <= 200:
            raise _fail(f"{place}.name", "a name of 1 to 200 characters is expected")
        if name in names:
            raise _fail(f"{place}.name", f"the segment {name!r} is defined twice")
        names.add(name)
        description = entry.get("description")
        if description is not None and (not isinstance(description, str) or len(description) > 2000):
            raise _fail(f"{place}.description", "a text of at most 2000 characters is expected")
        if "condition" not in entry:
            raise _fail(place, "condition is missing")
        try:
            service.parse(entry["condition"])
        except InvalidInput as exc:
            raise _fail(f"{place}.condition", exc.message) from None


def apply(service: SegmentService, document: dict[str, Any], where: str, actor: str) -> list[Applied]:
    """Make the hub match the document (checked first, as a whole)."""
    check(service, document, where)
    applied: list[Applied] = []
    existing = {d["name"]: d["definition"] for d in service.computed_definitions()}
    for entry in _entries(document, "computed_traits", where):
        name = entry["name"]
        if existing.get(name) == entry:
            applied.append(Applied("computed_trait", name, "unchanged"))
            continue
        service.define_computed(entry)
        applied.append(Applied("computed_trait", name, "defined"))
    by_name = {s["name"]: s for s in service.all()}
    for entry in _entries(document, "segments", where):
        name = entry["name"]
        description = entry.get("description")
        current = by_name.get(name)
        if current is None:
            service.create(name, description, entry["condition"], actor)
            applied.append(Applied("segment", name, "created"))
        elif current["condition"] == entry["condition"] and current["description"] == description:
            applied.append(Applied("segment", name, "unchanged"))
        else:
            try:
                service.update(
                    current["id"],
                    None,
                    description,
                    None if current["condition"] == entry["condition"] else entry["condition"],
                )
            except NotFound:  # deleted since the listing: create it again
                service.create(name, description, entry["condition"], actor)
                applied.append(Applied("segment", name, "created"))
                continue
            applied.append(Applied("segment", name, "updated"))
    return applied
