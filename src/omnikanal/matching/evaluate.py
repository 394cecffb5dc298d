"""Quality on labelled records: precision, recall and F1 of pairs and of clusters at the thresholds.

Labelled records come from the generator or from a CSV file with a ``record_id`` and a
``person_id`` column (the truth) and trait columns (firstName, lastName, birthday, email, phone,
street, postalCode, city). No hub database is touched: the model is trained on the records
themselves, without their labels, as the hub trains on its profiles.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from itertools import combinations
from typing import Any

from omnikanal.matching import splink_model
from omnikanal.matching.card import build_card
from omnikanal.matching.generate import Record
from omnikanal.matching.pairs import ScoredPair

ADDRESS_COLUMNS = {"street": "street", "postalCode": "postalCode", "city": "city"}
REQUIRED = ("record_id", "person_id")


@dataclass(frozen=True, slots=True)
class Scores:
    threshold: float
    predicted: int
    true_pairs: int
    precision: float
    recall: float
    f1: float
    cluster_precision: float
    cluster_recall: float
    cluster_f1: float


def _f1(precision: float, recall: float) -> float:
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0


def read_labelled(text: str) -> list[Record]:
    """Records from a labelled CSV; a missing column or a row without truth is a ValueError."""
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in REQUIRED if c not in (reader.fieldnames or [])]
    if missing:
        raise ValueError(f"the file has no column {', '.join(missing)}")
    records = []
    for number, row in enumerate(reader, start=2):
        if not row.get("record_id") or not row.get("person_id"):
            raise ValueError(f"line {number}: record_id and person_id are required")
        traits: dict[str, Any] = {
            k: v for k, v in row.items() if k not in REQUIRED and k not in ADDRESS_COLUMNS and v
        }
        traits["address"] = {ADDRESS_COLUMNS[k]: v for k, v in row.items() if k in ADDRESS_COLUMNS and v}
        records.append(Record(row["record_id"], row["person_id"], traits))
    return records


def true_pairs(records: Iterable[Record]) -> set[tuple[str, str]]:
    by_person: dict[str, list[str]] = {}
    for r in records:
        by_person.setdefault(r.person_id, []).append(r.record_id)
    return {pair for ids in by_person.values() for pair in combinations(sorted(ids), 2)}


def _clusters(ids: Iterable[str], links: Iterable[tuple[str, str]]) -> dict[str, str]:
    parent = {i: i for i in ids}

    def find(x: str) -> str:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in links:
        parent[find(a)] = find(b)
    return {i: find(i) for i in parent}


def score(
    records: Sequence[Record], pairs: Sequence[ScoredPair], thresholds: Sequence[float]
) -> list[Scores]:
    truth = true_pairs(records)
    ids = [r.record_id for r in records]
    out = []
    for threshold in thresholds:
        predicted = {(p.left, p.right) for p in pairs if p.probability >= threshold}
        hits = len(predicted & truth)
        precision = hits / len(predicted) if predicted else 1.0
        recall = hits / len(truth) if truth else 1.0
        # Clusters: what merging every predicted pair would make, compared as same-cluster pairs.
        cluster_of = _clusters(ids, predicted)
        members: dict[str, list[str]] = {}
        for rid, root in cluster_of.items():
            members.setdefault(root, []).append(rid)
        clustered = {pair for group in members.values() for pair in combinations(sorted(group), 2)}
        c_hits = len(clustered & truth)
        c_precision = c_hits / len(clustered) if clustered else 1.0
        c_recall = c_hits / len(truth) if truth else 1.0
        out.append(
            Scores(
                threshold,
                len(predicted),
                len(truth),
                precision,
                recall,
                _f1(precision, recall),
                c_precision,
                c_recall,
                _f1(c_precision, c_recall),
            )
        )
    return out


def evaluate(
    records: Sequence[Record],
    thresholds: Sequence[float],
    region: str = "DE",
    today: date | None = None,
    model: Mapping[str, Any] | None = None,
) -> list[Scores]:
    today = today or date(2026, 1, 1)
    cards = [build_card(r.record_id, r.traits, region, today)[0].row() for r in records]
    model = model or splink_model.train(cards)
    pairs = splink_model.score_within(cards, model, min(thresholds))
    return score(records, pairs, thresholds)
