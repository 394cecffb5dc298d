"""The policy gate's rules, with no I/O: caps, quiet hours across time zones and DST, channel auto."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from omnikanal.clock import FixedClock
from omnikanal.consent.model import ConsentChange, ContactDecision, Reason
from omnikanal.messaging.gate import decide, quiet_until
from omnikanal.messaging.model import CustomerFacts, GateRequest, Policy, QuietHours, Verdict

QUIET = QuietHours.parse("20:00-08:00")
POLICY = Policy(
    quiet_hours={"email": QUIET, "sms": QUIET, "whatsapp": QUIET},
    cap_count=3,
    cap_days=7,
    channel_caps={"sms": 2},
)


class Consent:
    """Grants per (purpose), suppressed addresses; an answer like the consent capability's."""

    def __init__(self, granted: set[str] | None = None, suppressed: set[str] | None = None) -> None:
        self.granted = granted or set()
        self.suppressed = suppressed or set()
        self.asked: list[tuple[str | None, str | None]] = []

    def may_contact(
        self, profile_id: str, purpose: str | None, channel: str | None = None
    ) -> ContactDecision:
        self.asked.append((purpose, channel))
        if purpose is None:
            return ContactDecision(True, Reason.TRANSACTIONAL, profile_id, purpose, channel)
        if purpose in self.granted:
            return ContactDecision(True, Reason.GRANTED, profile_id, purpose, channel)
        return ContactDecision(False, Reason.NO_CONSENT, profile_id, purpose, channel)

    def record(
        self, profile_id: str, changes: list[ConsentChange], *, source: str, actor: str | None = None
    ) -> list[dict[str, Any]]:
        return []

    def suppress(self, identifier_type: str, value: str, reason: str) -> None:
        self.suppressed.add(value)

    def is_suppressed(self, identifier_type: str, value: str) -> bool:
        return value in self.suppressed

    def preference_url(self, profile_id: str) -> str:
        return "https://hub.example/preferences"


def facts(**overrides: Any) -> CustomerFacts:
    values: dict[str, Any] = {
        "profile_id": "prof_1",
        "traits": {},
        "addresses": {"email": "kim@example.org", "sms": "+4915100000000", "whatsapp": "+4915100000000"},
    }
    values.update(overrides)
    return CustomerFacts(**values)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


MARKETING_EMAIL = GateRequest("prof_1", "email", transactional=False, purpose=None)
NOON = at("2026-06-10T12:00:00+02:00")


def test_marketing_needs_the_channels_own_consent() -> None:
    consent = Consent({"email_marketing"})
    assert decide(MARKETING_EMAIL, facts(), consent, POLICY, NOON).verdict is Verdict.ALLOW
    sms = decide(GateRequest("prof_1", "sms", False, None), facts(), consent, POLICY, NOON)
    assert (sms.verdict, sms.reason, sms.purpose) == (Verdict.BLOCK, "no_consent", "sms_marketing")


def test_transactional_skips_consent_but_not_suppression() -> None:
    request = GateRequest("prof_1", "email", transactional=True, purpose=None)
    assert decide(request, facts(), Consent(), POLICY, NOON).verdict is Verdict.ALLOW
    suppressed = decide(request, facts(), Consent(suppressed={"kim@example.org"}), POLICY, NOON)
    assert (suppressed.verdict, suppressed.reason) == (Verdict.BLOCK, "suppressed")


def test_unknown_profile_and_missing_address_block() -> None:
    assert (
        decide(MARKETING_EMAIL, None, Consent({"email_marketing"}), POLICY, NOON).reason == "unknown_profile"
    )
    no_email = facts(addresses={})
    assert (
        decide(MARKETING_EMAIL, no_email, Consent({"email_marketing"}), POLICY, NOON).reason == "unreachable"
    )


