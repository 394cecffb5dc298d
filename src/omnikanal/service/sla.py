"""SLA clocks: targets counted in business hours (working days, German public holidays), and the
state of a promise (ok, at risk, breached). Pure functions; the clock's "now" is passed in."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

MAX_DAYS = 800  # a target never reaches further; guards the walk against a calendar without hours


@dataclass(frozen=True, slots=True)
class BusinessHours:
    timezone: str
    opens: time
    closes: time
    state: str  # German federal state, for its public holidays

    @classmethod
    def parse(cls, hours: str, timezone: str, state: str) -> BusinessHours:
        """From "08:00-18:00"; ValueError names what is wrong."""
        start, sep, end = hours.partition("-")
        if not sep:
            raise ValueError(f"business hours {hours!r} are not like 08:00-18:00")
        opens, closes = time.fromisoformat(start.strip()), time.fromisoformat(end.strip())
        if opens >= closes:
            raise ValueError(f"business hours {hours!r} close before they open")
        ZoneInfo(timezone)
        _holidays(state)
        return cls(timezone, opens, closes, state)

    def working_day(self, day: date) -> bool:
        return day.weekday() < 5 and day not in _holidays(self.state)


@lru_cache(maxsize=32)
def _holidays(state: str) -> holidays.HolidayBase:
    return holidays.country_holidays("DE", subdiv=state)


def add_business_hours(start: datetime, hours: float, calendar: BusinessHours) -> datetime:
    """The moment ``hours`` of business time after ``start`` (UTC in, UTC out)."""
    zone = ZoneInfo(calendar.timezone)
    remaining = timedelta(hours=hours)
    local = start.astimezone(zone)
    day = local.date()
    for _ in range(MAX_DAYS):
        if calendar.working_day(day):
            opens = datetime.combine(day, calendar.opens, zone)
            closes = datetime.combine(day, calendar.closes, zone)
            current = max(local, opens)
            if current < closes:
                available = closes - current
                if remaining <= available:
                    return (current + remaining).astimezone(UTC)
                remaining -= available
        day += timedelta(days=1)
        local = datetime.combine(day, time(0), zone)
    raise ValueError("no business hours within reach")


def state(
    started: datetime, due: datetime | None, done: datetime | None, now: datetime, at_risk: float
) -> str:
    """ok, at_risk or breached for one promise (first response or resolution).

    A promise kept in time is ok; kept late or not kept by its due time, breached. An open one is
    at risk when less than ``at_risk`` of its span (wall time from start to due) is left.
    """
    if due is None:
        return "ok"
    if done is not None:
        return "breached" if done > due else "ok"
    if now > due:
        return "breached"
    return "at_risk" if (due - now) < (due - started) * at_risk else "ok"


def worst(*states: str) -> str:
    order = ("ok", "at_risk", "breached")
    return max(states, key=order.index)


def next_check(
    started: datetime, promises: list[tuple[datetime | None, datetime | None]], now: datetime, at_risk: float
) -> datetime | None:
    """When the state of the open promises (due, done) changes next: the moment one turns at risk,
    or its due time; None when every promise is decided (kept, or already breached)."""
    moments = []
    for due, done in promises:
        if due is None or done is not None or now > due:
            continue
        risky = due - (due - started) * at_risk
        moments.append(risky if now < risky else due)
    return min(moments) if moments else None
