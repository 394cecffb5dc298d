"""Identifiers: extraction from a Segment event and normalisation. No I/O."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import phonenumbers

Identifier = tuple[str, str]  # (type, normalised value)

MAX_IDENTIFIER_LENGTH = 320


@dataclass(frozen=True, slots=True)
class IdentityRules:
    """The stitching rules in force (from settings)."""

    junk_values: frozenset[str]
    default_region: str
    identifier_traits: Mapping[str, str]
    limits: Mapping[str, int]
    default_limit: int

    def limit(self, identifier_type: str) -> int:
        return self.limits.get(identifier_type, self.default_limit)


def normalise_email(raw: str) -> str | None:
    value = raw.strip().lower()
    local, at, domain = value.partition("@")
    if not at or not local or "." not in domain or " " in value:
        return None
    return value


@functools.lru_cache(maxsize=65536)
def normalise_phone(raw: str, region: str) -> str | None:
    """E.164, or None when the number cannot be a real one.

    Cached: parsing costs tens of microseconds and returning customers send the same numbers.
    """
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))


def normalise(identifier_type: str, raw: Any, rules: IdentityRules) -> str | None:
    """The normalised value, or None for junk and values that cannot be this type."""
    if isinstance(raw, bool) or raw is None:
        return None
    if isinstance(raw, int | float):
        raw = str(raw)
    if not isinstance(raw, str):
        return None
    value: str | None
    if identifier_type == "email":
        value = normalise_email(raw)
    elif identifier_type == "phone":
        value = normalise_phone(raw, rules.default_region)
    else:
        value = raw.strip()
    if not value or len(value) > MAX_IDENTIFIER_LENGTH or "\x00" in value:
        return None
    if value.lower() in rules.junk_values:
        return None
    return value


def _trait_sources(event: Mapping[str, Any]) -> Iterable[Mapping[str, Any]]:
    traits = event.get("traits")
    if isinstance(traits, dict):
        yield traits
    context = event.get("context")
    if isinstance(context, dict) and isinstance(context.get("traits"), dict):
        yield context["traits"]


def extract_identifiers(event: Mapping[str, Any], rules: IdentityRules) -> list[Identifier]:
    """Every identifier an event carries, normalised, junk dropped, first occurrence kept."""
    found: list[Identifier] = []

    def add(identifier_type: str, raw: Any) -> None:
        value = normalise(identifier_type, raw, rules)
        if value is not None and (identifier_type, value) not in found:
            found.append((identifier_type, value))

    add("user_id", event.get("userId"))
    add("anonymous_id", event.get("anonymousId"))
    for traits in _trait_sources(event):
        add("email", traits.get("email"))
        add("phone", traits.get("phone"))
        for key, identifier_type in rules.identifier_traits.items():
            if key in traits:
                add(identifier_type, traits[key])
    context = event.get("context")
    external = context.get("externalIds") if isinstance(context, dict) else None
    if isinstance(external, list):
        for item in external:
            if isinstance(item, dict) and isinstance(item.get("type"), str) and item["type"].strip():
                add(item["type"].strip().lower()[:40], item.get("id"))
    return found
