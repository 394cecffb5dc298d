"""When a wait ends: local times in the customer's time zone and dates held in traits. No I/O."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from omnikanal.journeys.schema import WEEKDAYS


def zone(traits: dict[str, Any], default: str) -> ZoneInfo:
    """The customer's time zone (trait ``timezone``), else the default; a bad name falls back."""
    name = traits.get("timezone") or traits.get("time_zone")
    if isinstance(name, str):
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    return ZoneInfo(default)


def next_local_time(now: datetime, at: str, weekdays: list[str] | None, tz: ZoneInfo) -> datetime:
    """The first moment after ``now`` that is ``at`` (HH:MM) local time on one of the weekdays."""
    hour, minute = (int(p) for p in at.split(":"))
    allowed = {WEEKDAYS.index(d) for d in weekdays} if weekdays else set(range(7))
    local_now = now.astimezone(tz)
    for days in range(8):
        day = local_now.date() + timedelta(days=days)
        if day.weekday() not in allowed:
            continue
        # fold=0: in the autumn's repeated hour the first occurrence; a time skipped in spring maps
        # to the moment after the gap, as zoneinfo does
        moment = datetime.combine(day, time(hour, minute), tzinfo=tz).astimezone(UTC)
        if moment > now:
            return moment
    raise AssertionError("a week always holds an allowed weekday")


def trait_date(value: Any, tz: tzinfo = UTC) -> date | None:
    """A date from a trait: ``1990-05-17``, an ISO 8601 time, or epoch seconds (a computed trait's
    last event). A moment counts on the day it is in the customer's zone ``tz``."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        try:
            return datetime.fromtimestamp(value, UTC).astimezone(tz).date()
        except (OverflowError, OSError, ValueError):
            return None
    if isinstance(value, str):
        text = value.strip()
        if len(text) > 10:
            try:
                moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
            except ValueError:
                moment = None
            if moment is not None and moment.tzinfo is not None:
                return moment.astimezone(tz).date()
        try:
            return date.fromisoformat(text[:10])
        except ValueError:
            return None
    return None


def occurrence(day: date, annual: bool, today: date) -> date:
    """The date itself, or with ``annual`` its anniversary this year (29 February: the 28th)."""
    if not annual:
        return day
    try:
        return day.replace(year=today.year)
    except ValueError:
        return date(today.year, 2, 28)


def local_midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0, 0), tzinfo=tz).astimezone(UTC)
