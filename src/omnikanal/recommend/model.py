"""Types of the recommend capability: interaction kinds and their weights, answers. No I/O."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

# How much an interaction says about wanting a product. A return counts against the purchase it
# undoes, so a returned product weighs less than one kept (and nothing once returned as often as bought).
WEIGHTS: dict[str, float] = {
    "view": 1.0,
    "scan": 2.0,
    "cart": 3.0,
    "reservation": 4.0,
    "order": 5.0,
    "return": -5.0,
}
# event name -> interaction kind; "Order Completed" and "Order Refunded" name their products
EVENT_KINDS: dict[str, str] = {
    "Product Viewed": "view",
    "Product Scanned": "scan",
    "Product Added": "cart",
    "Product Reserved": "reservation",
    "Order Completed": "order",
    "Order Refunded": "return",
}
BOUGHT = frozenset({"order"})
# a single event's quantity counts up to this much: one bulk order must not outweigh a history
MAX_QUANTITY = 5

Available = Literal["store", "online", "any"]
Basis = Literal["model", "little_history", "no_consent", "no_data"]
ALGORITHM = "implicit-als"


@dataclass(frozen=True, slots=True)
class TrainParams:
    factors: int = 32
    iterations: int = 15
    # strong enough that a customer's factors generalise beyond their own few products
    regularization: float = 1.0
    # confidence = 1 + alpha * log1p(weight): repeat interactions matter, but with diminishing returns
    alpha: float = 10.0
    window_days: int | None = None
    seed: int = 42


@dataclass
class Item:
    product_id: str
    sku: str
    score: float
    reason: str


@dataclass
class Recommendations:
    profile_id: str
    personal: bool
    basis: Basis
    model_version: int | None
    items: list[Item] = field(default_factory=list)
    message: str | None = None
