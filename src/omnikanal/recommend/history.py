"""What a customer's own interactions say at answer time: what they bought and kept, and the
category they are most into. No I/O."""

from __future__ import annotations

from typing import Any

from omnikanal.commerce.facts import ProductFacts

from .model import BOUGHT


def bought(history: list[Any], products: dict[str, ProductFacts]) -> set[str]:
    """Products the customer bought and kept, consumables left out (they are bought again)."""
    sku_products = {sku: f.product_id for f in products.values() for sku in f.skus}
    net: dict[str, float] = {}
    for r in history:
        pid = r.product_id if r.product_id in products else sku_products.get(r.sku or "")
        if pid is None:
            continue
        if r.kind in BOUGHT:
            net[pid] = net.get(pid, 0) + r.quantity
        elif r.kind == "return":
            net[pid] = net.get(pid, 0) - r.quantity
    return {pid for pid, n in net.items() if n > 0 and not products[pid].consumable}


def top_category(history: list[Any], products: dict[str, ProductFacts]) -> str | None:
    sku_products = {sku: f.product_id for f in products.values() for sku in f.skus}
    weights: dict[str, float] = {}
    for r in history:
        pid = r.product_id if r.product_id in products else sku_products.get(r.sku or "")
        category = products[pid].category_id if pid is not None else None
        if category:
            weights[category] = weights.get(category, 0) + r.weight
    return max(weights, key=lambda c: (weights[c], c)) if weights else None
