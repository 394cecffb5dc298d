"""Next best channel and best hour end to end, on SQLite and PostgreSQL: messages go out, the
customers act on some (clicks, a visit after a message), recommend's processor scores the
channels, and the gate's auto ranks by those scores within consent; send_at best_hour schedules
at the customer's own hour and quiet hours still rule; the channels API and its bad input."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import func, select

from omnikanal.clock import FixedClock
from omnikanal.consent.model import ConsentChange, ConsentStatus
from omnikanal.hub import Hub
from omnikanal.messaging.model import Status
from omnikanal.recommend.tables import (
    recommend_channel_messages,
    recommend_channel_reactions,
    recommend_channel_scores,
)
from omnikanal.settings import Settings
from tests.helpers import assert_error, bearer, wait_processed
from tests.integration.cli.test_cli import run
from tests.integration.messaging.support import customer, grant
from tests.integration.messaging.test_email import send

NEWS = {"subject": "Neu da", "text": "Die Woche im Markt"}


def _history(
    hub: Hub, http: httpx.Client, token: str, pid: str, channel: str, count: int, acted: int
) -> None:
    """``count`` transactional messages on a channel (no cap), ``acted`` of them clicked."""
    for n in range(count):
        sent = send(http, token, profile_id=pid, channel=channel, transactional=True, content=NEWS)
        assert sent["status"] == "sent", sent
        if n < acted:
            hub.messaging.record_status(sent["id"], Status.CLICKED, {"url": "https://shop.example/"})


def _reachable(hub: Hub, user: str, n: int, personal: bool = True) -> str:
    pid = customer(hub, user, email=f"{user}@example.org", phone=f"+49151000000{n:02d}")
    grant(hub, pid, "email_marketing", "email")
    grant(hub, pid, "sms_marketing", "sms")
    if personal:
        grant(hub, pid, "personalisation")
    return pid


def _channels(http: httpx.Client, token: str, pid: str) -> dict[str, Any]:
    response = http.get(f"/api/profiles/{pid}/channels", headers=bearer(token))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_auto_picks_the_channel_the_customer_acts_on_within_consent(
    hub: Hub, http: httpx.Client, admin_token: str
) -> None:
    kim = _reachable(hub, "kim", 1)
    max_ = _reachable(hub, "max", 2, personal=False)
    for pid in (kim, max_):
        _history(hub, http, admin_token, pid, "email", 4, 0)
        _history(hub, http, admin_token, pid, "sms", 4, 4)
    wait_processed(hub)
    hub.recommend_channels.refresh()

    scores = {c["channel"]: c for c in _channels(http, admin_token, kim)["channels"]}
    assert (scores["sms"]["messages"], scores["sms"]["reactions"]) == (4, 4)
    assert (scores["email"]["messages"], scores["email"]["reactions"]) == (4, 0)
    assert scores["sms"]["score"] > scores["email"]["score"]
    assert scores["push"]["basis"] == "population"

    chosen = send(http, admin_token, profile_id=kim, channel="auto", content=NEWS)
    assert chosen["channel"] == "sms", chosen
    reason = chosen["decision"]["channel_reason"]
    assert reason.startswith("next_best_channel sms "), reason
    assert " > email " in reason

    # the same history without personalisation consent: the fixed order (email first)
    plain = send(http, admin_token, profile_id=max_, channel="auto", content=NEWS)
    assert (plain["channel"], plain["decision"]["channel_reason"]) == ("email", "fallback_order")

    # sms consent withdrawn: never sms, however high its score
    hub.consent.record(kim, [ConsentChange("sms_marketing", ConsentStatus.WITHDRAWN)], source="test")
    after = send(http, admin_token, profile_id=kim, channel="auto", content=NEWS)
    assert after["channel"] == "email", after
    body = _channels(http, admin_token, kim)
    assert {c["channel"]: c["consent"] for c in body["channels"]}["sms"] is False
    assert body["personal"] is True


def test_a_visit_after_a_message_counts_and_few_messages_stay_near_the_population_rate(
    hub: Hub, http: httpx.Client, admin_token: str, clock: FixedClock, make_channel: Any
) -> None:
    many = _reachable(hub, "ria", 3)
    _history(hub, http, admin_token, many, "email", 10, 5)
    few = _reachable(hub, "ole", 4)
    _history(hub, http, admin_token, few, "email", 1, 0)
    picker = _reachable(hub, "pia", 5)
    _history(hub, http, admin_token, picker, "sms", 1, 0)
    clock.advance(timedelta(hours=2))
    web = make_channel("webshop", "web").write_key
    view = {
        "type": "track",
        "userId": "ole",
        "event": "Product Viewed",
        "properties": {"sku": "DRILL-1"},
        "timestamp": clock.now().isoformat(),
    }
    assert http.post("/v1/track", json=view, auth=(web, "")).status_code == 200
    # a pick-up in store after an SMS counts for it; another order status does not
    for status in ("confirmed", "picked_up"):
        update = {**view, "userId": "pia", "event": "Order Updated", "properties": {"status": status}}
        assert http.post("/v1/track", json=update, auth=(web, "")).status_code == 200
    wait_processed(hub)
    figures = hub.recommend_channels.refresh()
    assert figures["rates"]["email"] == round(6 / 11, 4)  # ria's five clicks and ole's visit, of 11

    email = {c["channel"]: c for c in _channels(http, admin_token, few)["channels"]}["email"]
    assert (email["messages"], email["reactions"]) == (1, 1)  # the visit two hours after it
    prior = hub.settings.recommend_channel_prior_strength
    assert abs(email["score"] - (1 + prior * 6 / 11) / (1 + prior)) < 1e-5
    sms = {c["channel"]: c for c in _channels(http, admin_token, picker)["channels"]}["sms"]
    assert (sms["messages"], sms["reactions"]) == (1, 1)
    with hub.engine.connect() as conn:
        r = recommend_channel_reactions.c
        kinds = conn.execute(select(r.kind, r.channel).where(r.profile_id == picker)).all()
    assert [tuple(k) for k in kinds] == [("pickup", "*")]  # the confirmation is no reaction


def test_send_at_best_hour_waits_for_the_customers_hour_and_quiet_hours_still_rule(
    hub: Hub, http: httpx.Client, admin_token: str, clock: FixedClock, make_channel: Any
) -> None:
    web = make_channel("webshop", "web").write_key
    evening = _reachable(hub, "eva", 5)
    night = _reachable(hub, "nils", 6)
    stranger = _reachable(hub, "udo", 7, personal=False)
    events = []
    for day in range(1, 8):
        for user, hour in (("eva", 19), ("nils", 22), ("udo", 19)):
            at = datetime(2026, 6, day, hour - 2, 15, tzinfo=UTC)  # 19:15 and 22:15 in Berlin (CEST)
            props = {"sku": "PAINT-1"}
            events.append(
                {
                    "type": "track",
                    "userId": user,
                    "event": "Product Viewed",
                    "properties": props,
                    "timestamp": at.isoformat(),
                }
            )
    assert http.post("/v1/batch", json={"batch": events}, auth=(web, "")).status_code == 200
    wait_processed(hub)

    best = send(http, admin_token, profile_id=evening, channel="email", content=NEWS, send_at="best_hour")
    assert best["status"] == "queued"
    assert best["due_at"] == "2026-06-10T17:00:00Z"  # 19:00 in Berlin, today
    assert best["send_time"]["hour"] == 19
    assert best["send_time"]["timezone"] == "Europe/Berlin"

    fallback = send(
        http, admin_token, profile_id=stranger, channel="email", content=NEWS, send_at="best_hour"
    )
    assert fallback["send_time"]["hour"] == hub.settings.recommend_best_hour_fallback  # no consent
    assert "no personalisation consent" in fallback["send_time"]["reason"]
    assert fallback["due_at"] == "2026-06-11T08:00:00Z"  # 10:00 tomorrow in Berlin

    late = send(http, admin_token, profile_id=night, channel="email", content=NEWS, send_at="best_hour")
    assert late["send_time"]["hour"] == 22
    assert late["due_at"] == "2026-06-10T20:00:00Z"
    clock.advance(timedelta(hours=10))  # 22:00 in Berlin: inside the quiet hours (20:00-08:00)
    hub.dispatcher.run_once()
    deferred = http.get(f"/api/messages/{late['id']}", headers=bearer(admin_token)).json()
    assert (deferred["status"], deferred["reason"]) == ("deferred", "quiet_hours")
    assert deferred["due_at"] == "2026-06-11T06:00:00Z"  # 08:00 in Berlin


def test_best_hour_is_kept_per_channel_with_the_all_channel_hour_behind_it(
    hub: Hub, http: httpx.Client, admin_token: str, clock: FixedClock
) -> None:
    pid = _reachable(hub, "mia", 9)
    # six mornings she opens an email at 08:10 in Berlin; five evenings she clicks an SMS at 19:10
    clock.advance(timedelta(hours=20, minutes=10))  # 2026-06-11 06:10 UTC, 08:10 in Berlin
    for day in range(6):
        mail = send(http, admin_token, profile_id=pid, channel="email", transactional=True, content=NEWS)
        hub.messaging.record_status(mail["id"], Status.OPENED, {})
        clock.advance(timedelta(hours=11))  # 19:10 in Berlin
        if day < 5:
            sms = send(http, admin_token, profile_id=pid, channel="sms", transactional=True, content=NEWS)
            hub.messaging.record_status(sms["id"], Status.CLICKED, {"url": "https://shop.example/"})
        clock.advance(timedelta(hours=13))
    clock.advance(timedelta(hours=4))  # 2026-06-17 10:10 UTC, 12:10 in Berlin
    wait_processed(hub)

    email = send(http, admin_token, profile_id=pid, channel="email", content=NEWS, send_at="best_hour")
    assert email["send_time"]["hour"] == 8
    assert (email["send_time"]["channel"], email["send_time"]["basis"]) == ("email", "channel")
    assert email["due_at"] == "2026-06-18T06:00:00Z"  # 08:00 in Berlin, tomorrow
    sms = send(http, admin_token, profile_id=pid, channel="sms", content=NEWS, send_at="best_hour")
    assert sms["send_time"]["hour"] == 19
    assert (sms["send_time"]["channel"], sms["send_time"]["basis"]) == ("sms", "channel")
    assert "on sms from 5 opens, clicks and replies" in sms["send_time"]["reason"]
    assert sms["due_at"] == "2026-06-17T17:00:00Z"  # 19:00 in Berlin, today
    # a channel she never reacted on takes her hour over all channels (the six mornings win)
    push = hub.recommend_channels.best_hour
    with hub.engine.connect() as conn:
        assert push(conn, pid, ZoneInfo("Europe/Berlin"), "push")[:2] == (8, "all_channels")
    # auto chooses the channel at dispatch: the hour over all channels
    auto = send(http, admin_token, profile_id=pid, channel="auto", content=NEWS, send_at="best_hour")
    assert (auto["send_time"]["hour"], auto["send_time"]["basis"]) == (8, "all_channels")
    assert auto["send_time"]["channel"] == "auto"
    # quiet hours still rule for the channel's hour: 19:00 is outside 20:00-08:00, so it goes out
    clock.advance(timedelta(hours=7))
    hub.dispatcher.run_once()
    out = http.get(f"/api/messages/{sms['id']}", headers=bearer(admin_token)).json()
    assert out["status"] == "sent", out


def test_bad_input_to_the_channels_api_and_to_send_at(hub: Hub, http: httpx.Client, admin_token: str) -> None:
    unknown = http.get("/api/profiles/nobody/channels", headers=bearer(admin_token))
    assert_error(unknown, 404, "profile_not_found")
    too_long = http.get(f"/api/profiles/{'x' * 41}/channels", headers=bearer(admin_token))
    assert too_long.status_code == 400
    assert too_long.json()["error"]["field"] == "profile_id"
    assert http.get("/api/profiles/nobody/channels").status_code == 401
    pid = _reachable(hub, "bad", 8)
    wrong = http.post(
        "/api/messages",
        json={"profile_id": pid, "channel": "email", "content": NEWS, "send_at": "noon"},
        headers=bearer(admin_token),
    )
    assert wrong.status_code == 400
    assert wrong.json()["error"]["field"] == "send_at"


def test_the_commands_refresh_the_scores_and_replay_the_choice_against_the_fixed_order(
    hub: Hub, http: httpx.Client, admin_token: str, settings: Settings, tmp_path: Path
) -> None:
    for n, user in enumerate(("ada", "ben")):
        pid = _reachable(hub, user, 10 + n)
        _history(hub, http, admin_token, pid, "email", 3, 0)
        _history(hub, http, admin_token, pid, "sms", 3, 3)
    wait_processed(hub)
    env = {
        **os.environ,
        "OMNIKANAL_DATABASE_URL": settings.database_url,
        "OMNIKANAL_DATA_DIR": str(tmp_path / "cli"),
        "COLUMNS": "200",
    }
    refreshed = run(["recommend", "channels"], env, check=False)
    assert refreshed.returncode == 0, refreshed.stdout + refreshed.stderr
    assert "channel scores of 2 customers from 12 messages" in refreshed.stdout, refreshed.stdout
    cells = [line.replace("│", " ").split() for line in refreshed.stdout.splitlines() if "%" in line]
    rows = {cell[0]: cell[1:] for cell in cells}
    assert rows["sms"] == ["6", "6", "100.0%"], refreshed.stdout
    assert rows["email"] == ["6", "0", "0.0%"], refreshed.stdout
    replay = run(["recommend", "evaluate"], env, check=False)
    lines = replay.stdout.splitlines()
    assert "next best channel: replay of 6 messages acted on (the hub's messages)" in lines, replay.stdout
    assert any("next best channel" in line and "100.0%" in line for line in lines), replay.stdout
    assert any("fixed order" in line and "0.0%" in line for line in lines), replay.stdout
    generated = run(["recommend", "evaluate", "--generated", "1000"], env, check=False)
    assert any("generated messages)" in line for line in generated.stdout.splitlines()), generated.stdout


def test_erasure_removes_the_persons_messages_reactions_and_scores(
    hub: Hub, http: httpx.Client, admin_token: str
) -> None:
    pid = _reachable(hub, "gone", 20)
    _history(hub, http, admin_token, pid, "sms", 2, 1)
    wait_processed(hub)

    def held() -> int:
        with hub.engine.connect() as conn:
            return sum(
                conn.execute(select(func.count()).where(t.c.profile_id == pid)).scalar_one()
                for t in (recommend_channel_messages, recommend_channel_scores)
            )

    assert held() > 0
    dpo = hub.tokens.create("dpo", "privacy")[1]
    erased = http.post(
        "/api/privacy/requests",
        json={"type": "erasure", "identifier": {"type": "user_id", "value": "gone"}},
        headers=bearer(dpo),
    )
    assert erased.status_code == 201, erased.text
    assert held() == 0
