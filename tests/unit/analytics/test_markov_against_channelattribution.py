"""The Markov removal effects against the published ChannelAttribution package (Python, 2.2.5).

The paths are generated here, deterministically; the reference figures below are what
``ChannelAttribution.markov_model(df, "path", "conv", var_null="null", order=k, sep=">",
nsim_start=1_000_000, seed=1)`` printed for the same paths (aggregated as "web > app > pos" with
conversion and null counts). The package is not a dependency: it builds from C++ sources and needs
pandas and matplotlib, so its figures are kept here rather than computed in every run.

ChannelAttribution estimates removal effects by simulating walks through the chain, and a walk
that has not ended after the longest observed path plus two steps counts as not converting. With
that step limit our exact solution gives its figures within simulation noise, for orders 1 to 3;
without the limit (how reports run) the chain is solved to the end.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from omnikanal.analytics.markov import removal_effects
from omnikanal.analytics.model import Path, Touch

CHANNELS = ["web", "app", "pos", "email", "radio"]
CONVERSION_CHANCE = {"web": 0.1, "app": 0.15, "pos": 0.3, "email": 0.05, "radio": 0.02}
REFERENCE = {
    1: {"radio": 0.393271, "email": 0.381525, "app": 0.444143, "web": 0.416674, "pos": 0.493780},
    2: {"radio": 0.444561, "email": 0.461764, "app": 0.527764, "web": 0.508976, "pos": 0.607468},
    3: {"radio": 0.483353, "email": 0.496969, "app": 0.593950, "web": 0.558959, "pos": 0.676583},
}
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def generated_paths() -> list[Path]:
    """3,000 paths of 1 to 5 touchpoints (never the same channel twice in a row), converting with a
    chance that grows with the channels they passed."""
    rng = random.Random(11)
    paths = []
    for _ in range(3000):
        n = rng.randint(1, 5)
        keys: list[str] = []
        while len(keys) < n:
            channel = rng.choice(CHANNELS)
            if not keys or keys[-1] != channel:
                keys.append(channel)
        converts = rng.random() < min(0.9, sum(CONVERSION_CHANCE[c] for c in keys))
        touches = tuple(Touch(T0 + timedelta(hours=i), c) for i, c in enumerate(keys))
        paths.append(
            Path("p", touches, T0 + timedelta(days=1) if converts else None, 1.0 if converts else 0.0)
        )
    return paths


@pytest.mark.parametrize("order", [1, 2, 3])
def test_with_its_step_limit_the_removal_effects_are_channelattributions(order: int) -> None:
    paths = generated_paths()
    limit = max(len(p.touches) for p in paths) + 2
    ours = removal_effects(paths, "channel", order, limit)
    assert ours.keys() == REFERENCE[order].keys()
    for channel, expected in REFERENCE[order].items():
        assert ours[channel] == pytest.approx(expected, abs=0.01), channel


def test_solved_to_the_end_the_chain_credits_more_than_the_truncated_simulation() -> None:
    paths = generated_paths()
    exact = removal_effects(paths, "channel", 1)
    assert all(exact[c] > REFERENCE[1][c] for c in CHANNELS)
