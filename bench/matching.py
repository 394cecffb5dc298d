"""``python -m bench.matching``: probabilistic matching measured in-process (Splink on DuckDB or Spark).

For each size: generated German records (omnikanal.matching.generate, seeded), their cards, the
model trained on them on DuckDB (u by random sampling, m by EM), every candidate pair scored once
(the ``omnikanal matching run`` path without the database) on the chosen backend(s) with that same
model, and the incremental path: single new records matched against the cards that share a blocking
key with them (as the worker does, always on DuckDB). With ``--backend both`` the two engines'
decisions are compared pair by pair. Prints times, counts and quality; nothing passes or fails.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from bench.report import describe_machine, machine
from omnikanal.matching import splink_model
from omnikanal.matching.card import build_card
from omnikanal.matching.evaluate import score
from omnikanal.matching.generate import generate
from omnikanal.matching.pairs import ScoredPair
from omnikanal.matching.store import KEYS

TODAY = date(2026, 1, 1)
MERGE, REVIEW = 0.99, 0.8  # the default thresholds (settings.matching_*_threshold)


@dataclass(frozen=True, slots=True)
class Prediction:
    backend: str
    seconds: float
    pairs: dict[tuple[str, str], ScoredPair]


def decision(probability: float | None) -> str:
    if probability is None or probability < REVIEW:
        return "none"
    return "merge" if probability >= MERGE else "review"


def merges(ids: Iterable[str], pairs: Iterable[ScoredPair]) -> int:
    """How many merges the merge-level pairs make, strongest first (a pair inside a cluster that
    earlier pairs formed already is no merge), as the service decides them."""
    parent = {i: i for i in ids}

    def root(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    made = 0
    for pair in sorted(pairs, key=lambda p: -p.probability):
        if pair.probability < MERGE:
            continue
        a, b = root(pair.left), root(pair.right)
        if a != b:
            parent[b] = a
            made += 1
    return made


def _index(cards: list[dict[str, Any]]) -> dict[tuple[str, str], list[dict[str, Any]]]:
    index: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for card in cards:
        for key in KEYS:
            if card.get(key):
                index[(key, card[key])].append(card)
    return index


def predict(backend: Any, name: str, cards: list[dict[str, Any]], model: Mapping[str, Any]) -> Prediction:
    started = time.perf_counter()
    found = backend.score_within(cards, model, REVIEW)
    return Prediction(name, time.perf_counter() - started, {(p.left, p.right): p for p in found})


def print_table(ids: Sequence[str], runs: Sequence[Prediction]) -> None:
    print(f"           {'backend':<8} {'predict':>9} {'pairs':>9} {'merges':>8} {'reviews':>8}")
    for run in runs:
        reviews = sum(1 for p in run.pairs.values() if decision(p.probability) == "review")
        print(
            f"           {run.backend:<8} {run.seconds:7.1f} s {len(run.pairs):>9,} "
            f"{merges(ids, run.pairs.values()):>8,} {reviews:>8,}"
        )
    if len(runs) == 2:
        print_agreement(*runs)


def print_agreement(one: Prediction, other: Prediction) -> None:
    """Share of pairs (found by either at the review threshold) with the same decision, and the
    largest difference of probability among the pairs both found."""
    keys = set(one.pairs) | set(other.pairs)
    differ = _disagreeing(one, other, keys)
    same = len(keys) - len(differ)
    both = set(one.pairs) & set(other.pairs)
    gaps = [abs(one.pairs[k].probability - other.pairs[k].probability) for k in both]
    weights = [abs(one.pairs[k].weight - other.pairs[k].weight) for k in both]
    print(
        f"           agreement: {same:,} of {len(keys):,} pairs decided alike "
        f"({same / max(len(keys), 1):.4%}); only {one.backend} {len(set(one.pairs) - both):,}, "
        f"only {other.backend} {len(set(other.pairs) - both):,}"
    )
    print(
        f"           score difference: max {max(gaps, default=0.0):.2e} in probability, "
        f"{max(weights, default=0.0):.3f} in match weight; "
        f"{sum(1 for g in gaps if g > 1e-9):,} pairs differ by more than 1e-9 in probability, "
        f"{sum(1 for w in weights if w > 1e-6):,} by more than 1e-6 in weight"
    )
    for key in differ[:5]:  # the pairs decided otherwise, with the comparisons that differ
        a, b = one.pairs.get(key), other.pairs.get(key)
        fields = (
            sorted(f for f in a.contributions if a.contributions[f] != b.contributions.get(f))
            if a and b
            else []
        )
        print(
            f"             {key[0]}/{key[1]}: {one.backend} {a.probability if a else '< 0.8'}, "
            f"{other.backend} {b.probability if b else '< 0.8'}; "
            f"levels differ in {', '.join(fields) or 'unknown'}"
        )


def _disagreeing(
    one: Prediction, other: Prediction, keys: Iterable[tuple[str, str]]
) -> list[tuple[str, str]]:
    def said(run: Prediction, key: tuple[str, str]) -> str:
        return decision(run.pairs[key].probability if key in run.pairs else None)

    return sorted(k for k in keys if said(one, k) != said(other, k))


def incremental(
    cards: list[dict[str, Any]], model: Mapping[str, Any], count: int
) -> None:  # the worker's path: always the in-process DuckDB
    if count <= 0:
        return
    index, counts = _index(cards), splink_model.name_counts(cards)
    newcomers = [
        build_card(r.record_id + "n", r.traits, "DE", TODAY)[0].row() for r in generate(count, seed=99)
    ]
    times = []
    for card in newcomers:
        started = time.perf_counter()
        seen = {c["profile_id"]: c for key in KEYS if card.get(key) for c in index.get((key, card[key]), ())}
        splink_model.score_between([card], list(seen.values()), model, REVIEW, counts, len(cards))
        times.append(time.perf_counter() - started)
    print(
        f"           incremental: {statistics.median(times) * 1000:.0f} ms median per new profile "
        f"(max {max(times) * 1000:.0f} ms, {len(times)} profiles)"
    )


def backends(choice: str, master: str, memory: str) -> list[tuple[str, Any]]:
    chosen: list[tuple[str, Any]] = []
    if choice in ("duckdb", "both"):
        chosen.append(("duckdb", splink_model))
    if choice in ("spark", "both"):
        from omnikanal.matching.spark_backend import SparkBackend
        from omnikanal.spark import session

        started = time.perf_counter()
        session(master, memory)
        took = time.perf_counter() - started
        print(f"Spark {master}, driver memory {memory}: session started in {took:.1f} s")
        chosen.append(("spark", SparkBackend(master, memory)))
    return chosen


def print_blocks(cards: list[dict[str, Any]], sample: float) -> None:
    """The candidate pairs each blocking rule adds (Splink's blocking analysis, exact when ``sample``
    is 1, else estimated from that share of the records), then those of each training rule alone."""
    from splink.blocking_analysis import count_comparisons_from_blocking_rules

    started = time.perf_counter()
    _, table = splink_model.in_duckdb(splink_model.with_frequencies(cards))
    counted = count_comparisons_from_blocking_rules(
        table,
        blocking_rules=list(splink_model.BLOCKING),
        link_type="dedupe_only",
        unique_id_column_name="profile_id",
        record_sample_proportion=sample,
    )
    for rule in counted:
        print(f"           blocking {rule['blocking_rule']:<58} +{rule['marginal_comparison_count']:>12,}")
    print(f"           {'all prediction blocks':<67} {counted[-1]['cumulative_comparison_count']:>12,} pairs")
    for training in splink_model.TRAINING_BLOCKS:
        (one,) = count_comparisons_from_blocking_rules(
            table,
            blocking_rules=training,
            link_type="dedupe_only",
            unique_id_column_name="profile_id",
            record_sample_proportion=sample,
        )
        print(f"           training {one['blocking_rule']:<58} {one['marginal_comparison_count']:>13,}")
    print(f"           (blocking analysis {time.perf_counter() - started:.1f} s, sample {sample:g})")


def run(size: int, args: argparse.Namespace, engines: list[tuple[str, Any]]) -> None:
    records = generate(size, seed=5)
    started = time.perf_counter()
    cards = [build_card(r.record_id, r.traits, "DE", TODAY)[0].row() for r in records]
    carded = time.perf_counter() - started
    print(f"{size:>9,} records: {len({r.person_id for r in records}):,} people")
    print_blocks(cards, args.blocks_sample)
    if args.blocks_only:
        return
    started = time.perf_counter()
    model = splink_model.train(cards, max_pairs=args.training_pairs)
    trained = time.perf_counter() - started
    print(f"{size:>9,} records: cards {carded:6.1f} s, training (DuckDB) {trained:6.1f} s")
    runs = [predict(engine, name, cards, model) for name, engine in engines]
    for one in runs:
        quality = score(records, list(one.pairs.values()), [REVIEW, MERGE])
        print(f"           {one.backend}: matching {one.seconds:.1f} s ({size / one.seconds:,.0f} records/s)")
        for s in quality:
            print(
                f"             at {s.threshold}: precision {s.precision:.3f} recall {s.recall:.3f} "
                f"F1 {s.f1:.3f}"
            )
    print_table([str(c["profile_id"]) for c in cards], runs)
    incremental(cards, model, args.incremental)


def main() -> None:
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[attr-defined]  # each phase as it ends
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="20000,100000", help="record counts, comma-separated")
    parser.add_argument("--backend", choices=("duckdb", "spark", "both"), default="duckdb")
    parser.add_argument("--spark-master", default="local[2]", help="Spark master (default local[2])")
    parser.add_argument("--spark-memory", default="4g", help="Spark driver memory (default 4g)")
    parser.add_argument("--incremental", type=int, default=20, help="single new profiles timed per size")
    parser.add_argument("--training-pairs", type=float, default=2e6, help="random pairs for u")
    parser.add_argument(
        "--blocks-sample", type=float, default=1.0, help="share of records for the blocking analysis"
    )
    parser.add_argument("--blocks-only", action="store_true", help="only count the blocked pairs")
    args = parser.parse_args()
    print(describe_machine(machine()))
    engines = backends(args.backend, args.spark_master, args.spark_memory)
    for size in (int(s) for s in args.sizes.split(",")):
        run(size, args, engines)


if __name__ == "__main__":
    main()
