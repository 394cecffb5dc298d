"""Service figures: first response and resolution times (p50, p90), SLA compliance and CSAT, per
queue and per channel, over the cases opened in a window. Times are wall-clock seconds."""

from __future__ import annotations

import statistics
from collections import defaultdict
from datetime import datetime
from typing import Any

from .model import OPEN_STATUSES
from .sla import state


def _percentiles(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"p50": None, "p90": None}
    if len(values) == 1:
        return {"p50": values[0], "p90": values[0]}
    cuts = statistics.quantiles(values, n=10, method="inclusive")
    return {"p50": round(statistics.median(values), 1), "p90": round(cuts[8], 1)}


def _group(rows: list[Any], now: datetime) -> dict[str, Any]:
    first = [(r.first_response_at - r.created_at).total_seconds() for r in rows if r.first_response_at]
    resolved = [(r.resolved_at - r.created_at).total_seconds() for r in rows if r.resolved_at]
    decided = 0
    kept = 0
    for r in rows:
        done = r.resolved_at or (None if r.status in OPEN_STATUSES else r.closed_at)
        promises = [
            state(r.created_at, r.first_response_due, r.first_response_at, now, 0.0),
            state(r.created_at, r.resolution_due, done, now, 0.0),
        ]
        # a case counts once its promises are decided: both kept, or one broken
        if "breached" in promises:
            decided += 1
        elif done is not None and r.resolution_due is not None:
            decided += 1
            kept += 1
    scores = [r.csat_score for r in rows if r.csat_score is not None]
    return {
        "cases": len(rows),
        "first_response_seconds": _percentiles(first),
        "resolution_seconds": _percentiles(resolved),
        "sla_compliance": round(kept / decided, 4) if decided else None,
        "sla_decided": decided,
        "csat": {"average": round(sum(scores) / len(scores), 2) if scores else None, "answers": len(scores)},
    }


def figures(rows: list[Any], now: datetime) -> dict[str, Any]:
    by_queue: dict[str, list[Any]] = defaultdict(list)
    by_channel: dict[str, list[Any]] = defaultdict(list)
    for r in rows:
        by_queue[r.queue].append(r)
        by_channel[r.channel].append(r)
    return {
        "all": _group(rows, now),
        "queues": {k: _group(v, now) for k, v in sorted(by_queue.items())},
        "channels": {k: _group(v, now) for k, v in sorted(by_channel.items())},
    }
