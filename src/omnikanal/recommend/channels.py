"""Next best channel and best hour: the arithmetic, no I/O.

A customer's score on a channel is the posterior mean of a Beta prior around the channel's
population rate: ``(reactions + k * rate) / (messages + k)`` with ``k`` the prior strength. A
customer without messages on a channel gets the population rate; after many messages their own
rate wins. The best hour is the hour of the day (in the customer's zone) with the most opens,
clicks and visits, each also counting half for its neighbours, with ``prior`` pseudo-events at the
fallback hour: little history keeps the fallback. Per channel, the channel's own opens, clicks and
replies count the same way, with the customer's hour over all channels as the fallback.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from omnikanal.settings import Settings

# The channels a score is kept for (messaging channels a customer can act on).
SCORED: tuple[str, ...] = ("email", "sms", "whatsapp", "push")
# A call from or with the customer counts as acting on a message on these channels.
PHONE_CHANNELS: tuple[str, ...] = ("sms", "whatsapp")
# Timeline channel of a reply (Case Message Received) -> the messaging channel it answers.
REPLY_CHANNEL: dict[str, str] = {"email": "email", "sms": "sms", "chat": "whatsapp", "app": "push"}

# Event-log names read by the channel processor (written by messaging and the service desk).
SENT = "Message Sent"
DIRECT: dict[str, str] = {"Message Opened": "opened", "Message Clicked": "clicked"}
REPLY = "Case Message Received"
CALLS = frozenset({"Call Started", "Call Ended"})
# commerce's order status event; a pick-up (properties.status "picked_up") answers any channel
ORDER_UPDATED = "Order Updated"
PICKED_UP = "picked_up"
ANY_CHANNEL = "*"  # a reaction row's channel when it counts for a message on any channel
EVENT_NAMES = frozenset({SENT, *DIRECT, REPLY, *CALLS, ORDER_UPDATED})


@dataclass(frozen=True, slots=True)
class ChannelParams:
    window_hours: float = 48.0  # a reaction up to this long after a message counts for it
    prior_strength: float = 10.0  # pseudo-messages at the population rate
    fallback_hour: int = 10  # local hour used without (enough) history
    hour_prior: float = 3.0  # pseudo-events at the fallback hour

    @classmethod
    def of(cls, settings: Settings) -> ChannelParams:
        return cls(
            window_hours=settings.recommend_channel_window_hours,
            prior_strength=settings.recommend_channel_prior_strength,
            fallback_hour=settings.recommend_best_hour_fallback,
            hour_prior=settings.recommend_best_hour_prior,
        )


@dataclass(frozen=True, slots=True)
class Counts:
    messages: int
    reactions: int


def smoothed(counts: Counts, rate: float, strength: float) -> float:
    """The Beta posterior mean: the customer's rate pulled towards the population's."""
    if counts.messages + strength <= 0:
        return rate
    return (counts.reactions + strength * rate) / (counts.messages + strength)


def population(per_customer: Iterable[Mapping[str, Counts]]) -> dict[str, Counts]:
    total: dict[str, list[int]] = {}
    for channels in per_customer:
        for channel, c in channels.items():
            sums = total.setdefault(channel, [0, 0])
            sums[0] += c.messages
            sums[1] += c.reactions
    return {ch: Counts(m, r) for ch, (m, r) in total.items()}


def rates(totals: Mapping[str, Counts]) -> dict[str, float]:
    """Each scored channel's population rate; a channel nobody got messages on gets the rate of
    all channels together (0 without any message)."""
    messages = sum(c.messages for c in totals.values())
    overall = sum(c.reactions for c in totals.values()) / messages if messages else 0.0
    return {
        ch: (totals[ch].reactions / totals[ch].messages if ch in totals and totals[ch].messages else overall)
        for ch in SCORED
    }


def scores(
    counts: Mapping[str, Counts], channel_rates: Mapping[str, float], strength: float
) -> dict[str, float]:
    """A customer's score on every scored channel (the population rate where they have no messages)."""
    return {
        ch: round(smoothed(counts.get(ch, Counts(0, 0)), channel_rates.get(ch, 0.0), strength), 6)
        for ch in SCORED
    }


def hour_counts(times: Iterable[datetime], zone: ZoneInfo) -> list[int]:
    counts = [0] * 24
    for at in times:
        counts[at.astimezone(zone).hour] += 1
    return counts


