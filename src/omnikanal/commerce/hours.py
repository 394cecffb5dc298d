"""Opening hours: local time at the edge. Stored per weekday as "HH:MM" spans in the store's own
IANA time zone; whether a store is open is decided from an aware UTC moment. No I/O."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from .model import WEEKDAYS


def is_open(opening_hours: dict[str, Any], timezone: str, moment: datetime) -> bool | None:
    """Whether the store is open at ``moment``; None when it has no opening hours on record."""
    if not opening_hours:
        return None
    local = moment.astimezone(ZoneInfo(timezone))
    now = local.strftime("%H:%M")
    return any(start <= now < end for start, end in opening_hours.get(WEEKDAYS[local.weekday()], []))
