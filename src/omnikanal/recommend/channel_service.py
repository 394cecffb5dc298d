"""Next best channel and best hour for each customer: the scores kept in recommend's tables, the
ports messaging asks through (``scores`` for the gate's ``auto``, ``best_hour`` for
``send_at: best_hour``), the refresh and the API's view.

Messaging never imports this: the hub hands these methods to it as ports.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine

from omnikanal.clock import Clock
from omnikanal.consent.model import CHANNEL_PURPOSE
from omnikanal.db.engine import read_tx, run_write

from . import channel_store as store
from .channels import (
    ANY_CHANNEL,
    CALLS,
    DIRECT,
    ORDER_UPDATED,
    PICKED_UP,
    REPLY,
    REPLY_CHANNEL,
    SCORED,
    SENT,
    ChannelEvaluation,
    ChannelParams,
    Counts,
    best_hour_for,
    evaluate,
    population,
    rates,
    scores,
)

PURPOSE = "personalisation"


class Profiles(Protocol):
    def live_id(self, profile_id: str) -> str: ...
    def live_ids(self, profile_ids: Any) -> dict[str, str]: ...


class Consents(Protocol):
    def may_contact(self, profile_id: str, purpose: str | None, channel: str | None = None) -> Any: ...


@dataclass(frozen=True, slots=True)
class Sent:
    profile_id: str
    channel: str
    sent_at: datetime
    window_end: datetime
    acted_at: datetime | None


@dataclass(frozen=True, slots=True)
class ChannelRow:
    channel: str
    score: float
    messages: int
    reactions: int
    population_rate: float
    allowed: bool
    reason: str


class ChannelScoreService:
    def __init__(
        self, engine: Engine, clock: Clock, profiles: Profiles, consent: Consents, params: ChannelParams
    ) -> None:
        self._engine = engine
        self._clock = clock
        self._profiles = profiles
        self._consent = consent
        self.params = params

    # -- from the event log (the worker's processor) ----------------------------------------------

    def record(self, conn: Connection, batch: Sequence[Any]) -> None:
        """Messages sent, their opens and clicks, replies, calls and pick-ups; then the scores of the
        customers they concern. Messages go in first, so a reaction in the same batch finds its one."""
        window = timedelta(hours=self.params.window_hours)
        messages: list[dict[str, Any]] = []
        direct: list[tuple[str, str, datetime]] = []
        reactions: list[dict[str, Any]] = []
        touched: set[str] = set()
        for event in batch:
            name, pid, at = event.event, event.profile_id, event.timestamp
            if not pid or event.type != "track":
                continue
            props = (event.payload or {}).get("properties") if isinstance(event.payload, dict) else None
            props = props if isinstance(props, dict) else {}
            if name == SENT or name in DIRECT:
                channel, message_id = props.get("channel"), props.get("message_id")
                if channel not in SCORED or not isinstance(message_id, str) or len(message_id) > 40:
                    continue
                # an open seen before its "sent" stands for it (sent no later than it was opened)
                messages.append(_message(message_id, pid, channel, at, window))
                if name in DIRECT:
                    direct.append((message_id, DIRECT[name], at))
            elif name == REPLY and REPLY_CHANNEL.get(event.channel or "") is not None:
                reactions.append(_reaction(pid, REPLY_CHANNEL[event.channel], "reply", at))
            elif name in CALLS:
                reactions.append(_reaction(pid, None, "call", at))
            elif name == ORDER_UPDATED and props.get("status") == PICKED_UP:
                reactions.append(_reaction(pid, ANY_CHANNEL, "pickup", at))
            else:
                continue
            touched.add(pid)
        store.add_messages(conn, messages)
        for message_id, kind, at in direct:
            store.react(conn, message_id, kind, at)
        store.add_reactions(conn, reactions)
        if touched:
            self.refresh_profiles(conn, sorted(touched))

    def refresh_profiles(self, conn: Connection, profile_ids: Sequence[str]) -> None:
        """These customers' scores, against the population rates of the last full refresh; before
        the first one, the rates of now are computed once and kept."""
        stored = store.rates(conn)
        if stored:
            channel_rates = {ch: float(row.rate) for ch, row in stored.items()}
        else:
            totals = population(store.counts(conn, None).values())
            channel_rates = rates(totals)
            store.write_rates(conn, self._rate_rows(totals, channel_rates))
        found = store.counts(conn, profile_ids)
        store.write_scores(conn, self._rows(found, channel_rates))

    def refresh(self) -> dict[str, Any]:
        """Every customer's scores and the population rates, from all messages so far; rows of
        merged profiles move to the surviving profile first."""
        started = time.perf_counter()
        with read_tx(self._engine) as conn:
            found = store.counts(conn, None)
        live = self._profiles.live_ids(found)
        merged: dict[str, dict[str, Counts]] = {}
        for pid, channels in found.items():
            target = merged.setdefault(live.get(pid, pid), {})
            for channel, c in channels.items():
                had = target.get(channel, Counts(0, 0))
                target[channel] = Counts(had.messages + c.messages, had.reactions + c.reactions)
        totals = population(merged.values())
        channel_rates = rates(totals)
        rows = self._rows(merged, channel_rates)
        rate_rows = self._rate_rows(totals, channel_rates)

        def write(conn: Connection) -> None:
            store.rekey(conn, live)
            store.write_scores(conn, rows)
            store.write_rates(conn, rate_rows)

        run_write(self._engine, write)
        return {
            "customers": len(merged),
            "messages": sum(c.messages for c in totals.values()),
            "rates": {ch: round(v, 4) for ch, v in channel_rates.items()},
            "channels": {r["channel"]: (r["messages"], r["reactions"]) for r in rate_rows},
            "seconds": round(time.perf_counter() - started, 3),
        }

    def _rate_rows(
        self, totals: Mapping[str, Counts], channel_rates: Mapping[str, float]
    ) -> list[dict[str, Any]]:
        now = self._clock.now()
        return [
            {
                "channel": ch,
                "messages": totals.get(ch, Counts(0, 0)).messages,
                "reactions": totals.get(ch, Counts(0, 0)).reactions,
                "rate": round(channel_rates[ch], 6),
                "updated_at": now,
            }
            for ch in SCORED
        ]

    def _rows(
        self, found: Mapping[str, Mapping[str, Counts]], channel_rates: Mapping[str, float]
    ) -> list[dict[str, Any]]:
        now = self._clock.now()
        rows = []
        for pid, channels in found.items():
            for channel, score in scores(channels, channel_rates, self.params.prior_strength).items():
                c = channels.get(channel, Counts(0, 0))
                rows.append(
                    {
                        "profile_id": pid,
                        "channel": channel,
                        "messages": c.messages,
                        "reactions": c.reactions,
                        "score": score,
                        "updated_at": now,
                    }
                )
        return rows

    # -- ports for messaging -----------------------------------------------------------------------

    def scores(self, conn: Connection, profile_ids: Sequence[str]) -> dict[str, dict[str, tuple[float, int]]]:
        """profile id -> channel -> (score, messages), for the customers that have scores."""
        return {
            pid: {ch: (float(row.score), int(row.messages)) for ch, row in channels.items()}
            for pid, channels in store.scores(conn, profile_ids).items()
        }

    def best_hour(
        self, conn: Connection, profile_id: str, zone: ZoneInfo, channel: str | None = None
    ) -> tuple[int, str, str]:
        """The customer's best local hour on ``channel`` (None: over all channels), what it rests
        on (``channel``, ``all_channels``, ``fallback``) and why; the fallback hour without
        personalisation consent."""
        fallback = self.params.fallback_hour
        if not self._consent.may_contact(profile_id, PURPOSE).allowed:
            return fallback, "fallback", f"fallback_hour {fallback:02d}: no personalisation consent"
        found = best_hour_for(
            store.activity_times(conn, profile_id), zone, channel, fallback, self.params.hour_prior
        )
        on = f" on {channel}" if channel else ""
        if found.basis == "channel":
            why = f"best_hour {found.hour:02d}{on} from {found.channel_events} opens, clicks and replies{on}"
        elif found.basis == "all_channels":
            why = f"best_hour {found.hour:02d} from {found.events} opens, clicks and visits on all channels"
        else:
            why = f"fallback_hour {found.hour:02d} ({found.events} opens, clicks and visits)"
        return found.hour, found.basis, why

    # -- the API's view ----------------------------------------------------------------------------

    def channels(self, profile_id: str) -> tuple[str, bool, list[ChannelRow]]:
        """The live profile, whether the scores may be used (personalisation consent), and each
        channel's score, counts and whether the customer's consent allows marketing on it."""
        live = self._profiles.live_id(profile_id)
        personal = bool(self._consent.may_contact(live, PURPOSE).allowed)
        with read_tx(self._engine) as conn:
            found = store.scores(conn, [live]).get(live, {})
            stored = store.rates(conn)
        out = []
        for channel in SCORED:
            row = found.get(channel)
            rate = float(stored[channel].rate) if channel in stored else 0.0
            answer = self._consent.may_contact(live, CHANNEL_PURPOSE[channel], channel)
            out.append(
                ChannelRow(
                    channel,
                    float(row.score) if row is not None else rate,
                    int(row.messages) if row is not None else 0,
                    int(row.reactions) if row is not None else 0,
                    rate,
                    bool(answer.allowed),
                    "customer" if row is not None and row.messages else "population",
                )
            )
        return live, personal, out

    def evaluate(self, fixed_order: Sequence[str], history: Sequence[Any] | None = None) -> ChannelEvaluation:
        """Replay of the hub's messages (or of ``history`` given): next best channel against the
        fixed order."""
        if history is None:
            history = self._history()
        return evaluate(history, fixed_order, self.params.prior_strength)

    def _history(self) -> list[Sent]:
        with read_tx(self._engine) as conn:
            stored = store.history(conn)
        live = self._profiles.live_ids({row.profile_id for row in stored})
        history = []
        for row in stored:
            times = [t for t in (row.reacted_at, row[6], row[7]) if t is not None]
            acted = min(times) if times else None
            person = live.get(row.profile_id, row.profile_id)
            history.append(Sent(person, row.channel, row.sent_at, row.window_end, acted))
        return history


def _message(message_id: str, pid: str, channel: str, at: datetime, window: timedelta) -> dict[str, Any]:
    return {
        "message_id": message_id,
        "profile_id": pid,
        "channel": channel,
        "sent_at": at,
        "window_end": at + window,
        "reacted_at": None,
        "reaction": None,
    }


def _reaction(pid: str, channel: str | None, kind: str, at: datetime) -> dict[str, Any]:
    return {"profile_id": pid, "channel": channel, "kind": kind, "at": at}
