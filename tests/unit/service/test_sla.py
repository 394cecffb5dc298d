"""SLA clocks in business hours: working days only, German public holidays per state, and the
state of a promise (ok, at risk, breached)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from omnikanal.service.sla import BusinessHours, add_business_hours, business_hours_between, state, worst

BERLIN = BusinessHours.parse("08:00-18:00", "Europe/Berlin", "BE")


def test_hours_inside_one_working_day() -> None:
    start = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)  # Wednesday 10:00 in Berlin
    assert add_business_hours(start, 2, BERLIN) == datetime(2026, 12, 2, 11, 0, tzinfo=UTC)


def test_the_clock_stops_overnight_and_at_the_weekend() -> None:
    friday_evening = datetime(2026, 12, 4, 16, 0, tzinfo=UTC)  # 17:00 local: one hour left
    assert add_business_hours(friday_evening, 3, BERLIN) == datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


def test_public_holidays_of_the_state_stop_the_clock() -> None:
    christmas_eve = datetime(2026, 12, 24, 16, 0, tzinfo=UTC)  # Thursday 17:00; 25th and 26th are holidays
    assert add_business_hours(christmas_eve, 8, BERLIN) == datetime(2026, 12, 28, 14, 0, tzinfo=UTC)
    # Epiphany (6 January) is a holiday in Bavaria, not in Berlin
    bavaria = BusinessHours.parse("08:00-18:00", "Europe/Berlin", "BY")
    evening = datetime(2027, 1, 5, 16, 0, tzinfo=UTC)  # Tuesday 17:00
    assert add_business_hours(evening, 2, BERLIN).date().day == 6
    assert add_business_hours(evening, 2, bavaria).date().day == 7


def test_a_start_before_opening_counts_from_opening() -> None:
    early = datetime(2026, 12, 2, 5, 0, tzinfo=UTC)  # 06:00 local
    assert add_business_hours(early, 1, BERLIN) == datetime(2026, 12, 2, 8, 0, tzinfo=UTC)


def test_bad_business_hours_are_refused() -> None:
    with pytest.raises(ValueError, match="close before they open"):
        BusinessHours.parse("18:00-08:00", "Europe/Berlin", "BE")
    with pytest.raises(ValueError, match="not like"):
        BusinessHours.parse("8 to 6", "Europe/Berlin", "BE")


def test_promise_states() -> None:
    start = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
    due = start + timedelta(hours=4)
    assert state(start, due, None, start + timedelta(hours=1), 0.25) == "ok"
    assert state(start, due, None, start + timedelta(hours=3, minutes=30), 0.25) == "at_risk"
    assert state(start, due, None, due + timedelta(seconds=1), 0.25) == "breached"
    assert state(start, due, due - timedelta(minutes=1), due + timedelta(days=1), 0.25) == "ok"
    assert state(start, due, due + timedelta(minutes=1), due + timedelta(days=1), 0.25) == "breached"
    assert state(start, None, None, due, 0.25) == "ok"
    assert worst("ok", "at_risk") == "at_risk"
    assert worst("breached", "ok") == "breached"


def test_day_groups_and_weekly_opening_hours() -> None:
    shop = BusinessHours.parse("mon-fri 08:00-18:00; sat 10:00-14:00", "Europe/Berlin", "BE")
    saturday = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)  # 13:00 local: one hour left
    assert add_business_hours(saturday, 2, shop) == datetime(2026, 12, 7, 8, 0, tzinfo=UTC)
    store = BusinessHours.weekly(
        {"mon": [["09:00", "13:00"], ["14:00", "18:00"]], "sun": []}, "Europe/Berlin", "BE"
    )
    monday = datetime(2026, 12, 7, 11, 0, tzinfo=UTC)  # 12:00 local, lunch break from 13:00
    assert add_business_hours(monday, 2, store) == datetime(2026, 12, 7, 14, 0, tzinfo=UTC)
    # 5 hours left on Monday, Tuesday to Sunday closed: the sixth hour ends at 10:00 next Monday
    assert add_business_hours(monday, 6, store) == datetime(2026, 12, 14, 9, 0, tzinfo=UTC)
    with pytest.raises(ValueError, match="days are"):
        BusinessHours.parse("weekdays 08:00-18:00", "Europe/Berlin", "BE")
    with pytest.raises(ValueError, match="no opening time"):
        BusinessHours.weekly({}, "Europe/Berlin", "BE")


def test_business_hours_between_two_moments() -> None:
    friday = datetime(2026, 12, 4, 15, 0, tzinfo=UTC)  # 16:00 local
    monday = datetime(2026, 12, 7, 9, 30, tzinfo=UTC)  # 10:30 local
    assert business_hours_between(friday, monday, BERLIN) == 4.5
    assert business_hours_between(monday, friday, BERLIN) == 0.0
    assert add_business_hours(friday, business_hours_between(friday, monday, BERLIN), BERLIN) == monday
