"""Personal data held by service, for the privacy registry: cases and their entries (the bodies
hold what customers wrote) are exported and erased with the person."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection

from omnikanal.clock import Clock

from . import store
from .views import by_entry, case_view, entry_view


class ServicePersonalData:
    name = "service"

    def __init__(self, clock: Clock, at_risk: float) -> None:
        self._clock = clock
        self._at_risk = at_risk

    def export(self, conn: Connection, profile_ids: Sequence[str]) -> dict[str, Any]:
        cases, entries = store.of_profiles(conn, profile_ids)
        files = by_entry(store.attachments_of_profiles(conn, profile_ids))
        now = self._clock.now()
        return {
            "cases": [case_view(c, now, self._at_risk) for c in cases],
            "entries": [entry_view(e, files) | {"case_id": e.case_id} for e in entries],
        }

    def erase(self, conn: Connection, profile_ids: Sequence[str]) -> int:
        return store.erase_profiles(conn, profile_ids)
