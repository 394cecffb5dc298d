"""Training: interactions to a confidence matrix, an ALS model of implicit feedback (the
``implicit`` library), and the popularity lists used when a customer has little history.

Pure computation on what the service read; the service stores the result.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .model import TrainParams

POPULAR_PER_SCOPE = 200
Progress = Callable[[int, int], None]


@dataclass
class Matrix:
    """Net weight per (customer, product), only where it is positive, and the scopes' popularity."""

    users: list[str]
    items: list[str]
    rows: NDArray[np.int32]
    cols: NDArray[np.int32]
    weights: NDArray[np.float32]
    popular: dict[str, dict[str, float]]
    read: int
    used: int


@dataclass
class Trained:
    users: list[str]
    items: list[str]
    user_factors: NDArray[np.float32]
    item_factors: NDArray[np.float32]
    popular: list[tuple[str, str, float]]
    figures: dict[str, Any] = field(default_factory=dict)


def build_matrix(
    rows: Iterable[Any],
    sku_products: Mapping[str, str],
    categories: Mapping[str, str | None],
    live: Mapping[str, str],
) -> Matrix:
    """Sum the interactions per live customer and product; returns subtract. Interactions with
    products no longer sold, or of profiles that are gone, are left out."""
    net: dict[tuple[str, str], float] = defaultdict(float)
    popular: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    read = used = 0
    for r in rows:
        read += 1
        product = r.product_id if r.product_id in categories else sku_products.get(r.sku or "")
        person = live.get(r.profile_id)
        if product is None or person is None:
            continue
        used += 1
        net[(person, product)] += r.weight
        # popularity counts every customer's interest; returns lower it as they lower a person's
        scopes = ["all", f"month:{r.at.month}"]
        if r.store_id:
            scopes.append(f"store:{r.store_id}")
        category = categories.get(product)
        if category:
            scopes.append(f"category:{category}")
        for scope in scopes:
            popular[scope][product] += r.weight
    kept = [(u, p, w) for (u, p), w in net.items() if w > 0]
    users = sorted({u for u, _, _ in kept})
    items = sorted({p for _, p, _ in kept})
    user_index = {u: n for n, u in enumerate(users)}
    item_index = {p: n for n, p in enumerate(items)}
    return Matrix(
        users=users,
        items=items,
        rows=np.fromiter((user_index[u] for u, _, _ in kept), dtype=np.int32, count=len(kept)),
        cols=np.fromiter((item_index[p] for _, p, _ in kept), dtype=np.int32, count=len(kept)),
        weights=np.fromiter((w for _, _, w in kept), dtype=np.float32, count=len(kept)),
        popular={s: dict(v) for s, v in popular.items()},
        read=read,
        used=used,
    )


def popular_lists(popular: Mapping[str, Mapping[str, float]]) -> list[tuple[str, str, float]]:
    out: list[tuple[str, str, float]] = []
    for scope, scores in popular.items():
        ranked = sorted(((p, v) for p, v in scores.items() if v > 0), key=lambda x: (-x[1], x[0]))
        top = ranked[:POPULAR_PER_SCOPE]
        if top:
            best = top[0][1]
            out.extend((scope, p, round(v / best, 6)) for p, v in top)
    return out


def fit(matrix: Matrix, params: TrainParams, progress: Progress | None = None) -> Trained:
    """ALS on confidence 1 + alpha * log1p(weight) (Hu, Koren and Volinsky's implicit feedback)."""
    # Imported here: scipy, implicit and their BLAS load only in a process that trains.
    from implicit.cpu.als import AlternatingLeastSquares
    from scipy.sparse import csr_matrix
    from threadpoolctl import threadpool_limits

    started = time.perf_counter()
    popular = popular_lists(matrix.popular)
    figures: dict[str, Any] = {
        "interactions_read": matrix.read,
        "interactions_used": matrix.used,
        "customers": len(matrix.users),
        "products": len(matrix.items),
        "pairs": int(matrix.weights.size),
    }
    if not matrix.users:
        figures["seconds"] = round(time.perf_counter() - started, 3)
        return Trained(
            [],
            [],
            np.zeros((0, params.factors), np.float32),
            np.zeros((0, params.factors), np.float32),
            popular,
            figures,
        )
    confidence = 1.0 + params.alpha * np.log1p(matrix.weights)
    user_items = csr_matrix(
        (confidence.astype(np.float32), (matrix.rows, matrix.cols)),
        shape=(len(matrix.users), len(matrix.items)),
    )
    losses: list[float] = []

    def step(iteration: int, _elapsed: float, loss: float) -> None:
        losses.append(float(loss))
        if progress is not None:
            progress(iteration + 1, params.iterations)

    # implicit runs its own threads; a multithreaded BLAS under them only competes for the cores
    # (implicit checks this when the model is made, so the limit covers both)
    with threadpool_limits(1, "blas"):
        model = AlternatingLeastSquares(
            factors=params.factors,
            iterations=params.iterations,
            regularization=params.regularization,
            random_state=params.seed,
            calculate_training_loss=True,
        )
        model.fit(user_items, show_progress=False, callback=step)
    figures["seconds"] = round(time.perf_counter() - started, 3)
    figures["loss"] = losses[-1] if losses else None
    return Trained(
        matrix.users,
        matrix.items,
        np.ascontiguousarray(model.user_factors, dtype=np.float32),
        np.ascontiguousarray(model.item_factors, dtype=np.float32),
        popular,
        figures,
    )
