"""The policy gate: may this message go to this customer now, on which channel, and if not, why.

Every message passes it at dispatch time (not when queued: consent can change in between) and its
decision is stored with the message. The rules, in order:

1. channel: the requested one, or for ``auto`` the stated preference, else (with scores for the
   customer and their ``personalisation`` consent) the allowed reachable channel with the highest
   next-best-channel score, else the one the customer engages with (most recent, then most used),
   else the configured fallback order;
2. reachability: an address for the channel;
3. suppression of that address (hard bounces, complaints, erased people);
4. consent for the purpose and channel (transactional messages skip the marketing consent but
   never erasure, restriction or suppression): the consent capability answers;
5. quiet hours in the customer's time zone: DEFER to the end of the window, never drop;
6. frequency caps on marketing: across all channels, and per channel.

The rules are pure functions of the facts, the consent answers and "now"; no I/O happens here
beyond the consent port.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import Connection

from omnikanal.consent.model import ConsentChange, ContactDecision
from omnikanal.errors import OmnikanalError
from omnikanal.messaging.model import (
    ADDRESS_TYPE,
    AUTO,
    MARKETING_PURPOSE,
    CustomerFacts,
    GateDecision,
    GateRequest,
    Policy,
    QuietHours,
    Verdict,
)

# The consent purpose that lets the gate use what it learnt of the customer (channel scores).
PERSONALISATION = "personalisation"


class ConsentPort(Protocol):
    """What messaging needs of the consent capability (``hub.consent``)."""

    def may_contact(
        self, profile_id: str, purpose: str | None, channel: str | None = None
    ) -> ContactDecision:
        """``purpose=None``: transactional; still refused for erased, suppressed or unknown profiles."""
        ...

    def record(
        self, profile_id: str, changes: list[ConsentChange], *, source: str, actor: str | None = None
    ) -> list[dict[str, Any]]: ...

    def suppress(self, identifier_type: str, value: str, reason: str) -> None: ...

    def is_suppressed(self, identifier_type: str, value: str) -> bool: ...

    def preference_url(self, profile_id: str) -> str: ...


class BoundConsent:
    """The consent port answering inside the dispatcher's transaction where the service allows it
    (``decide(conn, ...)``): the answer is read under the same locks as the cap, and a decision
    costs no connection of its own."""

    def __init__(self, consent: ConsentPort, conn: Connection) -> None:
        self._consent = consent
        self._conn = conn

    def may_contact(
        self, profile_id: str, purpose: str | None, channel: str | None = None
    ) -> ContactDecision:
        decide = getattr(self._consent, "decide", None)
        if decide is None:
            return self._consent.may_contact(profile_id, purpose, channel)
        answer: ContactDecision = decide(self._conn, profile_id, purpose, channel)
        return answer

    def is_suppressed(self, identifier_type: str, value: str) -> bool:
        suppression = getattr(self._consent, "suppression", None)
        if suppression is None:
            return self._consent.is_suppressed(identifier_type, value)
        hashed = suppression.hash_raw(identifier_type, value)
        return hashed is not None and bool(suppression.present(self._conn, [hashed]))

    def record(
        self, profile_id: str, changes: list[ConsentChange], *, source: str, actor: str | None = None
    ) -> list[dict[str, Any]]:
        return self._consent.record(profile_id, changes, source=source, actor=actor)

    def suppress(self, identifier_type: str, value: str, reason: str) -> None:
        self._consent.suppress(identifier_type, value, reason)

    def preference_url(self, profile_id: str) -> str:
        return self._consent.preference_url(profile_id)


def purpose_for(request: GateRequest, channel: str) -> str | None:
    """The consent purpose a message needs on a channel; None for transactional messages."""
    if request.transactional:
        return None
    if request.purpose and (request.channel != AUTO or request.purpose not in MARKETING_PURPOSE.values()):
        return request.purpose
    # A marketing purpose of one channel never stands in for another channel's.
    return MARKETING_PURPOSE.get(channel, request.purpose)


def zone_of(facts: CustomerFacts, policy: Policy) -> tuple[ZoneInfo, str]:
    """The customer's time zone (trait ``timezone``), else the default; and where it came from."""
    name = facts.timezone
    if name:
        try:
            return ZoneInfo(name), "trait"
        except (ZoneInfoNotFoundError, ValueError):
            pass
    return ZoneInfo(policy.default_timezone), "default"