def test_global_cap_counts_all_channels_and_the_window_slides() -> None:
    clock = FixedClock(NOON)
    recent = [
        (NOON - timedelta(days=6), "sms"),
        (NOON - timedelta(days=2), "email"),
        (NOON - timedelta(hours=1), "push"),
    ]
    consent = Consent({"email_marketing"})
    blocked = decide(MARKETING_EMAIL, facts(recent_marketing=recent), consent, POLICY, clock.now())
    assert (blocked.verdict, blocked.reason) == (Verdict.BLOCK, "frequency_cap")
    clock.advance(timedelta(days=1, seconds=1))  # the SMS of six days ago leaves the 7-day window
    assert decide(MARKETING_EMAIL, facts(recent_marketing=recent), consent, POLICY, clock.now()).allowed


def test_per_channel_cap() -> None:
    recent = [(NOON - timedelta(days=1), "sms"), (NOON - timedelta(days=2), "sms")]
    request = GateRequest("prof_1", "sms", False, None)
    decision = decide(
        request, facts(recent_marketing=recent), Consent({"sms_marketing", "email_marketing"}), POLICY, NOON
    )
    assert (decision.verdict, decision.reason) == (Verdict.BLOCK, "channel_frequency_cap")
    # the same two messages leave room for an email (global cap 3)
    assert decide(
        MARKETING_EMAIL, facts(recent_marketing=recent), Consent({"email_marketing"}), POLICY, NOON
    ).allowed


@pytest.mark.parametrize(
    ("now", "zone", "until"),
    [
        # 23:00 in Berlin (summer): until 08:00 Berlin = 06:00 UTC next day
        ("2026-06-10T21:00:00+00:00", "Europe/Berlin", "2026-06-11T06:00:00+00:00"),
        # 03:00 in Berlin (winter): until 08:00 Berlin = 07:00 UTC the same day
        ("2026-01-15T02:00:00+00:00", "Europe/Berlin", "2026-01-15T07:00:00+00:00"),
        # 11:00 UTC is 07:00 in New York (summer, UTC-4): until 08:00 there = 12:00 UTC
        ("2026-06-10T11:00:00+00:00", "America/New_York", "2026-06-10T12:00:00+00:00"),
        # 21:00 UTC is 07:00 next morning in Sydney (winter there, UTC+10)
        ("2026-06-10T21:00:00+00:00", "Australia/Sydney", "2026-06-10T22:00:00+00:00"),
        # the night clocks go forward in Berlin (29 March 2026, 02:00 -> 03:00): 08:00 CEST = 06:00 UTC
        ("2026-03-28T22:30:00+00:00", "Europe/Berlin", "2026-03-29T06:00:00+00:00"),
        # the night clocks go back (25 October 2026, 03:00 -> 02:00): 08:00 CET = 07:00 UTC
        ("2026-10-24T22:30:00+00:00", "Europe/Berlin", "2026-10-25T07:00:00+00:00"),
    ],
)
def test_quiet_hours_defer_to_the_local_morning(now: str, zone: str, until: str) -> None:
    decision = decide(
        MARKETING_EMAIL, facts(traits={"timezone": zone}), Consent({"email_marketing"}), POLICY, at(now)
    )
    assert decision.verdict is Verdict.DEFER
    assert decision.reason == "quiet_hours"
    assert decision.not_before == at(until)


def test_quiet_hours_let_daytime_through_and_fall_back_to_the_default_zone() -> None:
    consent = Consent({"email_marketing"})
    # 10:00 UTC is 12:00 in Berlin, the default zone (an unknown zone name falls back to it)
    daytime = decide(
        MARKETING_EMAIL,
        facts(traits={"timezone": "Mars/Olympus"}),
        consent,
        POLICY,
        at("2026-06-10T10:00:00+00:00"),
    )
    assert daytime.allowed
    check = next(c for c in daytime.checks if c["rule"] == "quiet_hours")
    assert check["timezone"] == "Europe/Berlin"
    assert check["timezone_from"] == "default"
    # 07:59 local is quiet, 08:00 is not
    assert (
        decide(MARKETING_EMAIL, facts(), consent, POLICY, at("2026-06-10T07:59:00+02:00")).verdict
        is Verdict.DEFER
    )
    assert decide(MARKETING_EMAIL, facts(), consent, POLICY, at("2026-06-10T08:00:00+02:00")).allowed
    assert decide(MARKETING_EMAIL, facts(), consent, POLICY, at("2026-06-10T19:59:00+02:00")).allowed
    assert (
        decide(MARKETING_EMAIL, facts(), consent, POLICY, at("2026-06-10T20:00:00+02:00")).verdict
        is Verdict.DEFER
    )


