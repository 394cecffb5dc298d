"""A person's journey runs, their step log and pending timers, for exports and erasures."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, delete, select

from omnikanal.journeys.service import run_view
from omnikanal.journeys.tables import journey_runs, journey_steps, journey_timers


class JourneyData:
    name = "journeys"

    def export(self, conn: Connection, profile_ids: Sequence[str]) -> dict[str, Any]:
        rows = conn.execute(
            select(journey_runs)
            .where(journey_runs.c.profile_id.in_(profile_ids))
            .order_by(journey_runs.c.entered_at)
        ).all()
        # the trigger's properties are the person's data too (a cart, an order)
        return {"journey_runs": [{**run_view(r), "data": r.data} for r in rows]}

    def erase(self, conn: Connection, profile_ids: Sequence[str]) -> int:
        removed = 0
        for table in (journey_timers, journey_steps, journey_runs):
            removed += conn.execute(delete(table).where(table.c.profile_id.in_(profile_ids))).rowcount
        return removed
