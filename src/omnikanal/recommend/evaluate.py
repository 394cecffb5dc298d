"""Offline evaluation: a time-based split of the interactions, the model against the popularity and
bought-together baselines, by NDCG@10, recall@10 and catalogue coverage. No I/O.

The test set of a customer is what they showed interest in (positive interactions) after the split
that they had not touched before it, for customers known before the split: predicting the already
seen is easy and says little. Every method ranks the products the customer had not touched.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .model import TrainParams
from .train import Matrix, build_matrix, fit

K = 10
# customers scored per evaluation at most (a sample keeps a large history quick to evaluate)
MAX_CUSTOMERS = 5000


@dataclass(frozen=True, slots=True)
class Score:
    method: str
    ndcg: float
    recall: float
    coverage: float
    customers: int


def split(rows: Sequence[Any], share: float = 0.8) -> tuple[list[Any], list[Any]]:
    """Rows before and after the time where ``share`` of them lie before."""
    ordered = sorted(rows, key=lambda r: r.at)
    cut = int(len(ordered) * share)
    return ordered[:cut], ordered[cut:]


def _metrics(ranked: list[str], wanted: set[str]) -> tuple[float, float]:
    gains = sum(1.0 / math.log2(n + 2) for n, p in enumerate(ranked[:K]) if p in wanted)
    ideal = sum(1.0 / math.log2(n + 2) for n in range(min(K, len(wanted))))
    hits = sum(1 for p in ranked[:K] if p in wanted)
    return gains / ideal, hits / len(wanted)


@dataclass
class Split:
    """The training part as a matrix, and for each scored customer what they had touched before
    the split (``seen``) and what they then showed interest in that they had not (``wanted``)."""

    matrix: Matrix
    seen: dict[int, set[int]]
    wanted: dict[int, set[int]]
    chosen: list[int]


Scorer = Callable[[int], NDArray[np.float32]]


def prepare(rows: Sequence[Any], categories: Mapping[str, str | None]) -> Split | None:
    """The time-based split every method is measured on; None when nothing is before it."""
    train_rows, test_rows = split(rows)
    live = {r.profile_id: r.profile_id for r in rows}
    matrix = build_matrix(train_rows, {}, categories, live)
    if not matrix.users:
        return None
    users = {u: n for n, u in enumerate(matrix.users)}
    items = {p: n for n, p in enumerate(matrix.items)}
    seen: dict[int, set[int]] = defaultdict(set)
    for u, i in zip(matrix.rows.tolist(), matrix.cols.tolist(), strict=True):
        seen[u].add(i)
    wanted: dict[int, set[int]] = defaultdict(set)
    for r in test_rows:
        u, i = users.get(r.profile_id), items.get(r.product_id)
        if u is not None and i is not None and r.weight > 0 and i not in seen[u]:
            wanted[u].add(i)
    return Split(matrix, seen, wanted, sorted(wanted)[:MAX_CUSTOMERS])


def baselines(data: Split) -> dict[str, Scorer]:
    """Popularity (the most touched products) and bought together (products touched by the same
    customers as the customer's products)."""
    binary = _binary(data.matrix, len(data.matrix.users), len(data.matrix.items))
    popularity = np.asarray(binary.sum(axis=0)).ravel().astype(np.float32)
    together = (binary.T @ binary).tocsr()
    seen = data.seen
    return {
        "popularity": lambda u: popularity,
        "bought together": lambda u: (
            np.asarray(together[sorted(seen[u])].sum(axis=0)).ravel().astype(np.float32)
        ),
    }


def measure(name: str, score: Scorer, data: Split) -> Score:
    """NDCG@10, recall@10 and coverage of one method's ranking of the untouched products."""
    ndcg = recall = 0.0
    shown: set[int] = set()
    for u in data.chosen:
        values = score(u).copy()
        values[list(data.seen[u])] = -np.inf
        top = np.argpartition(-values, K)[:K] if values.size > K else np.arange(values.size)
        ranked = [int(n) for n in top[np.argsort(-values[top])]]
        shown.update(ranked)
        a, b = _metrics([str(n) for n in ranked], {str(n) for n in data.wanted[u]})
        ndcg += a
        recall += b
    count = max(len(data.chosen), 1)
    products = max(len(data.matrix.items), 1)
    return Score(name, ndcg / count, recall / count, len(shown) / products, len(data.chosen))


def evaluate(
    rows: Sequence[Any],
    categories: Mapping[str, str | None],
    params: TrainParams,
    progress: Callable[[int, int], None] | None = None,
) -> list[Score]:
    data = prepare(rows, categories)
    if data is None:
        return []
    trained = fit(data.matrix, params, progress)
    methods: dict[str, Scorer] = {
        "implicit ALS": lambda u: trained.item_factors @ trained.user_factors[u],
        **baselines(data),
    }
    return [measure(name, score, data) for name, score in methods.items()]


def _binary(matrix: Any, users: int, items: int) -> Any:
    from scipy.sparse import csr_matrix

    ones = np.ones(matrix.rows.size, dtype=np.float32)
    return csr_matrix((ones, (matrix.rows, matrix.cols)), shape=(users, items))
