"""The person's touchpoints, for data-subject exports and erasures (the columnar copy included)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection

from omnikanal.analytics import store
from omnikanal.analytics.service import Analytics


class AnalyticsData:
    name = "analytics"

    def __init__(self, analytics: Analytics) -> None:
        self._analytics = analytics

    def export(self, conn: Connection, profile_ids: Sequence[str]) -> dict[str, Any]:
        return {"touchpoints": store.export(conn, profile_ids)}

    def erase(self, conn: Connection, profile_ids: Sequence[str]) -> int:
        return self._analytics.erase(conn, profile_ids)
