"""SLA clocks: targets counted in business hours (working days, German public holidays), and the
state of a promise (ok, at risk, breached). Pure functions; the clock's "now" is passed in."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

MAX_DAYS = 800  # a target never reaches further; guards the walk against a calendar without hours


DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
Spans = tuple[tuple[time, time], ...]


@dataclass(frozen=True, slots=True)
class BusinessHours:
    """Opening spans per weekday (Monday first) in one time zone; the public holidays of a German
    federal state close every day they fall on."""

    timezone: str
    week: tuple[Spans, ...]
    state: str  # German federal state, for its public holidays

    @classmethod
    def parse(cls, hours: str, timezone: str, state: str) -> BusinessHours:
        """From "08:00-18:00" (Monday to Friday) or day groups such as "mon-fri 08:00-18:00; sat
        10:00-14:00"; ValueError names what is wrong."""
        week: list[list[tuple[time, time]]] = [[] for _ in DAYS]
        for group in filter(None, (g.strip() for g in hours.lower().split(";"))):
            days_text, _, span_text = group.rpartition(" ")
            span = _span(span_text, hours)
            for day in _days(days_text.strip() or "mon-fri", hours):
                week[day].append(span)
        return cls.of(week, timezone, state)

    @classmethod
    def weekly(cls, spans: dict[str, list[list[str]]], timezone: str, state: str) -> BusinessHours:
        """From a store's opening hours as commerce keeps them ({"mon": [["09:00", "20:00"]], ...})."""
        week = [[_span(f"{a}-{b}", f"{a}-{b}") for a, b in spans.get(day, [])] for day in DAYS]
        return cls.of(week, timezone, state)

    @classmethod
    def of(cls, week: list[list[tuple[time, time]]], timezone: str, state: str) -> BusinessHours:
        if not any(week):
            raise ValueError("business hours name no opening time")
        ZoneInfo(timezone)
        _holidays(state)
        return cls(timezone, tuple(tuple(sorted(spans)) for spans in week), state)

    def working_day(self, day: date) -> bool:
        return bool(self.week[day.weekday()]) and day not in _holidays(self.state)


def _span(text: str, whole: str) -> tuple[time, time]:
    start, sep, end = text.partition("-")
    try:
        if not sep:
            raise ValueError
        opens, closes = time.fromisoformat(start.strip()), time.fromisoformat(end.strip())
    except ValueError:
        raise ValueError(f"business hours {whole!r} are not like 08:00-18:00") from None
    if opens >= closes:
        raise ValueError(f"business hours {whole!r} close before they open")
    return opens, closes


def _days(text: str, whole: str) -> list[int]:
    found: list[int] = []
    for part in text.split(","):
        first, _, last = part.strip().partition("-")
        if first not in DAYS or (last and last not in DAYS):
            raise ValueError(f"business hours {whole!r}: days are mon, tue, ... sun")
        a, b = DAYS.index(first), DAYS.index(last or first)
        found += range(a, b + 1)
    return found


@lru_cache(maxsize=32)
def _holidays(state: str) -> holidays.HolidayBase:
    return holidays.country_holidays("DE", subdiv=state)


def _open_spans(start: datetime, calendar: BusinessHours) -> Iterator[tuple[datetime, datetime]]:
    """The calendar's open spans (local, aware) from ``start`` on, the first one cut at ``start``."""
    zone = ZoneInfo(calendar.timezone)
    local = start.astimezone(zone)
    day = local.date()
    for _ in range(MAX_DAYS):
        if calendar.working_day(day):
            for opens, closes in calendar.week[day.weekday()]:
                begin = max(local, datetime.combine(day, opens, zone))
                end = datetime.combine(day, closes, zone)
                if begin < end:
                    yield begin, end
        day += timedelta(days=1)
    raise ValueError("no business hours within reach")


def add_business_hours(start: datetime, hours: float, calendar: BusinessHours) -> datetime:
    """The moment ``hours`` of business time after ``start`` (UTC in, UTC out)."""
    remaining = timedelta(hours=hours)
    for begin, end in _open_spans(start, calendar):
        if remaining <= end - begin:
            return (begin + remaining).astimezone(UTC)
        remaining -= end - begin
    raise ValueError("no business hours within reach")  # pragma: no cover - the walk raises first


def business_hours_between(start: datetime, end: datetime, calendar: BusinessHours) -> float:
    """Business hours from ``start`` to ``end`` (0 when end is not after start)."""
    total = timedelta()
    if end <= start:
        return 0.0
    for begin, close in _open_spans(start, calendar):
        if begin >= end:
            break
        total += min(close, end.astimezone(begin.tzinfo)) - begin
    return total.total_seconds() / 3600


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
