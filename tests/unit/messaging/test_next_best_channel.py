"""Channel auto with next-best-channel scores, with no I/O: the usable channels ranked by score
when the customer has scores and personalisation consent, never a channel without consent however
high its score, and the fixed order without personalisation consent or without scores."""

from __future__ import annotations

from omnikanal.messaging.gate import decide
from omnikanal.messaging.model import GateRequest, Policy, Verdict
from tests.unit.messaging.test_messaging_gate import NOON, Consent, at, facts
from tests.unit.messaging.test_messaging_gate import POLICY as QUIET_POLICY

POLICY = Policy(auto_fallback=("email", "sms", "whatsapp"))
AUTO = GateRequest("prof_1", "auto", transactional=False, purpose=None)
SCORES = {"email": (0.12, 20), "sms": (0.31, 8), "whatsapp": (0.05, 3)}
ALL = {"email_marketing", "sms_marketing", "messenger_marketing", "personalisation"}


def test_auto_takes_the_highest_scored_usable_channel_and_says_why() -> None:
    decision = decide(AUTO, facts(channel_scores=SCORES), Consent(ALL), POLICY, NOON)
    assert decision.verdict is Verdict.ALLOW
    assert decision.channel == "sms"
    assert decision.channel_reason == "next_best_channel sms 0.31 > email 0.12 > whatsapp 0.05"
    check = next(c for c in decision.checks if c["rule"] == "next_best_channel")
    assert check["personalisation"] is True
    assert check["scores"] == {"email": 0.12, "sms": 0.31, "whatsapp": 0.05}


def test_a_channel_without_consent_is_never_chosen_however_high_its_score() -> None:
    consent = Consent({"email_marketing", "messenger_marketing", "personalisation"})
    scores = {"email": (0.1, 5), "sms": (0.99, 500), "whatsapp": (0.2, 5)}
    decision = decide(AUTO, facts(channel_scores=scores), consent, POLICY, NOON)
    assert decision.channel == "whatsapp"
    assert decision.channel_reason == "next_best_channel whatsapp 0.20 > email 0.10"
    # unreachable is as good as refused: no phone number, no sms or whatsapp
    no_phone = facts(channel_scores=scores, addresses={"email": "kim@example.org"})
    assert decide(AUTO, no_phone, Consent(ALL), POLICY, NOON).channel == "email"


def test_without_personalisation_consent_the_fixed_order_decides() -> None:
    consent = Consent(ALL - {"personalisation"})
    decision = decide(AUTO, facts(channel_scores=SCORES), consent, POLICY, NOON)
    assert decision.channel == "email"
    assert decision.channel_reason == "fallback_order"
    check = next(c for c in decision.checks if c["rule"] == "next_best_channel")
    assert check["personalisation"] is False


def test_without_scores_the_order_of_today_stands_and_a_stated_preference_comes_first() -> None:
    plain = decide(AUTO, facts(), Consent(ALL), POLICY, NOON)
    assert (plain.channel, plain.channel_reason) == ("email", "fallback_order")
    assert not [c for c in plain.checks if c["rule"] == "next_best_channel"]
    preferred = facts(channel_scores=SCORES, traits={"preferred_channel": "whatsapp"})
    decision = decide(AUTO, preferred, Consent(ALL), POLICY, NOON)
    assert (decision.channel, decision.channel_reason) == ("whatsapp", "preferred")


def test_equal_scores_keep_the_fallback_order_and_quiet_hours_still_defer() -> None:
    even = {"email": (0.2, 1), "sms": (0.2, 1)}
    decision = decide(AUTO, facts(channel_scores=even), Consent(ALL), POLICY, NOON)
    assert decision.channel == "email"
    night = at("2026-06-10T23:00:00+02:00")
    deferred = decide(AUTO, facts(channel_scores=SCORES), Consent(ALL), QUIET_POLICY, night)
    assert (deferred.verdict, deferred.channel, deferred.reason) == (Verdict.DEFER, "sms", "quiet_hours")
