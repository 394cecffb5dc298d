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

from collections.abc import Iterable

from omnikanal.analytics.model import NONE, Credit, Dimension, Path


def shapley_credit(paths: Iterable[Path], dimension: Dimension) -> dict[str, Credit]:
    credit: dict[str, Credit] = {}
    for path in paths:
        if not path.converted:
            continue
        keys = {t.key(dimension) for t in path.touches} or {NONE}
        part = 1.0 / len(keys)
        for key in keys:
            entry = credit.setdefault(key, Credit())
            entry.conversions += part
            entry.value += part * path.value
    return credit
