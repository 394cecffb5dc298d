"""``python -m bench.matching``: probabilistic matching measured in-process (Splink on DuckDB).

For each size: generated German records (omnikanal.matching.generate, seeded), their cards, the
model trained on them (u by random sampling, m by EM), every candidate pair scored once (the
``omnikanal matching run`` path without the database), and the incremental path: single new
records matched against the cards that share a blocking key with them (as the worker does).
Prints records/s and the quality at the default thresholds; nothing passes or fails.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections import defaultdict
from datetime import date
from typing import Any

from bench.report import describe_machine, machine
from omnikanal.matching import splink_model
from omnikanal.matching.card import build_card
from omnikanal.matching.evaluate import score
from omnikanal.matching.generate import generate
from omnikanal.matching.store import KEYS

TODAY = date(2026, 1, 1)


def _index(cards: list[dict[str, Any]]) -> dict[tuple[str, str], list[dict[str, Any]]]:
    index: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for card in cards:
        for key in KEYS:
            if card.get(key):
                index[(key, card[key])].append(card)
    return index


def run(size: int, incremental: int, training_pairs: float) -> None:
    records = generate(size, seed=5)
    started = time.perf_counter()
    cards = [build_card(r.record_id, r.traits, "DE", TODAY)[0].row() for r in records]
    carded = time.perf_counter() - started
    started = time.perf_counter()
    model = splink_model.train(cards, max_pairs=training_pairs)
    trained = time.perf_counter() - started
    started = time.perf_counter()
    pairs = splink_model.score_within(cards, model, 0.8)
    scored = time.perf_counter() - started
    quality = {s.threshold: s for s in score(records, pairs, [0.8, 0.99])}
    print(
        f"{size:>9,} records: cards {carded:6.1f} s, training {trained:6.1f} s, "
        f"matching {scored:6.1f} s ({size / scored:,.0f} records/s), {len(pairs):,} pairs >= 0.8"
    )
    for threshold, s in quality.items():
        print(f"           at {threshold}: precision {s.precision:.3f} recall {s.recall:.3f} F1 {s.f1:.3f}")
    index, counts = _index(cards), splink_model.name_counts(cards)
    newcomers = [
        build_card(r.record_id + "n", r.traits, "DE", TODAY)[0].row() for r in generate(incremental, seed=99)
    ]
    times = []
    for card in newcomers:
        started = time.perf_counter()
        seen = {c["profile_id"]: c for key in KEYS if card.get(key) for c in index.get((key, card[key]), ())}
        splink_model.score_between([card], list(seen.values()), model, 0.8, counts, len(cards))
        times.append(time.perf_counter() - started)
    print(
        f"           incremental: {statistics.median(times) * 1000:.0f} ms median per new profile "
        f"(max {max(times) * 1000:.0f} ms, {len(times)} profiles)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="20000,100000", help="record counts, comma-separated")
    parser.add_argument("--incremental", type=int, default=20, help="single new profiles timed per size")
    parser.add_argument("--training-pairs", type=float, default=2e6, help="random pairs for u")
    args = parser.parse_args()
    print(describe_machine(machine()))
    for size in (int(s) for s in args.sizes.split(",")):
        run(size, args.incremental, args.training_pairs)


if __name__ == "__main__":
    main()