def _smoothed(counts: Sequence[int]) -> list[float]:
    return [counts[h] + 0.5 * (counts[(h - 1) % 24] + counts[(h + 1) % 24]) for h in range(24)]


def best_hour(counts: Sequence[int], fallback: int, prior: float) -> int:
    """The hour with the most activity, neighbours counting half, the fallback hour holding
    ``prior`` pseudo-events; a tie goes to the fallback, then the earlier hour."""
    smooth = _smoothed(counts)
    smooth[fallback] += prior
    return max(range(24), key=lambda h: (smooth[h], h == fallback, -h))


@dataclass(frozen=True, slots=True)
class BestHour:
    hour: int
    basis: str  # "channel": the channel's own history; "all_channels"; "fallback": the setting
    channel_events: int  # the opens, clicks and replies on the channel it rests on
    events: int  # all opens, clicks, replies, calls and visits


def best_hour_for(
    times: Sequence[tuple[str | None, datetime]],
    zone: ZoneInfo,
    channel: str | None,
    fallback: int,
    prior: float,
) -> BestHour:
    """The best hour on ``channel`` from its own reactions, with the customer's all-channel hour as
    its fallback (holding ``prior`` pseudo-events), which in turn falls back to ``fallback``. No
    channel (``auto``, chosen at dispatch): the all-channel hour."""
    every = hour_counts((at for _, at in times), zone)
    overall = best_hour(every, fallback, prior)
    mine = hour_counts((at for ch, at in times if channel is not None and ch == channel), zone)
    hour = best_hour(mine, overall, prior)
    # what holds the hour: the channel's own events when they outweigh the fallback's pseudo-events
    if _smoothed(mine)[hour] > prior:
        basis = "channel"
    elif hour == overall and _smoothed(every)[overall] > prior:
        basis = "all_channels"
    else:
        basis = "fallback"
    return BestHour(hour, basis, sum(mine), len(times))


def chosen_channel(scored: Mapping[str, float], candidates: Sequence[str]) -> str | None:
    """The candidate with the highest score; ties keep the candidates' order."""
    best: str | None = None
    for channel in candidates:
        if channel in scored and (best is None or scored[channel] > scored[best]):
            best = channel
    return best


@dataclass(frozen=True, slots=True)
class ChannelEvaluation:
    occasions: int  # messages acted on, to customers who got messages on two channels or more
    model_hits: int  # the highest score from the history before it was the channel acted on
    baseline_hits: int  # the first channel of the fixed order was


def evaluate(history: Sequence[Any], fixed_order: Sequence[str], strength: float) -> ChannelEvaluation:
    """Replay: at each message that was acted on, score the customer's channels from what was known
    then (messages whose outcome was in: acted on, or their window closed) and see whether the best
    one is the channel acted on; the same for the fixed order. The prior is each channel's rate
    over the whole history."""
    by_customer: dict[str, list[Any]] = {}
    totals: dict[str, list[int]] = {}
    for row in history:
        by_customer.setdefault(row.profile_id, []).append(row)
        sums = totals.setdefault(row.channel, [0, 0])
        sums[0] += 1
        sums[1] += 1 if row.acted_at is not None else 0
    channel_rates = rates({ch: Counts(a, b) for ch, (a, b) in totals.items()})
    order = list(dict.fromkeys((*fixed_order, *SCORED)))
    occasions = model = baseline = 0
    for rows in by_customer.values():
        mine = [ch for ch in order if any(r.channel == ch for r in rows)]
        if len(mine) < 2:
            continue
        for n, row in enumerate(rows):
            if row.acted_at is None:
                continue
            known: dict[str, list[int]] = {}
            for before in rows[:n]:
                acted = before.acted_at is not None and before.acted_at <= row.sent_at
                if acted or before.window_end <= row.sent_at:
                    sums = known.setdefault(before.channel, [0, 0])
                    sums[0] += 1
                    sums[1] += 1 if acted else 0
            scored = scores({ch: Counts(a, b) for ch, (a, b) in known.items()}, channel_rates, strength)
            occasions += 1
            model += chosen_channel(scored, mine) == row.channel
            baseline += mine[0] == row.channel
    return ChannelEvaluation(occasions, model, baseline)
