"""Data-driven attribution: the removal effect of a Markov chain of order 1 to 3 over all paths.

Every path (converted or not) is a walk from a start state through its touchpoints' keys to one of
two absorbing states, conversion or null. The transition probabilities are the counts of each step
over all paths. A key's removal effect is the share of the chain's conversion probability that is
lost when every state holding that key leads to null instead, solved over the whole transition
matrix (as the ChannelAttribution package computes it), not summed over the observed paths. The
conversions and value are divided in proportion to the removal effects.

In a chain of order k a state is the last k keys seen (fewer at a path's beginning).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence

from omnikanal.analytics.model import Credit, Dimension, Path

State = tuple[str, ...]
START: State = ("(start)",)
CONVERSION: State = ("(conversion)",)
NULL: State = ("(null)",)
# a distinct path: its keys in order, whether it converted, how many paths took it
Walk = tuple[tuple[str, ...], bool, int]
# touches counted by an engine: how deep into its path the touch is (0 to 3; -1 for converting
# paths without touches), its key and the keys of the three touches before it (None before the
# path's start), whether it ends its path, whether the path converted, how many such touches
Transition = tuple[int, tuple[str | None, ...], bool, bool, int]
# Gauss-Seidel sweeps: every walk ends in an absorbing state, so the sweeps converge; the paths'
# graph is close to acyclic, so few are needed in practice.
MAX_SWEEPS = 10_000
TOLERANCE = 1e-13


def walks(paths: Iterable[Path], dimension: Dimension) -> list[Walk]:
    """The paths as distinct walks (their keys in order, converted or not) with their counts."""
    counted: Counter[tuple[tuple[str, ...], bool]] = Counter(
        (tuple(t.key(dimension) for t in p.touches), p.converted) for p in paths
    )
    return [(keys, converted, n) for (keys, converted), n in counted.items()]


def transitions(paths: Sequence[Path], dimension: Dimension, order: int) -> dict[State, dict[State, float]]:
    """Probabilities of each step between states, counted over the paths."""
    return chain(walks(paths, dimension), order)


def chain(counted: Iterable[Walk], order: int) -> dict[State, dict[State, float]]:
    """Probabilities of each step between states, counted over walks with their counts. The walks
    are taken in sorted order, so the chain (and the order in which it is solved) is the same
    whichever engine counted them."""
    counts: dict[State, dict[State, int]] = defaultdict(lambda: defaultdict(int))
    for keys, converted, n in sorted(counted):
        state = START
        for i in range(len(keys)):
            following = tuple(keys[max(0, i + 1 - order) : i + 1])
            counts[state][following] += n
            state = following
        counts[state][CONVERSION if converted else NULL] += n
    return _probabilities(counts)


def counted_chain(counted: Iterable[Transition], order: int) -> dict[State, dict[State, float]]:
    """The chain of ``chain`` from touches counted with the keys before them (one count serves
    the orders 1 to 3): the same counts of each step, so the same probabilities."""
    counts: dict[State, dict[State, int]] = defaultdict(lambda: defaultdict(int))
    for depth, keys, ends, converted, n in counted:
        if depth < 0:
            counts[START][CONVERSION] += n
            continue
        # keys[j] is the key j touches back; a state is the last ``order`` keys, oldest first
        following: State = tuple(reversed(keys[: min(depth, order - 1) + 1]))  # type: ignore[arg-type]
        before: State = tuple(reversed(keys[1 : min(depth, order) + 1])) if depth else START  # type: ignore[arg-type]
        counts[before][following] += n
        if ends:
            counts[following][CONVERSION if converted else NULL] += n
    return _probabilities(counts)


def _probabilities(counts: dict[State, dict[State, int]]) -> dict[State, dict[State, float]]:
    out: dict[State, dict[State, float]] = {}
    for state, row in counts.items():
        total = sum(row.values())
        out[state] = {to: n / total for to, n in row.items()}
    return out


def conversion_probability(
    chain: dict[State, dict[State, float]], removed: str | None = None, max_steps: int | None = None
) -> float:
    """The probability that a walk from the start ends in conversion; with a key removed, every
    state holding it is a dead end (null).

    ``max_steps`` counts a walk that has not ended after so many steps as not converting: what the
    simulation of the ChannelAttribution package does (its limit is the longest observed path plus
    two steps); the tests use it to compare with that package's figures. Without it the chain is
    solved to the end.
    """
    value: dict[State, float] = dict.fromkeys(chain, 0.0)
    value[CONVERSION] = 1.0
    value[NULL] = 0.0
    states = [s for s in chain if removed is None or removed not in s]
    if max_steps is not None:
        return _within_steps(chain, value, states, removed, max_steps)
    for _ in range(MAX_SWEEPS):
        change = 0.0
        for state in states:
            new = 0.0
            for to, p in chain[state].items():
                if removed is not None and removed in to and to not in (CONVERSION, NULL):
                    continue
                new += p * value.get(to, 0.0)
            change = max(change, abs(new - value[state]))
            value[state] = new
        if change < TOLERANCE:
            break
    return value.get(START, 0.0)


def _within_steps(
    chain: dict[State, dict[State, float]],
    value: dict[State, float],
    states: list[State],
    removed: str | None,
    max_steps: int,
) -> float:
    """Conversion probability of walks of at most ``max_steps`` steps (a sweep per step)."""
    for _ in range(max_steps):
        before = dict(value)
        for state in states:
            value[state] = sum(
                p * before.get(to, 0.0)
                for to, p in chain[state].items()
                if removed is None or removed not in to or to in (CONVERSION, NULL)
            )
    return value.get(START, 0.0)


def removal_effects(
    paths: Sequence[Path], dimension: Dimension, order: int, max_steps: int | None = None
) -> dict[str, float]:
    return walk_effects(walks(paths, dimension), order, max_steps)


def walk_effects(counted: Sequence[Walk], order: int, max_steps: int | None = None) -> dict[str, float]:
    """Each key's removal effect in the chain of the walks."""
    return chain_effects(chain(counted, order), max_steps)


def chain_effects(full: dict[State, dict[State, float]], max_steps: int | None = None) -> dict[str, float]:
    """Each key's removal effect in a chain (its keys are those of its states)."""
    base = conversion_probability(full, max_steps=max_steps)
    if base <= 0:
        return {}
    keys = sorted({key for state in full for key in state if state != START})
    return {key: 1.0 - conversion_probability(full, key, max_steps) / base for key in keys}


def markov_credit(paths: Sequence[Path], dimension: Dimension, order: int) -> dict[str, Credit]:
    converted = [p for p in paths if p.converted]
    return walk_credit(walks(paths, dimension), order, len(converted), sum(p.value for p in converted))


def walk_credit(counted: Sequence[Walk], order: int, conversions: float, value: float) -> dict[str, Credit]:
    """The conversions and their value, divided in proportion to the keys' removal effects."""
    return _divided(walk_effects(counted, order), conversions, value)


def counted_credit(
    counted: Sequence[Transition], order: int, conversions: float, value: float
) -> dict[str, Credit]:
    """``walk_credit`` from touches counted with the keys before them (see ``counted_chain``)."""
    return _divided(chain_effects(counted_chain(counted, order)), conversions, value)


def _divided(effects: dict[str, float], conversions: float, value: float) -> dict[str, Credit]:
    total_effect = sum(effects.values())
    if total_effect <= 0:
        return {}
    return {
        key: Credit(conversions * effect / total_effect, value * effect / total_effect)
        for key, effect in effects.items()
        if effect > 0
    }