def test_transactional_messages_ignore_quiet_hours_unless_configured() -> None:
    request = GateRequest("prof_1", "sms", transactional=True, purpose=None)
    night = at("2026-06-10T23:30:00+02:00")
    assert decide(request, facts(), Consent(), POLICY, night).allowed
    strict = Policy(quiet_hours={"sms": QUIET}, quiet_hours_transactional=True)
    assert decide(request, facts(), Consent(), strict, night).verdict is Verdict.DEFER


def test_a_channel_without_quiet_hours_and_a_daytime_window() -> None:
    assert quiet_until(
        NOON, __import__("zoneinfo").ZoneInfo("Europe/Berlin"), QuietHours.parse("12:00-14:00")
    ) == at("2026-06-10T14:00:00+02:00")
    webhook = GateRequest("prof_1", "webhook", transactional=True, purpose=None)
    night = at("2026-06-10T23:30:00+02:00")
    assert decide(
        webhook, facts(), Consent(), POLICY, night, reachable_extra={"webhook": "https://x.example"}
    ).allowed


def test_quiet_hours_text_is_checked() -> None:
    with pytest.raises(ValueError, match="20:00-08:00"):
        QuietHours.parse("8pm-8am")


AUTO = GateRequest("prof_1", "auto", transactional=False, purpose=None)


def test_auto_prefers_the_stated_channel_when_allowed_and_reachable() -> None:
    consent = Consent({"email_marketing", "sms_marketing"})
    decision = decide(AUTO, facts(traits={"preferredChannel": "SMS"}), consent, POLICY, NOON)
    assert (decision.channel, decision.channel_reason, decision.purpose) == (
        "sms",
        "preferred",
        "sms_marketing",
    )


def test_auto_takes_the_most_recently_used_allowed_channel_when_the_preference_is_not_allowed() -> None:
    consent = Consent({"email_marketing", "messenger_marketing"})
    engagement = {
        "email": (40, NOON - timedelta(days=30)),
        "whatsapp": (3, NOON - timedelta(days=1)),
        "sms": (99, NOON - timedelta(hours=1)),  # most recent, but no consent
    }
    decision = decide(
        AUTO, facts(traits={"preferred_channel": "sms"}, engagement=engagement), consent, POLICY, NOON
    )
    assert decision.channel == "whatsapp"
    assert decision.purpose == "messenger_marketing"
    assert decision.channel_reason is not None
    assert "most_recent_engagement" in decision.channel_reason
    assert "preferred sms not allowed" in decision.channel_reason


def test_auto_falls_back_to_the_configured_order_and_blocks_when_nothing_is_left() -> None:
    consent = Consent({"sms_marketing"})
    decision = decide(AUTO, facts(), consent, POLICY, NOON)
    assert (decision.channel, decision.channel_reason) == ("sms", "fallback_order")
    nothing = decide(AUTO, facts(addresses={"email": "kim@example.org"}), Consent(), POLICY, NOON)
    assert (nothing.verdict, nothing.reason) == (Verdict.BLOCK, "no_allowed_channel")
    assert nothing.channel_reason is not None
    assert "email: no_consent" in nothing.channel_reason
    assert "sms: unreachable" in nothing.channel_reason


def test_auto_only_picks_channels_the_template_has() -> None:
    consent = Consent({"email_marketing", "sms_marketing"})
    request = GateRequest("prof_1", "auto", False, None, only=frozenset({"email"}))
    decision = decide(request, facts(traits={"preferredChannel": "sms"}), consent, POLICY, NOON)
    assert decision.channel == "email"


def test_auto_still_applies_quiet_hours_and_caps_to_the_channel_it_chose() -> None:
    consent = Consent({"email_marketing"})
    night = decide(AUTO, facts(), consent, POLICY, at("2026-06-10T23:00:00+02:00"))
    assert (night.verdict, night.channel) == (Verdict.DEFER, "email")
    full = facts(recent_marketing=[(NOON, "email")] * 3)
    assert decide(AUTO, full, consent, POLICY, NOON).reason == "frequency_cap"
