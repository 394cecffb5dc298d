"""``python -m bench.recommend``: training time and answer latency of recommendations.

1. **Training, pure**: a generated history (default 1,000,000 interactions of 100,000 customers
   over 5,000 products: Zipf-like popularity within categories, repeat buying of consumables,
   returns) to the confidence matrix and the ALS model, timed without the database.
2. **Training through the hub**: the same history written straight into a SQLite hub (catalogue and
   stock as ``bench.commerce`` seeds them, the profiles, the interactions), then
   ``RecommendService.train``, timed: reading, fitting and storing the model.
3. **Latency**, in process (no HTTP): recommendations for consenting customers with the store's
   stock filter, for customers without consent, and the scan in store without a customer, with one
   without consent and with personal suggestions.

Prints figures; nothing passes or fails. Targets: recommendation p99 < 20 ms.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from sqlalchemy import insert

from bench.commerce import ean, seed
from bench.report import describe_machine, machine
from omnikanal.consent.tables import consent_state
from omnikanal.db.engine import make_engine, write_tx
from omnikanal.db.migrate import upgrade
from omnikanal.hub import build_hub
from omnikanal.profiles.tables import profiles
from omnikanal.recommend import generate
from omnikanal.recommend.model import TrainParams
from omnikanal.recommend.tables import recommend_interactions
from omnikanal.recommend.train import build_matrix, fit
from omnikanal.settings import Settings

CHUNK = 20_000


def _p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _timed(calls: int, call: Callable[[int], Any]) -> list[float]:
    out = []
    for n in range(calls):
        started = time.perf_counter()
        call(n)
        out.append((time.perf_counter() - started) * 1000)
    return out


def _seed_people(url: str, rows: list[generate.Interaction], consenting: list[str], stores: int) -> None:
    now = datetime.now(UTC)
    engine = make_engine(Settings(), url)
    people = sorted({r.profile_id for r in rows})
    with write_tx(engine) as conn:
        for start in range(0, len(people), CHUNK):
            conn.execute(
                insert(profiles),
                [
                    {
                        "id": p,
                        "state": "live",
                        "merged_into": None,
                        "created_at": now,
                        "updated_at": now,
                        "traits": {},
                        "stats": {},
                        "event_count": 0,
                    }
                    for p in people[start : start + CHUNK]
                ],
            )
        for start in range(0, len(rows), CHUNK):
            conn.execute(
                insert(recommend_interactions),
                [
                    {
                        "profile_id": r.profile_id,
                        "sku": None,
                        "product_id": r.product_id,
                        "kind": r.kind,
                        "weight": r.weight,
                        "quantity": 1,
                        "channel": "store" if r.store_id else "web",
                        # the generator's stores are store-<n>; bench.commerce's are store-<nn>
                        "store_id": f"store-{int(r.store_id.split('-')[1]) % stores:02d}"
                        if r.store_id
                        else None,
                        "at": r.at,
                    }
                    for r in rows[start : start + CHUNK]
                ],
            )
        conn.execute(
            insert(consent_state),
            [
                {
                    "profile_id": p,
                    "purpose": "personalisation",
                    "status": "granted",
                    "record_id": f"bench-{p}",
                    "occurred_at": now,
                }
                for p in consenting
            ],
        )
    engine.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.recommend", description=__doc__)
    parser.add_argument("--interactions", type=int, default=1_000_000)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--products", type=int, default=5_000)
    parser.add_argument("--stores", type=int, default=10)
    parser.add_argument("--calls", type=int, default=1000)
    args = parser.parse_args(argv)
    console = Console()
    console.print(describe_machine(machine()))
    rng = random.Random(5)
    shop = generate.catalogue(args.products)
    started = time.perf_counter()
    rows = generate.history(args.interactions, args.customers, shop, stores=args.stores)
    console.print(f"generated {len(rows):,} interactions in {time.perf_counter() - started:.1f} s")
    figures = Table(title="recommend")
    figures.add_column("what")
    figures.add_column("figure", justify="right")

    started = time.perf_counter()
    matrix = build_matrix(rows, {}, dict(shop.categories), {r.profile_id: r.profile_id for r in rows})
    built = time.perf_counter() - started
    trained = fit(matrix, TrainParams())
    figures.add_row("interactions", f"{len(rows):,}")
    figures.add_row("customer-product pairs", f"{matrix.weights.size:,}")
    figures.add_row("matrix build (s)", f"{built:.2f}")
    figures.add_row("ALS fit, 32 factors, 15 iterations (s)", f"{trained.figures['seconds']:.2f}")

    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        engine = make_engine(Settings(), url)
        upgrade(engine)
        engine.dispose()
        seed(url, args.products, args.stores, args.products, 0, rng)
        people = sorted({r.profile_id for r in rows})
        consenting = rng.sample(people, min(2000, len(people)))
        others = [p for p in rng.sample(people, min(4000, len(people))) if p not in set(consenting)]
        _seed_people(url, rows, consenting, args.stores)
        hub = build_hub(Settings(database_url=url, data_dir=Path(tmp), auto_migrate=False))
        try:
            started = time.perf_counter()
            model = hub.recommend.train()
            figures.add_row(
                "train through the hub: read, fit, store (s)", f"{time.perf_counter() - started:.2f}"
            )
            figures.add_row("model figures", ", ".join(f"{k} {v}" for k, v in model["figures"].items()))
            hub.recommend.recommend(consenting[0], 10, "store-00")  # loads the model once
            for label, who, store in (
                ("recommendations, consent, store stock", consenting, "store-00"),
                ("recommendations, consent, any", consenting, None),
                ("recommendations, no consent, store stock", others, "store-00"),
            ):

                def ask(n: int, w: list[str] = who, s: str | None = store) -> Any:
                    return hub.recommend.recommend(w[n % len(w)], 10, s)

                times = _timed(args.calls, ask)
                figures.add_row(
                    f"{label}: p50 / p99 (ms)", f"{statistics.median(times):.2f} / {_p(times, 0.99):.2f}"
                )
            gtins = ["0" + ean(i) for i in range(50)]
            scan = hub.commerce.scan.scan
            plain = _timed(args.calls, lambda n: scan(gtins[n % 50], "store-00", None))
            personal = _timed(
                args.calls, lambda n: scan(gtins[n % 50], "store-00", consenting[n % len(consenting)])
            )
            unconsented = _timed(
                args.calls, lambda n: scan(gtins[n % 50], "store-00", others[n % len(others)])
            )
            answer = scan(gtins[0], "store-00", consenting[0])
            figures.add_row(
                "scan, no customer: p50 / p99 (ms)", f"{statistics.median(plain):.2f} / {_p(plain, 0.99):.2f}"
            )
            figures.add_row(
                "scan, customer without consent (records the touchpoint): p50 / p99 (ms)",
                f"{statistics.median(unconsented):.2f} / {_p(unconsented, 0.99):.2f}",
            )
            figures.add_row(
                "scan, personal suggestions (records the touchpoint): p50 / p99 (ms)",
                f"{statistics.median(personal):.2f} / {_p(personal, 0.99):.2f}",
            )
            figures.add_row("scan suggestions personal", str(answer["suggestions_personal"]))
        finally:
            hub.close()
    console.print(figures)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
