"""The recommend part of a person's data, for the privacy capability: their interactions (the
training data) and their factors in stored models. Erasure deletes both; the item factors and the
popularity lists hold no one's data and stay until the next training."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Connection

from omnikanal.clock import isoformat

from . import store


class RecommendPersonalData:
    name = "recommend"

    def __init__(self, erased: Callable[[], None] | None = None) -> None:
        self._erased = erased

    def export(self, conn: Connection, profile_ids: Sequence[str]) -> dict[str, Any]:
        rows = store.personal_rows(conn, profile_ids)
        for row in rows["interactions"]:
            row["at"] = isoformat(row["at"])
        return rows

    def erase(self, conn: Connection, profile_ids: Sequence[str]) -> int:
        count = store.erase(conn, profile_ids)
        if self._erased is not None:
            self._erased()
        return count
