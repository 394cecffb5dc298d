"""The SLA clock stops while a case waits for the customer and runs on when it leaves that status
(their answer, or a staff change): the business time spent waiting moves the open due times on.
Pure: the case row, its calendar and "now" are passed in."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from . import sla
from .model import OPEN_STATUSES

WAITING = "waiting_customer"


def status_values(
    case: Any, status: str, now: datetime, calendar: sla.BusinessHours, at_risk: float
) -> dict[str, Any]:
    """The SLA columns that change when ``case`` moves to ``status``."""
    if status == WAITING and case.sla_paused_at is None:
        return {"sla_paused_at": now, "sla_check_at": None}  # the watch has nothing to see meanwhile
    if status == WAITING or case.sla_paused_at is None:
        return {}
    waited = sla.business_hours_between(case.sla_paused_at, now, calendar)
    first_due = case.first_response_due
    if first_due is not None and case.first_response_at is None:
        first_due = sla.add_business_hours(first_due, waited, calendar)
    resolve_due = case.resolution_due
    if resolve_due is not None:
        resolve_due = sla.add_business_hours(resolve_due, waited, calendar)
    if status in OPEN_STATUSES:
        check = sla.next_check(
            case.created_at, [(first_due, case.first_response_at), (resolve_due, None)], now, at_risk
        )
    else:
        check = now  # decided now: the watch records the outcome on its next pass
    return {
        "sla_paused_at": None,
        "sla_paused_hours": float(case.sla_paused_hours or 0) + waited,
        "first_response_due": first_due,
        "resolution_due": resolve_due,
        "sla_check_at": check,
    }


def view_now(case: Any, now: datetime) -> datetime:
    """The moment a case's SLA state is judged at: while paused, the moment the clock stopped."""
    paused = getattr(case, "sla_paused_at", None)
    return min(now, paused) if paused is not None else now
