"""The hub's own costs, computed from what it did: the messages it sent and the service cases its
staff resolved (the hub's own timeline events, kept as usage rows by the analytics processor),
priced with the configured rates, plus fixed monthly costs per business channel.

* SMS: per segment; a ``Message Sent`` event of channel sms counts its ``properties.segments`` when
  a provider reported them, one otherwise (the figure says so).
* WhatsApp: per conversation, opened by a message to a person with no conversation open and lasting
  24 hours (the conversation-based pricing of the WhatsApp Business Platform).
* Email: per 1,000 sent. Push: per message.
* Staff: the configured minutes per task (a message to staff) and per resolved service case, times
  the hourly rate of the queue (``default`` for a queue without its own).
* A message sent for a campaign (its journey's name, or the sender's ``data.campaign``) keeps it:
  its cost line is that campaign's as well as its channel's. Staff time on a resolved case and the
  fixed costs belong to no campaign.
* Fixed monthly costs per business channel (a store's share, the hotline's seats), spread over the
  days of each month and counted for the days of the period.

Every figure says where it came from (pure: no I/O).
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

SENT_EVENT = "Message Sent"
RESOLVED_EVENT = "Case Resolved"
MESSAGE_KINDS = frozenset({"sms", "whatsapp", "email", "push", "task"})
CONVERSATION = timedelta(hours=24)
DEFAULT_QUEUE = "default"
MAX_SEGMENTS = 50  # a longer figure is no segment count (concatenated SMS stop far below)


@dataclass(frozen=True, slots=True)
class Rates:
    """Prices in the analytics currency."""

    sms_segment: float = 0.0
    whatsapp_conversation: float = 0.0
    emails_per_1000: float = 0.0
    push: float = 0.0
    task_minutes: float = 0.0
    case_minutes: float = 0.0
    hourly: Mapping[str, float] = field(default_factory=dict)
    monthly: Mapping[str, float] = field(default_factory=dict)

    def hourly_rate(self, queue: str) -> tuple[float, str]:
        if queue in self.hourly:
            return self.hourly[queue], queue
        return self.hourly.get(DEFAULT_QUEUE, 0.0), DEFAULT_QUEUE


def _text(value: Any, limit: int) -> str:
    return str(value).strip()[:limit] if value is not None else ""


def usage(row: Any) -> dict[str, Any] | None:
    """The usage row of one stored event, or None for an event that costs the hub nothing."""
    if row.type != "track" or row.event not in (SENT_EVENT, RESOLVED_EVENT):
        return None
    payload = row.payload if isinstance(row.payload, Mapping) else {}
    properties = payload.get("properties")
    properties = properties if isinstance(properties, Mapping) else {}
    if row.event == RESOLVED_EVENT:
        kind, queue, quantity = "case", _text(properties.get("queue"), 100), 1
    else:
        kind = _text(properties.get("channel"), 20)
        if kind not in MESSAGE_KINDS:
            return None
        queue = _text(properties.get("queue"), 100) if kind == "task" else ""
        quantity = _segments(properties.get("segments")) if kind == "sms" else 1
    return {
        "seq": row.seq,
        "profile_id": row.profile_id,
        "at": row.timestamp,
        "kind": kind,
        "channel": row.channel,
        "queue": queue,
        "quantity": quantity,
        # the campaign the message was sent for (messaging names its journey's): own costs by campaign
        "campaign": (_text(properties.get("campaign"), 200) or None) if kind != "case" else None,
    }


def _segments(value: Any) -> int:
    """Segments a provider reported (0 when it reported none: counted as one, and said so)."""
    if isinstance(value, bool):
        return 0
    try:
        number = int(value)
    except (TypeError, ValueError):
        return 0
    return number if 1 <= number <= MAX_SEGMENTS else 0


@dataclass(slots=True)
class _Line:
    channel: str
    item: str
    queue: str | None
    campaign: str | None = None
    quantity: float = 0.0
    unit_price: float = 0.0
    note: str = ""


def own_costs(rows: Iterable[Any], rates: Rates, since: date, until: date) -> list[dict[str, Any]]:
    """Cost lines of the usage rows (ordered by profile and time) and the fixed costs of the days in
    [since, until)."""
    lines: dict[tuple[str, str, str, str], _Line] = {}
    guessed: dict[tuple[str, str | None], int] = {}
    open_until: dict[str, datetime] = {}
    campaign: str | None = None  # the row's, read by add()

    def add(channel: str, item: str, queue: str, quantity: float, price: float, note: str) -> None:
        key = (channel, item, queue, campaign or "")
        line = lines.setdefault(key, _Line(channel, item, queue or None, campaign, 0.0, price, note))
        line.quantity += quantity

    for row in rows:
        campaign = getattr(row, "campaign", None) or None
        if row.kind == "sms":
            if row.quantity == 0:
                guessed[(row.channel, campaign)] = guessed.get((row.channel, campaign), 0) + 1
            add(
                row.channel,
                "sms_segments",
                "",
                max(1, row.quantity),
                rates.sms_segment,
                "ANALYTICS_SMS_SEGMENT_PRICE",
            )
        elif row.kind == "whatsapp":
            if row.at >= open_until.get(row.profile_id, row.at):
                add(
                    row.channel,
                    "whatsapp_conversations",
                    "",
                    1,
                    rates.whatsapp_conversation,
                    "ANALYTICS_WHATSAPP_CONVERSATION_PRICE",
                )
                open_until[row.profile_id] = row.at + CONVERSATION
        elif row.kind == "email":
            add(
                row.channel,
                "emails",
                "",
                1,
                rates.emails_per_1000 / 1000,
                "ANALYTICS_EMAIL_PRICE_PER_1000 / 1000",
            )
        elif row.kind == "push":
            add(row.channel, "push", "", 1, rates.push, "ANALYTICS_PUSH_PRICE")
        else:
            minutes = rates.task_minutes if row.kind == "task" else rates.case_minutes
            rate, rate_queue = rates.hourly_rate(row.queue or DEFAULT_QUEUE)
            setting = "ANALYTICS_TASK_MINUTES" if row.kind == "task" else "ANALYTICS_CASE_MINUTES"
            note = f"{setting} x ANALYTICS_HOURLY_RATES[{rate_queue}] / 60"
            add(row.channel, "staff_minutes", row.queue or DEFAULT_QUEUE, minutes, rate / 60, note)
    out = [_answer(line, guessed.get((line.channel, line.campaign), 0)) for line in lines.values()]
    out.extend(_fixed(rates.monthly, since, until))
    return sorted(out, key=lambda r: (r["channel"], r["item"], r["queue"] or "", r["campaign"] or ""))


def _answer(line: _Line, guessed: int) -> dict[str, Any]:
    origin = f"hub: {line.item.replace('_', ' ')} from the hub's own events x {line.note}"
    if line.item == "sms_segments" and guessed:
        origin += f"; {guessed} messages without a reported segment count counted as one segment"
    if line.campaign:
        origin += f"; messages sent for campaign {line.campaign!r}"
    return {
        "channel": line.channel,
        "item": line.item,
        "queue": line.queue,
        "campaign": line.campaign,
        "quantity": round(line.quantity, 4),
        "unit_price": round(line.unit_price, 6),
        "cost": round(line.quantity * line.unit_price, 2),
        "from": origin,
    }


def _fixed(monthly: Mapping[str, float], since: date, until: date) -> list[dict[str, Any]]:
    out = []
    for channel, amount in sorted(monthly.items()):
        cost = 0.0
        days = 0
        day = since
        while day < until:
            cost += amount / calendar.monthrange(day.year, day.month)[1]
            days += 1
            day += timedelta(days=1)
        out.append(
            {
                "channel": channel,
                "item": "fixed",
                "queue": None,
                "campaign": None,
                "quantity": days,
                "unit_price": None,
                "cost": round(cost, 2),
                "from": f"fixed: ANALYTICS_FIXED_MONTHLY_COSTS[{channel}] = {amount:.2f} a month, "
                f"spread over each month's days, {days} days",
            }
        )
    return out
