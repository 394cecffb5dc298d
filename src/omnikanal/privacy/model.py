"""Types of the privacy capability: request kinds and states, and the interface through which every
capability contributes its part of a person's data to exports and erasures."""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from sqlalchemy import Connection


class RequestType(StrEnum):
    EXPORT = "export"
    ERASURE = "erasure"
    RESTRICTION = "restriction"
    RECTIFICATION = "rectification"


class RequestStatus(StrEnum):
    RECEIVED = "received"  # filed (e.g. from the preference centre), waiting for the privacy team
    COMPLETED = "completed"
    REJECTED = "rejected"


class PersonalData(Protocol):
    """One capability's share of a person's data. Register it with the privacy registry.

    ``profile_ids`` are the person's live profile and every profile merged into it. ``erase`` runs
    inside the erasure's transaction and answers how many rows it removed or anonymised.
    """

    name: str

    def export(self, conn: Connection, profile_ids: Sequence[str]) -> Any: ...

    def erase(self, conn: Connection, profile_ids: Sequence[str]) -> int: ...


def one_month_later(moment: datetime) -> datetime:
    """The DSGVO Art. 12(3) deadline: one calendar month, at the month's end if the day is missing."""
    year, month = (moment.year + 1, 1) if moment.month == 12 else (moment.year, moment.month + 1)
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)
