"""Branching on a customer's recommendations: ``{"branch": {"if": {"recommended": {...}}}}``.

A journey asks whether the products the hub would suggest to this customer right now include one
of a category (or a SKU), optionally only personal suggestions (with ``personalisation`` consent and
a history), optionally only what is in stock at a store or online. Journeys ask through a port;
the recommend capability answers it, wired at the composition root, so neither imports the other.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from omnikanal.errors import InvalidInput

AVAILABLE = ("any", "online", "store")
MAX_TOP = 50
KEYS = {"category", "sku", "personal", "available", "store", "top"}


@dataclass(frozen=True, slots=True)
class Recommended:
    """What a branch asks of the customer's top ``top`` recommendations."""

    category: str | None = None
    sku: str | None = None
    personal: bool = False
    available: str = "any"
    store: str | None = None
    top: int = 10


class RecommendationCheck(Protocol):
    def matches(self, profile_id: str, rule: Recommended) -> bool:
        """Whether any of the customer's top recommendations fits the rule."""
        ...


def _fail(pointer: str, message: str) -> InvalidInput:
    return InvalidInput("invalid_document", f"{pointer}: {message}", pointer)


def _text(body: dict[str, Any], key: str, pointer: str) -> str | None:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip() or len(value) > 200:
        raise _fail(f"{pointer}/{key}", "a text of 1 to 200 characters")
    return value.strip()


def parse_recommended(body: Any, pointer: str) -> Recommended:
    """The rule of ``if.recommended``; every error names its JSON pointer."""
    if not isinstance(body, dict):
        raise _fail(pointer, "an object with category or sku")
    unknown = sorted(set(body) - KEYS)
    if unknown:
        raise _fail(f"{pointer}/{unknown[0]}", f"unknown key; allowed: {', '.join(sorted(KEYS))}")
    category, sku = _text(body, "category", pointer), _text(body, "sku", pointer)
    if category is None and sku is None:
        raise _fail(pointer, "give a category or a sku to look for")
    personal = body.get("personal", False)
    if not isinstance(personal, bool):
        raise _fail(f"{pointer}/personal", "true or false")
    available = body.get("available", "any")
    if available not in AVAILABLE:
        raise _fail(f"{pointer}/available", f"one of {', '.join(AVAILABLE)}")
    store = _text(body, "store", pointer)
    if (available == "store") != (store is not None):
        raise _fail(f"{pointer}/store", "a store is given exactly when available is store")
    top = body.get("top", 10)
    if isinstance(top, bool) or not isinstance(top, int) or not 1 <= top <= MAX_TOP:
        raise _fail(f"{pointer}/top", f"a whole number from 1 to {MAX_TOP}")
    return Recommended(category, sku, personal, str(available), store, top)


def is_recommended(document: Any) -> bool:
    return isinstance(document, dict) and set(document) == {"recommended"}
