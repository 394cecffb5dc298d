"""Journeys' question "is one of the products we would suggest to this customer of this category
(or this SKU)?", answered from the same recommendations the API and the scan give.

Journeys sit above recommend, so the rule arrives as any object with the fields below (journeys'
``Recommended``), and the composition root hands this class to the journey engine.
"""

from __future__ import annotations

from typing import Protocol, cast

from omnikanal.errors import InvalidInput, NotFound

from .model import Available
from .service import RecommendService


class BranchRule(Protocol):
    @property
    def category(self) -> str | None: ...
    @property
    def sku(self) -> str | None: ...
    @property
    def personal(self) -> bool: ...
    @property
    def available(self) -> str: ...
    @property
    def store(self) -> str | None: ...
    @property
    def top(self) -> int: ...


class RecommendedBranches:
    def __init__(self, service: RecommendService) -> None:
        self._service = service

    def matches(self, profile_id: str, rule: BranchRule) -> bool:
        """Whether the customer's top ``rule.top`` suggestions hold one that fits. ``personal``:
        only suggestions from their own history count (none without ``personalisation`` consent).
        A store that is gone, or no model yet, means no."""
        try:
            answer = self._service.recommend(
                profile_id, rule.top, rule.store, cast(Available, rule.available)
            )
        except (NotFound, InvalidInput):
            return False
        if rule.personal and not answer.personal:
            return False
        products = self._service.products() if rule.category is not None else {}
        for item in answer.items:
            if rule.personal and item.reason != "personal":
                continue
            if rule.sku is not None and item.sku == rule.sku:
                return True
            facts = products.get(item.product_id)
            if rule.category is not None and facts is not None and facts.category_id == rule.category:
                return True
        return False
