"""Funnels with drop-outs: how many people took each step in order within the period, and how
many left after each (pure: no I/O).

A person enters at their first step-1 event of the period; step k counts when its event follows
the person's step k-1 (any events may lie between). Rows come ordered by profile and time.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any


def funnel(rows: Iterable[Any], steps: Sequence[str]) -> list[dict[str, Any]]:
    reached = [0] * len(steps)
    current: str | None = None
    done = 0
    for row in rows:
        if row.profile_id != current:
            current, done = row.profile_id, 0
        if done < len(steps) and row.event == steps[done]:
            reached[done] += 1
            done += 1
    out = []
    for i, name in enumerate(steps):
        following = reached[i + 1] if i + 1 < len(steps) else None
        out.append(
            {
                "step": name,
                "people": reached[i],
                "dropped": reached[i] - following if following is not None else None,
                "of_first": round(reached[i] / reached[0], 4) if reached[0] else None,
                "of_previous": round(reached[i] / reached[i - 1], 4) if i and reached[i - 1] else None,
            }
        )
    return out
