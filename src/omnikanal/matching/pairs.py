"""A scored pair of profiles: what the model answers, without importing the model (Splink is
imported on first use, so processes that never match do not carry it)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ScoredPair:
    left: str
    right: str
    probability: float
    weight: float
    # per field, the log2 Bayes factor it added (negative: speaks against a match)
    contributions: dict[str, float]
