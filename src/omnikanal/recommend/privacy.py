"""The recommend part of a person's data, for the privacy capability: their interactions (the
training data), their factors in stored models, and the messages, reactions and channel scores of
the next best channel. Erasure deletes both; the item factors and the
popularity lists hold no one's data and stay until the next training."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Connection

from omnikanal.clock import isoformat

from . import channel_store, store


class RecommendPersonalData:
    name = "recommend"

    def __init__(self, erased: Callable[[], None] | None = None) -> None:
        self._erased = erased

    def export(self, conn: Connection, profile_ids: Sequence[str]) -> dict[str, Any]:
        rows: dict[str, Any] = store.personal_rows(conn, profile_ids)
        for row in rows["interactions"]:
            row["at"] = isoformat(row["at"])
        channels = channel_store.personal_rows(conn, profile_ids)
        for row in channels["channel_messages"]:
            for key in ("sent_at", "reacted_at"):
                row[key] = isoformat(row[key])
        return {**rows, **channels}

    def erase(self, conn: Connection, profile_ids: Sequence[str]) -> int:
        count = store.erase(conn, profile_ids) + channel_store.erase(conn, profile_ids)
        if self._erased is not None:
            self._erased()
        return count
