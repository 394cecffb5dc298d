"""Rule-based attribution models over paths: each gives a converting path's one conversion (and its
value) to the keys of its touchpoints in fractions that sum to one.

Paths that did not convert are ignored here; only the Markov model (markov.py) learns from them.
Shapley values are in shapley.py.
A converting path without any touchpoint credits the key ``(none)``, so conversions always add up.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from omnikanal.analytics.markov import markov_credit
from omnikanal.analytics.model import NONE, Credit, Dimension, Options, Path, Touch
from omnikanal.analytics.shapley import shapley_credit

# weights of one path's touches (same length as the touches), summing to 1
Weights = Callable[[Path, Options], list[float]]


def first_touch(path: Path, _: Options) -> list[float]:
    return [1.0] + [0.0] * (len(path.touches) - 1)


def last_touch(path: Path, _: Options) -> list[float]:
    return [0.0] * (len(path.touches) - 1) + [1.0]


def last_non_direct(path: Path, _: Options) -> list[float]:
    """The last touch with a marketing source; the last touch when every one was direct."""
    weights = [0.0] * len(path.touches)
    chosen = next((i for i in range(len(path.touches) - 1, -1, -1) if not path.touches[i].direct), -1)
    weights[chosen] = 1.0
    return weights


def linear(path: Path, _: Options) -> list[float]:
    n = len(path.touches)
    return [1.0 / n] * n


def time_decay(path: Path, options: Options) -> list[float]:
    """Halves a touch's weight for every half-life between it and the conversion."""
    assert path.converted_at is not None
    half = options.half_life.total_seconds()
    raw = [0.5 ** ((path.converted_at - t.at).total_seconds() / half) for t in path.touches]
    total = sum(raw)
    return [w / total for w in raw]


def position_based(path: Path, _: Options) -> list[float]:
    """40 % to the first touch, 40 % to the last, 20 % shared by those between (U-shaped); a path of
    two touches splits 50/50, one of one touch gives it all."""
    n = len(path.touches)
    if n == 1:
        return [1.0]
    if n == 2:
        return [0.5, 0.5]
    middle = 0.2 / (n - 2)
    return [0.4] + [middle] * (n - 2) + [0.4]


RULES: dict[str, Weights] = {
    "first_touch": first_touch,
    "last_touch": last_touch,
    "last_non_direct": last_non_direct,
    "linear": linear,
    "time_decay": time_decay,
    "position_based": position_based,
}


def rule_credit(
    paths: Iterable[Path], dimension: Dimension, weights: Weights, options: Options
) -> dict[str, Credit]:
    credit: dict[str, Credit] = {}
    for path in paths:
        if not path.converted:
            continue
        if not path.touches:
            _add(credit, NONE, 1.0, path.value)
            continue
        for touch, weight in zip(path.touches, weights(path, options), strict=True):
            if weight:
                _add(credit, touch.key(dimension), weight, weight * path.value)
    return credit


def _add(credit: dict[str, Credit], key: str, conversions: float, value: float) -> None:
    entry = credit.setdefault(key, Credit())
    entry.conversions += conversions
    entry.value += value


def attribute(paths: Sequence[Path], model: str, dimension: Dimension, options: Options) -> dict[str, Credit]:
    """Credit per key of the dimension under one model."""
    if model == "markov":
        return markov_credit(paths, dimension, options.markov_order)
    if model == "shapley":
        return shapley_credit(paths, dimension)
    return rule_credit(paths, dimension, RULES[model], options)


def keys_of(touches: Sequence[Touch], dimension: Dimension) -> list[str]:
    return [t.key(dimension) for t in touches]
