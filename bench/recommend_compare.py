"""``python -m bench.recommend_compare``: the production model against other models of implicit
feedback, by measured quality, on a generated history.

The history is ``omnikanal.recommend.generate``'s (default 1,000,000 interactions of 100,000
customers over 5,000 products: Zipf-like popularity within categories, repeat buying of
consumables, returns), split by time as ``omnikanal recommend evaluate`` splits the hub's (the
earlier 80 % to train, up to 5,000 customers scored on what they then touched that they had not
before). Every candidate learns from the same confidence matrix (the production model's
``1 + alpha * log1p(weight)``) and is scored by the same code: NDCG@10, recall@10, coverage of
the catalogue, and its training time.

Candidates: implicit's ALS (in production), its BPR, its logistic MF and its BM25 item-item
neighbours, and LightFM (WARP loss) from the second library, ``rectools-lightfm`` (the rectools
team's maintained LightFM): ``pip install -e '.[bench-lightfm]'``; without it its row says so.

Prints figures; nothing passes or fails.
"""

from __future__ import annotations

import argparse
import time
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray
from rich.console import Console
from rich.table import Table

from bench.report import describe_machine, machine
from omnikanal.recommend import generate
from omnikanal.recommend.evaluate import Score, Scorer, Split, baselines, measure, prepare
from omnikanal.recommend.model import TrainParams
from omnikanal.recommend.train import fit

Fitted = tuple[Scorer, float]


def _confidence(data: Split, params: TrainParams) -> Any:
    from scipy.sparse import csr_matrix

    m = data.matrix
    values = (1.0 + params.alpha * np.log1p(m.weights)).astype(np.float32)
    return csr_matrix((values, (m.rows, m.cols)), shape=(len(m.users), len(m.items)))


def _als(data: Split, params: TrainParams) -> Fitted:
    trained = fit(data.matrix, params)
    users, items = trained.user_factors, trained.item_factors
    return (lambda u: items @ users[u]), float(trained.figures["seconds"])


def _implicit(model: Any, data: Split, params: TrainParams) -> Fitted:
    """A factor model of implicit's (fit on the confidences, scored by its factors)."""
    from threadpoolctl import threadpool_limits

    user_items = _confidence(data, params)
    started = time.perf_counter()
    with threadpool_limits(1, "blas"):
        model.fit(user_items, show_progress=False)
    seconds = time.perf_counter() - started
    users = np.asarray(model.user_factors, dtype=np.float32)
    items = np.asarray(model.item_factors, dtype=np.float32)
    return (lambda u: items @ users[u]), seconds


def _bpr(data: Split, params: TrainParams) -> Fitted:
    from implicit.cpu.bpr import BayesianPersonalizedRanking

    model = BayesianPersonalizedRanking(
        factors=64, learning_rate=0.05, regularization=0.01, iterations=100, random_state=params.seed
    )
    return _implicit(model, data, params)


def _lmf(data: Split, params: TrainParams) -> Fitted:
    from implicit.cpu.lmf import LogisticMatrixFactorization

    model = LogisticMatrixFactorization(factors=32, iterations=30, random_state=params.seed)
    return _implicit(model, data, params)


def _bm25(data: Split, params: TrainParams) -> Fitted:
    """Item-item neighbours (BM25-weighted co-occurrence, the 100 nearest per product)."""
    from implicit.nearest_neighbours import BM25Recommender

    user_items = _confidence(data, params)
    model = BM25Recommender(K=100)
    started = time.perf_counter()
    with warnings.catch_warnings():  # its BM25 weighting hands its own fit a COO matrix
        warnings.simplefilter("ignore")
        model.fit(user_items, show_progress=False)
    seconds = time.perf_counter() - started
    similarity = model.similarity.tocsr()

    def score(u: int) -> NDArray[np.float32]:
        return np.asarray((user_items[u] @ similarity).todense()).ravel().astype(np.float32)

    return score, seconds


def _lightfm(data: Split, params: TrainParams, components: int = 32, epochs: int = 20) -> Fitted:
    """LightFM with the WARP loss: the interactions as positives, log(1 + weight) as their weight."""
    from lightfm import LightFM
    from scipy.sparse import coo_matrix

    m = data.matrix
    shape = (len(m.users), len(m.items))
    positives = coo_matrix((np.ones(m.rows.size, np.float32), (m.rows, m.cols)), shape=shape)
    weights = coo_matrix((np.log1p(m.weights).astype(np.float32), (m.rows, m.cols)), shape=shape)
    model = LightFM(no_components=components, loss="warp", learning_rate=0.05, random_state=params.seed)
    started = time.perf_counter()
    model.fit(positives, sample_weight=weights, epochs=epochs, num_threads=2)
    seconds = time.perf_counter() - started
    item_bias, items = model.get_item_representations()
    _, users = model.get_user_representations()
    items = np.asarray(items, dtype=np.float32)
    users = np.asarray(users, dtype=np.float32)
    bias = np.asarray(item_bias, dtype=np.float32)
    return (lambda u: items @ users[u] + bias), seconds


def _row(found: Score) -> tuple[str, str, str, str]:
    return found.method, f"{found.ndcg:.4f}", f"{found.recall:.4f}", f"{found.coverage:.3f}"


CANDIDATES: dict[str, Callable[[Split, TrainParams], Fitted]] = {
    "implicit ALS (production)": _als,
    "implicit BPR": _bpr,
    "implicit logistic MF": _lmf,
    "implicit BM25 item-item": _bm25,
    "LightFM WARP (rectools-lightfm)": _lightfm,
    "LightFM WARP, 64 factors, 40 epochs": lambda data, params: _lightfm(data, params, 64, 40),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.recommend_compare", description=__doc__)
    parser.add_argument("--interactions", type=int, default=1_000_000)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--products", type=int, default=5_000)
    parser.add_argument("--only", nargs="*", help="candidates whose name contains one of these words")
    args = parser.parse_args(argv)
    console = Console()
    console.print(describe_machine(machine()))
    shop = generate.catalogue(args.products)
    rows = generate.history(args.interactions, args.customers, shop)
    data = prepare(rows, dict(shop.categories))
    if data is None:
        console.print("no interactions before the split")
        return 1
    console.print(
        f"{len(rows):,} interactions; {data.matrix.weights.size:,} customer-product pairs before the "
        f"split; {len(data.chosen):,} customers scored"
    )
    table = Table(title="recommend: models of implicit feedback, time-based split, @10")
    for column in ("method", "NDCG@10", "recall@10", "coverage", "train (s)"):
        table.add_column(column, justify="left" if column == "method" else "right")
    params = TrainParams()
    for name, make in CANDIDATES.items():
        if args.only and not any(w.lower() in name.lower() for w in args.only):
            continue
        try:
            score, seconds = make(data, params)
        except ImportError as missing:
            table.add_row(name, "-", "-", "-", f"not installed ({missing.name})")
            continue
        table.add_row(*_row(measure(name, score, data)), f"{seconds:.1f}")
    for name, score in baselines(data).items():
        table.add_row(*_row(measure(name, score, data)), "-")
    console.print(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