def quiet_until(now: datetime, zone: ZoneInfo, window: QuietHours) -> datetime | None:
    """The UTC time the quiet window ends, when ``now`` falls inside it; else None.

    Computed on the local wall clock, so a window that spans a DST change still ends at the local
    end time (08:00 is 08:00 in summer and winter).
    """
    local = now.astimezone(zone)
    minute = local.hour * 60 + local.minute
    start, end = window.start_minute, window.end_minute
    if start == end:
        return None
    inside = start <= minute < end if start < end else minute >= start or minute < end
    if not inside:
        return None
    end_day = local.date()
    if start > end and minute >= start:  # evening part of a window that wraps past midnight
        end_day += timedelta(days=1)
    end_time = time(23, 59) if end == 24 * 60 else time(end // 60, end % 60)
    ends = datetime.combine(end_day, end_time, tzinfo=zone).astimezone(UTC)
    return ends if ends > now else now


def decide(
    request: GateRequest,
    facts: CustomerFacts | None,
    consent: ConsentPort,
    policy: Policy,
    now: datetime,
    *,
    reachable_extra: dict[str, str] | None = None,
) -> GateDecision:
    """The gate's decision for one message now. ``facts`` is None for a profile that does not exist."""
    if facts is None:
        return GateDecision(Verdict.BLOCK, "unknown_profile", None, request.purpose)
    addresses = dict(facts.addresses)
    addresses.update(reachable_extra or {})
    if request.address:
        channel_fixed = request.channel if request.channel != AUTO else None
        if channel_fixed:
            addresses[channel_fixed] = request.address
    checks: list[dict[str, Any]] = []

    if request.channel == AUTO:
        channel, channel_reason, decision = _choose(request, facts, addresses, consent, policy, checks)
        if channel is None:
            return GateDecision(
                Verdict.BLOCK,
                "no_allowed_channel",
                None,
                request.purpose,
                channel_reason=channel_reason,
                checks=checks,
            )
    else:
        channel, channel_reason, decision = request.channel, "requested", None

    purpose = purpose_for(request, channel)
    address = addresses.get(channel)
    if address is None:
        checks.append({"rule": "reachability", "channel": channel, "ok": False})
        return GateDecision(
            Verdict.BLOCK, "unreachable", channel, purpose, channel_reason=channel_reason, checks=checks
        )
    checks.append({"rule": "reachability", "channel": channel, "ok": True})

    if decision is None:  # auto already asked these for the channel it chose
        blocked = _suppressed_or_refused(request, facts, channel, address, consent, checks)
        if blocked is not None:
            return GateDecision(
                Verdict.BLOCK,
                blocked,
                channel,
                purpose,
                address,
                channel_reason=channel_reason,
                checks=checks,
            )

    marketing = not request.transactional
    window = policy.quiet_hours.get(channel)
    if window is not None and (marketing or policy.quiet_hours_transactional):
        zone, zone_source = zone_of(facts, policy)
        until = quiet_until(now, zone, window)
        checks.append(
            {"rule": "quiet_hours", "timezone": zone.key, "timezone_from": zone_source, "ok": until is None}
        )
        if until is not None:
            return GateDecision(
                Verdict.DEFER,
                "quiet_hours",
                channel,
                purpose,
                address,
                not_before=until,
                channel_reason=channel_reason,
                checks=checks,
            )

    if marketing:
        since = now - timedelta(days=policy.cap_days)
        recent = [c for at, c in facts.recent_marketing if at >= since]
        ok = len(recent) < policy.cap_count
        checks.append(
            {
                "rule": "frequency_cap",
                "window_days": policy.cap_days,
                "count": len(recent),
                "limit": policy.cap_count,
                "ok": ok,
            }
        )
        if not ok:
            return GateDecision(
                Verdict.BLOCK,
                "frequency_cap",
                channel,
                purpose,
                address,
                channel_reason=channel_reason,
                checks=checks,
            )
        limit = policy.channel_caps.get(channel)
        if limit is not None:
            on_channel = sum(1 for c in recent if c == channel)
            ok = on_channel < limit
            checks.append(
                {"rule": "channel_cap", "channel": channel, "count": on_channel, "limit": limit, "ok": ok}
            )
            if not ok:
                return GateDecision(
                    Verdict.BLOCK,
                    "channel_frequency_cap",
                    channel,
                    purpose,
                    address,
                    channel_reason=channel_reason,
                    checks=checks,
                )

    return GateDecision(
        Verdict.ALLOW,
        "transactional" if request.transactional else "consented",
        channel,
        purpose,
        address,
        channel_reason=channel_reason,
        checks=checks,
    )


def _suppressed_or_refused(
    request: GateRequest,
    facts: CustomerFacts,
    channel: str,
    address: str,
    consent: ConsentPort,
    checks: list[dict[str, Any]],
) -> str | None:
    """The blocking reason from suppression or consent, or None when both allow."""
    address_type = ADDRESS_TYPE.get(channel)
    if address_type is not None and consent.is_suppressed(address_type, address):
        checks.append({"rule": "suppression", "channel": channel, "ok": False})
        return "suppressed"
    checks.append({"rule": "suppression", "channel": channel, "ok": True})
    purpose = purpose_for(request, channel)
    try:
        answer = consent.may_contact(facts.profile_id, purpose, channel)
    except OmnikanalError as exc:  # e.g. a purpose the consent ledger does not know
        checks.append({"rule": "consent", "ok": False, "error": exc.message})
        return exc.code
    checks.append({"rule": "consent", **answer.as_dict(), "ok": answer.allowed})
    if not answer.allowed:
        return str(answer.reason.value)
    return None


def _choose(
    request: GateRequest,
    facts: CustomerFacts,
    addresses: dict[str, str],
    consent: ConsentPort,
    policy: Policy,
    checks: list[dict[str, Any]],
) -> tuple[str | None, str, bool | None]:
    """channel auto: the channel, why, and True when consent and suppression were already asked."""
    candidates = list(dict.fromkeys((*policy.auto_fallback, *facts.engagement)))
    if request.only is not None:
        candidates = [c for c in candidates if c in request.only]
    usable: list[str] = []
    refused: dict[str, str] = {}
    for channel in candidates:
        address = addresses.get(channel)
        if address is None:
            refused[channel] = "unreachable"
            continue
        sub: list[dict[str, Any]] = []
        reason = _suppressed_or_refused(request, facts, channel, address, consent, sub)
        if reason is None:
            usable.append(channel)
        else:
            refused[channel] = reason
    checks.append({"rule": "channel_auto", "usable": usable, "refused": refused})
    preferred = facts.preferred_channel
    if preferred in usable:
        return preferred, "preferred", True
    ranked = _by_score(facts, usable, consent, checks)
    if ranked:
        why = "next_best_channel " + " > ".join(f"{c} {facts.channel_scores[c][0]:.2f}" for c in ranked)
        if preferred:
            why = f"preferred {preferred} not allowed or unreachable; {why}"
        return ranked[0], why, True
    engaged = [c for c in usable if c in facts.engagement and facts.engagement[c][0] > 0]
    if engaged:
        oldest = datetime.min.replace(tzinfo=UTC)
        best = max(engaged, key=lambda c: (facts.engagement[c][1] or oldest, facts.engagement[c][0]))
        why = "most_recent_engagement"
        if preferred:
            why = f"preferred {preferred} not allowed or unreachable; most_recent_engagement"
        return best, why, True
    if usable:
        why = "fallback_order"
        if preferred:
            why = f"preferred {preferred} not allowed or unreachable; fallback_order"
        return usable[0], why, True
    reasons = ", ".join(f"{c}: {r}" for c, r in refused.items())
    return None, f"no channel is allowed and reachable ({reasons})", None


def _by_score(
    facts: CustomerFacts, usable: list[str], consent: ConsentPort, checks: list[dict[str, Any]]
) -> list[str]:
    """The usable channels by score (highest first, ties in the fallback order), when the customer
    has scores and ``personalisation`` consent; else none (the fixed order decides)."""
    if not facts.channel_scores or not any(c in facts.channel_scores for c in usable):
        return []
    try:
        allowed = consent.may_contact(facts.profile_id, PERSONALISATION).allowed
    except OmnikanalError:
        allowed = False
    scores = {c: round(facts.channel_scores[c][0], 4) for c in usable if c in facts.channel_scores}
    checks.append({"rule": "next_best_channel", "personalisation": allowed, "scores": scores, "ok": True})
    if not allowed:
        return []
    return sorted(scores, key=lambda c: -scores[c])
