"""Shapley values against an independent computation and a published implementation.

The paths are generated here, deterministically. The independent computation enumerates every
coalition of keys with the factorial weights |S|! (n - |S| - 1)! / n!, over the worth "conversions
of the converting paths whose keys all lie in the coalition". The reference figures are what the
``mta`` package (0.0.9, ``MTA(data=df, allow_loops=True, add_timepoints=False).shapley(normalize=
False)``) printed for the same paths aggregated as "web > app" with conversion and null counts;
it is not a dependency (it pulls in pandas and scikit-learn), so its figures are kept here.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from itertools import combinations
from math import factorial

import pytest

from omnikanal.analytics.attribution import attribute
from omnikanal.analytics.model import NONE, Options, Path, Touch
from omnikanal.analytics.shapley import shapley_credit

CHANNELS = ["web", "app", "pos", "email", "radio", "search"]
MTA_REFERENCE = {
    "app": 88.866667,
    "email": 76.933333,
    "pos": 132.0,
    "radio": 87.933333,
    "search": 78.25,
    "web": 84.016667,
}
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def generated_paths() -> list[Path]:
    """2,000 paths of 1 to 5 touchpoints (repeats allowed), converting with a chance that grows with
    the distinct channels passed and a store visit; each conversion worth 10 plus its index."""
    rng = random.Random(17)
    paths = []
    for i in range(2000):
        n = rng.randint(1, 5)
        keys = [rng.choice(CHANNELS) for _ in range(n)]
        converts = rng.random() < min(0.9, 0.08 * len(set(keys)) + (0.2 if "pos" in keys else 0))
        touches = tuple(Touch(T0 + timedelta(hours=h), c) for h, c in enumerate(keys))
        at = T0 + timedelta(days=1) if converts else None
        paths.append(Path(f"p{i}", touches, at, 10.0 + i % 7 if converts else 0.0))
    return paths


def enumerated(paths: list[Path], worth_of: str) -> dict[str, float]:
    """Shapley values by the definition: every coalition, its marginal contributions, weighted."""
    players = sorted({t.channel for p in paths for t in p.touches})
    n = len(players)
    by_set: dict[frozenset[str], float] = {}
    for p in paths:
        if p.converted:
            key = frozenset(t.channel for t in p.touches)
            by_set[key] = by_set.get(key, 0.0) + (1.0 if worth_of == "conversions" else p.value)

    def worth(coalition: frozenset[str]) -> float:
        return sum(v for s, v in by_set.items() if s <= coalition)

    values = {}
    for player in players:
        others = [x for x in players if x != player]
        total = 0.0
        for size in range(n):
            weight = factorial(size) * factorial(n - size - 1) / factorial(n)
            for coalition in combinations(others, size):
                s = frozenset(coalition)
                total += weight * (worth(s | {player}) - worth(s))
        values[player] = total
    return values


@pytest.mark.parametrize("worth_of", ["conversions", "value"])
def test_the_shapley_values_are_the_ones_of_every_coalition_enumerated(worth_of: str) -> None:
    paths = generated_paths()
    ours = shapley_credit(paths, "channel")
    expected = enumerated(paths, worth_of)
    assert ours.keys() == expected.keys()
    for key, value in expected.items():
        got = ours[key].conversions if worth_of == "conversions" else ours[key].value
        assert got == pytest.approx(value, rel=1e-9)


def test_the_shapley_values_are_the_mta_packages() -> None:
    ours = shapley_credit(generated_paths(), "channel")
    assert {k: round(c.conversions, 6) for k, c in ours.items()} == pytest.approx(MTA_REFERENCE, abs=1e-6)


def test_shapley_credits_every_conversion_once_and_gives_a_path_without_touches_to_none() -> None:
    paths = [*generated_paths(), Path("q", (), T0, 5.0)]
    credit = attribute(paths, "shapley", "channel", Options())
    converted = [p for p in paths if p.converted]
    assert sum(c.conversions for c in credit.values()) == pytest.approx(len(converted))
    assert sum(c.value for c in credit.values()) == pytest.approx(sum(p.value for p in converted))
    assert credit[NONE].conversions == 1.0


def test_a_key_twice_on_a_path_counts_once() -> None:
    touches = (Touch(T0, "web"), Touch(T0, "web"), Touch(T0, "app"))
    credit = shapley_credit([Path("p", touches, T0 + timedelta(hours=1), 10.0)], "channel")
    assert {k: c.conversions for k, c in credit.items()} == {"web": 0.5, "app": 0.5}
