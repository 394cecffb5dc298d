"""Shapley value attribution: the conversions as a cooperative game of the keys on the paths.

The worth of a coalition of keys is what the converting paths whose keys all lie in it achieved
(their conversions, and their value), the characteristic function of Zhao et al. (2018) that the
``mta`` package's ``shapley`` uses. That game is a sum of unanimity games, one per set of keys
seen on a converting path, and the Shapley value of a unanimity game gives each member of its set
an equal part. So each key's Shapley value is the sum, over the converting paths it is on, of one
over the number of distinct keys of the path: exact, with no enumeration of the 2^n coalitions,
and linear in the paths. (A key on a path twice counts once: the game knows sets, not orders;
the linear model, by contrast, counts touches.) The tests hold it to the enumeration over every
coalition with the factorial weights, and to the ``mta`` package's figures.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from omnikanal.analytics.model import NONE, Credit, Dimension, Path


def shapley_credit(paths: Iterable[Path], dimension: Dimension) -> dict[str, Credit]:
    return set_credit(([t.key(dimension) for t in p.touches], 1, p.value) for p in paths if p.converted)


def set_credit(groups: Iterable[tuple[Sequence[str], int, float]]) -> dict[str, Credit]:
    """Shapley values from converting paths given as their keys, how many paths had those keys,
    and the paths' summed value (one path each, or the distinct paths an engine counted)."""
    credit: dict[str, Credit] = {}
    for keys, count, value in groups:
        distinct = set(keys) or {NONE}
        part = 1.0 / len(distinct)
        for key in distinct:
            entry = credit.setdefault(key, Credit())
            entry.conversions += part * count
            entry.value += part * value
    return credit
