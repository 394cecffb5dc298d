"""The pure parts of recommend: which events become which interactions, and how a history becomes
the training matrix and popularity lists."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import numpy as np

from omnikanal.recommend.jobs import INTEREST, interactions_of
from omnikanal.recommend.model import TrainParams
from omnikanal.recommend.train import build_matrix, fit, popular_lists

AT = datetime(2026, 6, 1, 12, tzinfo=UTC)


def event(name: str, properties: Any, profile: str | None = "p1", kind: str = "track") -> Any:
    return SimpleNamespace(
        type=kind,
        event=name,
        profile_id=profile,
        channel="web",
        timestamp=AT,
        payload={"properties": properties},
    )


def row(profile: str, product: str, weight: float, store: str | None = None) -> Any:
    return SimpleNamespace(
        profile_id=profile, sku=None, product_id=product, kind="x", weight=weight, store_id=store, at=AT
    )


def test_only_product_events_are_wanted() -> None:
    assert INTEREST.wants("track", "Product Viewed")
    assert INTEREST.wants("track", "Order Refunded")
    assert not INTEREST.wants("track", "Email Opened")
    assert not INTEREST.wants("page", None)


def test_orders_and_returns_count_each_product_and_quantities_are_capped() -> None:
    order = interactions_of(
        event(
            "Order Completed", {"products": [{"sku": "A-1", "quantity": 2}, {"sku": "B-1", "quantity": 99}]}
        )
    )
    assert [(r["sku"], r["kind"], r["weight"]) for r in order] == [
        ("A-1", "order", 10.0),
        ("B-1", "order", 25.0),
    ]
    refund = interactions_of(event("Order Refunded", {"products": [{"sku": "A-1", "quantity": 1}]}))
    assert [(r["kind"], r["weight"]) for r in refund] == [("return", -5.0)]
    scan = interactions_of(event("Product Scanned", {"product_id": "P", "sku": "P-1", "store_id": "s1"}))
    assert scan[0]["store_id"] == "s1"
    assert scan[0]["weight"] == 2.0


def test_events_without_a_profile_or_product_are_skipped() -> None:
    assert interactions_of(event("Product Viewed", {"sku": "A"}, profile=None)) == []
    assert interactions_of(event("Product Viewed", {"name": "no id"})) == []
    assert interactions_of(event("Product Viewed", "not an object")) == []
    assert interactions_of(event("Order Completed", {"products": "nope"})) == []
    assert interactions_of(event("Product Viewed", {"sku": "A"}, kind="page")) == []


def test_returns_cancel_purchases_and_unknown_products_and_profiles_drop_out() -> None:
    rows = [
        row("a", "P", 5.0),
        row("a", "P", -5.0),  # returned: no longer a positive pair
        row("a", "Q", 1.0, store="s1"),
        row("gone", "Q", 5.0),  # an erased profile: not in the live map
        row("a", "OLD", 5.0),  # no longer sold
    ]
    matrix = build_matrix(rows, {}, {"P": "tools", "Q": None}, {"a": "a"})
    assert matrix.users == ["a"]
    assert matrix.items == ["Q"]
    assert matrix.read == 5
    assert matrix.used == 3
    assert set(matrix.popular) == {"all", "month:6", "store:s1", "category:tools"}
    lists = popular_lists(matrix.popular)
    assert ("store:s1", "Q", 1.0) in lists
    assert all(scope != "category:tools" for scope, _, _ in lists)  # P nets to nothing


def test_training_on_no_data_gives_an_empty_model_with_figures() -> None:
    trained = fit(build_matrix([], {}, {}, {}), TrainParams(factors=4))
    assert trained.users == []
    assert trained.figures["customers"] == 0
    assert trained.popular == []


def test_customers_with_the_same_taste_score_each_others_products_highest() -> None:
    rows = [row(f"d{n}", p, 5.0) for n in range(10) for p in ("DRILL", "BITS", "CASE")]
    rows += [row(f"p{n}", p, 5.0) for n in range(10) for p in ("PAINT", "ROLLER")]
    rows.append(row("new", "DRILL", 5.0))
    items = {p: None for p in ("DRILL", "BITS", "CASE", "PAINT", "ROLLER")}
    matrix = build_matrix(rows, {}, items, {r.profile_id: r.profile_id for r in rows})
    steps: list[int] = []
    trained = fit(matrix, TrainParams(factors=4, iterations=5), lambda done, total: steps.append(done))
    assert steps == [1, 2, 3, 4, 5]
    scores = trained.item_factors @ trained.user_factors[trained.users.index("new")]
    ranked = [trained.items[n] for n in np.argsort(-scores)]
    assert set(ranked[:3]) == {"DRILL", "BITS", "CASE"}
