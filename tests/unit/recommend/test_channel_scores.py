"""Next best channel and best hour, the arithmetic: Beta smoothing towards the population rate,
the best local hour with its fallback, the next such hour across a DST change, and the replay."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from omnikanal.messaging.ports import next_at
from omnikanal.recommend import generate
from omnikanal.recommend.channel_service import Sent
from omnikanal.recommend.channels import (
    SCORED,
    Counts,
    best_hour,
    best_hour_for,
    evaluate,
    hour_counts,
    population,
    rates,
    scores,
    smoothed,
)
from omnikanal.recommend.jobs import ChannelsProcessor

BERLIN = ZoneInfo("Europe/Berlin")


def test_a_customer_without_messages_gets_the_population_rate_and_many_messages_their_own() -> None:
    assert smoothed(Counts(0, 0), 0.2, 10) == pytest.approx(0.2)
    # one message acted on moves the score only a little from the prior ...
    assert smoothed(Counts(1, 1), 0.2, 10) == pytest.approx((1 + 2) / 11)
    # ... a long history speaks for itself
    assert smoothed(Counts(1000, 900), 0.2, 10) == pytest.approx((900 + 2) / 1010)
    assert smoothed(Counts(1000, 900), 0.2, 10) > 0.89
    # no prior at all: the customer's own rate
    assert smoothed(Counts(4, 1), 0.2, 0) == pytest.approx(0.25)


def test_population_rates_per_channel_and_the_overall_rate_for_a_channel_nobody_got() -> None:
    totals = population([{"email": Counts(10, 3), "sms": Counts(4, 2)}, {"email": Counts(10, 1)}])
    assert totals == {"email": Counts(20, 4), "sms": Counts(4, 2)}
    found = rates(totals)
    assert found["email"] == pytest.approx(0.2)
    assert found["sms"] == pytest.approx(0.5)
    assert found["push"] == pytest.approx(6 / 24)  # no push messages: all channels together
    assert set(found) == set(SCORED)
    assert rates({}) == dict.fromkeys(SCORED, 0.0)


def test_scores_cover_every_channel_with_the_prior_where_the_customer_has_no_messages() -> None:
    got = scores({"sms": Counts(5, 5)}, {"email": 0.3, "sms": 0.1, "whatsapp": 0.2, "push": 0.05}, 5)
    assert got["email"] == pytest.approx(0.3)
    assert got["sms"] == pytest.approx((5 + 0.5) / 10)
    assert got["sms"] > got["email"]


def _at(hour: int, day: int = 1) -> datetime:
    return datetime(2026, 3, day, hour, 20, tzinfo=BERLIN).astimezone(UTC)


def test_the_best_hour_is_the_busiest_local_hour_once_the_history_outweighs_the_fallback() -> None:
    one = hour_counts([_at(19)], BERLIN)
    assert one[19] == 1
    assert best_hour(one, 10, 3.0) == 10  # one evening open does not move the fallback
    many = hour_counts([_at(19, d) for d in range(1, 6)] + [_at(8)], BERLIN)
    assert best_hour(many, 10, 3.0) == 19
    # neighbours count half: 19 between busy 18 and 20 wins, though each of them had more
    times = [_at(h, d) for h, days in ((18, 3), (19, 2), (20, 3)) for d in range(1, days + 1)]
    assert best_hour(hour_counts(times, BERLIN), 10, 0.0) == 19
    # the customer's zone decides the hour, not UTC
    tokyo = hour_counts([_at(19, d) for d in range(1, 6)], ZoneInfo("Asia/Tokyo"))
    assert best_hour(tokyo, 10, 3.0) == 3


def _hb(found: Any) -> tuple[int, str]:
    return found.hour, found.basis


def test_the_best_hour_per_channel_falls_back_to_the_all_channel_hour_then_the_setting() -> None:
    times = [("email", _at(8, d)) for d in range(1, 7)] + [("sms", _at(19, d)) for d in range(1, 6)]
    times += [(None, _at(8, 9))]  # a visit: counts for the hour over all channels only
    assert best_hour_for(times, BERLIN, "email", 10, 3.0).hour == 8
    sms = best_hour_for(times, BERLIN, "sms", 10, 3.0)
    assert (sms.hour, sms.basis, sms.channel_events, sms.events) == (19, "channel", 5, 12)
    # no reactions on push: the customer's hour over all channels; auto (no channel) the same
    assert _hb(best_hour_for(times, BERLIN, "push", 10, 3.0)) == (8, "all_channels")
    assert _hb(best_hour_for(times, BERLIN, None, 10, 3.0)) == (8, "all_channels")
    # one SMS click does not outweigh the all-channel hour; with little history at all, the setting
    few = [("sms", _at(19)), ("email", _at(7))]
    assert _hb(best_hour_for(few, BERLIN, "sms", 10, 3.0)) == (10, "fallback")
    assert _hb(best_hour_for([], BERLIN, "email", 10, 3.0)) == (10, "fallback")


def test_the_next_best_hour_is_today_later_tomorrow_once_past_and_now_within_it() -> None:
    now = datetime(2026, 6, 10, 10, 30, tzinfo=UTC)  # 12:30 in Berlin
    assert next_at(now, BERLIN, 19) == datetime(2026, 6, 10, 17, 0, tzinfo=UTC)
    assert next_at(now, BERLIN, 9) == datetime(2026, 6, 11, 7, 0, tzinfo=UTC)
    assert next_at(now, BERLIN, 12) == now
    # the night of the change to summer time: 19:00 local is 17:00 UTC on the next day
    before = datetime(2026, 3, 28, 20, 0, tzinfo=UTC)  # 21:00 CET
    assert next_at(before, BERLIN, 19) == datetime(2026, 3, 29, 17, 0, tzinfo=UTC)


def _sent(pid: str, channel: str, day: int, acted: bool) -> Any:
    at = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(days=day)
    return Sent(pid, channel, at, at + timedelta(hours=48), at + timedelta(hours=1) if acted else None)


def test_the_replay_counts_how_often_the_best_scored_channel_was_the_one_acted_on() -> None:
    # a customer on email and sms who only ever acts on sms; the fixed order tries email first
    history = []
    for day in range(0, 40, 4):
        history.append(_sent("p1", "email", day, False))
        history.append(_sent("p1", "sms", day + 1, True))
    history.append(_sent("p2", "email", 1, True))  # one channel only: no choice to judge
    result = evaluate(history, ("email", "sms"), 2.0)
    assert result.occasions == 10
    assert result.baseline_hits == 0
    # from the second sms on, the history before it speaks for sms
    assert result.model_hits >= 8


def test_the_channel_processor_reads_only_message_statuses_replies_and_calls() -> None:
    interest = ChannelsProcessor(None).interest(None)  # type: ignore[arg-type]
    for name in (
        "Message Sent",
        "Message Opened",
        "Message Clicked",
        "Case Message Received",
        "Call Ended",
        "Order Updated",
    ):
        assert interest.wants("track", name), name
    for name in ("Product Viewed", "Order Completed", "Message Delivered", "Consent Updated"):
        assert not interest.wants("track", name), name
    assert not interest.wants("page", None)
    assert not interest.wants("identify", None)


def test_on_a_generated_history_the_next_best_channel_beats_the_fixed_order() -> None:
    sent = generate.messages(500)
    assert len({m.profile_id for m in sent}) == 500
    result = evaluate(sent, ("email", "push", "sms", "whatsapp"), 10.0)
    assert result.occasions > 1000
    assert result.model_hits > result.baseline_hits * 1.3
    assert generate.messages(50) == generate.messages(50)  # seeded: a run can be repeated
