"""Everything the gate needs for a whole batch of messages, read in a handful of statements.

The dispatcher decides up to a batch of messages in one transaction. Reading each message's facts
one by one cost about nine statements on three connections per message (the merge chain, the
profile, its addresses, the cap window, engagement, then consent's own read and two suppression
lookups); here a batch costs at most five, whatever its size:

1. the merge chain of every requested profile up to its live profile, with that profile's traits;
   on PostgreSQL the live profiles' rows are locked FOR UPDATE in id order in the same statement,
   so two dispatchers cannot both let a message through under the same frequency cap;
2. consent state and restriction over each live profile's merge set, its identifiers, the
   marketing messages in the cap window and its active push subscriptions, as one UNION ALL;
3. which of the addresses' (and unknown profiles') suppression hashes are listed;
4. engagement per channel, only for profiles with a message on channel ``auto``;
5. (``auto`` with a template) the channels the templates have versions for.

The contact question's rules are the consent capability's own (``ConsentService.decide_on``), run
on these facts, so the answer is the one ``may_contact`` would give.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from sqlalchemy import Connection

from omnikanal.consent.model import ConsentChange, ContactDecision, ContactFacts
from omnikanal.db.fast import Raw
from omnikanal.messaging.model import ENGAGEMENT_CHANNEL, CustomerFacts, Status

CHUNK = 400

# Which identifier type reaches a person on a channel, as the consent capability sees it.
_CONSENT_IDENTIFIER: dict[str, str] = {
    "email": "email",
    "sms": "phone",
    "phone": "phone",
    "whatsapp": "phone",
}

_LIVE_SQL = """
WITH RECURSIVE up(start, id, state, merged_into, traits, depth) AS (
    SELECT id, id, state, merged_into, traits, 0 FROM profiles WHERE id IN ({ids})
    UNION ALL
    SELECT up.start, pr.id, pr.state, pr.merged_into, pr.traits, up.depth + 1
    FROM profiles pr JOIN up ON pr.id = up.merged_into
    WHERE up.state <> 'live' AND up.merged_into IS NOT NULL AND up.depth < 64
)
SELECT start, id, state, traits FROM up WHERE state = 'live' OR merged_into IS NULL
"""

# PostgreSQL: the same walk, and the live profiles' rows locked in id order in the same statement
# (one round trip less than a separate SELECT ... FOR UPDATE).
_LIVE_LOCK_SQL = """
WITH RECURSIVE up(start, id, state, merged_into, depth) AS (
    SELECT id, id, state, merged_into, 0 FROM profiles WHERE id IN ({ids})
    UNION ALL
    SELECT up.start, pr.id, pr.state, pr.merged_into, up.depth + 1
    FROM profiles pr JOIN up ON pr.id = up.merged_into
    WHERE up.state <> 'live' AND up.merged_into IS NOT NULL AND up.depth < 64
)
SELECT up.start, p.id, p.state, p.traits FROM up JOIN profiles p ON p.id = up.id
WHERE up.state = 'live' OR up.merged_into IS NULL
ORDER BY p.id FOR UPDATE OF p
"""

# Identifiers are not filtered by type in SQL: with a type condition both planners may walk the
# (type, value) key over every customer's identifiers instead of the profiles' few (see consent).
_FACTS_SQL = """
WITH RECURSIVE members(root, id) AS (
    SELECT id, id FROM profiles WHERE id IN ({ids})
    UNION
    SELECT m.root, pr.id FROM profiles pr JOIN members m ON pr.merged_into = m.id
)
SELECT 's', m.root, cs.purpose, cs.status, cs.occurred_at
    FROM consent_state cs JOIN members m ON cs.profile_id = m.id
UNION ALL SELECT 'r', m.root, NULL, NULL, NULL FROM restrictions rs JOIN members m ON rs.profile_id = m.id
UNION ALL SELECT 'a', i.profile_id, i.type, i.value, i.created_at FROM identities i
    WHERE i.profile_id IN ({ids})
UNION ALL SELECT 'm', ms.profile_id, ms.channel, ms.id, ms.passed_at FROM messages ms
    WHERE ms.profile_id IN ({ids}) AND ms.transactional = {p} AND ms.passed_at >= {p} AND ms.status <> {p}
UNION ALL SELECT 'p', m.root, ps.id, NULL, ps.created_at
    FROM push_subscriptions ps JOIN members m ON ps.profile_id = m.id WHERE ps.expired_at IS NULL
"""

# our own touchpoints ("Message Sent", ...) are not the customer's engagement
_ENGAGEMENT_SQL = """
SELECT profile_id, channel, COUNT(*), MAX(timestamp) FROM events
WHERE profile_id IN ({ids}) AND channel IN ({channels}) AND (event IS NULL OR event NOT LIKE {p})
GROUP BY profile_id, channel
"""


class SuppressionLookup(Protocol):
    def hash(self, identifier_type: str, value: str) -> str: ...

    def hash_raw(self, identifier_type: str, value: Any) -> str | None: ...

    def present(self, conn: Connection, hashes: Iterable[str]) -> set[str]: ...


@dataclass(slots=True)
class ProfileFacts:
    """One live profile's facts: the gate's and the contact question's."""

    customer: CustomerFacts
    states: dict[str, tuple[str, Any]] = field(default_factory=dict)
    restricted: bool = False
    identifiers: dict[str, list[str]] = field(default_factory=dict)  # type -> values, newest first
    # (passed_at, channel, message id) of marketing messages let through in the cap window
    recent: list[tuple[datetime, str, str]] = field(default_factory=list)
    push_since: datetime | None = None  # creation of the newest active push subscription

    def contact(self, channel: str | None) -> ContactFacts:
        kind = _CONSENT_IDENTIFIER.get(channel or "")
        addresses = list(self.identifiers.get(kind, ())) if kind else []
        return ContactFacts(self.customer.profile_id, self.states, self.restricted, addresses)

    def for_message(self, message_id: str) -> CustomerFacts:
        """The customer facts with the cap window as this message sees it (not counting itself)."""
        self.customer.recent_marketing = [(at, ch) for at, ch, mid in self.recent if mid != message_id]
        return self.customer


@dataclass(slots=True)
class BatchFacts:
    live: dict[str, str | None]  # requested profile id -> its live profile (None: unknown)
    profiles: dict[str, ProfileFacts]  # live profile id -> facts
    suppressed: set[str]  # listed hashes among those asked for
    asked: set[str]  # every hash looked up
    template_channels: dict[str, frozenset[str]]

    def count_passed(self, live_id: str, at: datetime, channel: str, message_id: str) -> None:
        """A marketing message of this batch went through: the next one in the batch counts it."""
        facts = self.profiles.get(live_id)
        if facts is not None:
            facts.recent.append((at, channel, message_id))


def read(
    conn: Connection,
    profile_ids: Sequence[str],
    cap_since: datetime,
    suppression: SuppressionLookup,
    *,
    lock: bool,
    engagement_for: Iterable[str] = (),
    extra_addresses: Iterable[tuple[str, str]] = (),
    templates: Iterable[str] = (),
) -> BatchFacts:
    raw = Raw(conn)
    live: dict[str, str | None] = dict.fromkeys(profile_ids)
    traits: dict[str, Any] = {}
    wanted = sorted(set(profile_ids))
    walk = _LIVE_LOCK_SQL if lock and raw.pg else _LIVE_SQL
    for chunk in _chunks(wanted):
        for start, pid, state, stored in raw.fetch(walk.format(ids=raw.in_list(len(chunk))), chunk):
            if state == "live":
                live[start] = pid
                traits[pid] = stored
    live_ids = sorted(set(traits))
    profiles: dict[str, ProfileFacts] = {
        pid: ProfileFacts(CustomerFacts(pid, plain_traits(raw.read_json(traits[pid])), {}))
        for pid in live_ids
    }
    seen_ids: dict[str, list[tuple[datetime, str, str]]] = defaultdict(list)
    since = raw.time(cap_since)
    for chunk in _chunks(live_ids):
        sql = _FACTS_SQL.format(ids=raw.in_list(len(chunk)), p=raw.p)
        params = [*chunk, *chunk, *chunk, False, since, Status.FAILED.value]
        for kind, pid, a, b, at in raw.fetch(sql, params):
            facts = profiles[pid]
            if kind == "s":
                when = raw.read_time(at)
                if a not in facts.states or facts.states[a][1] < when:
                    facts.states[a] = (b, when)
            elif kind == "r":
                facts.restricted = True
            elif kind == "a":
                seen_ids[pid].append((raw.read_time(at) or datetime.min.replace(tzinfo=UTC), a, b))
            elif kind == "p":
                # reachable on push with an active subscription; the newest stands as the address
                created = raw.read_time(at) or datetime.min.replace(tzinfo=UTC)
                if facts.push_since is None or created > facts.push_since:
                    facts.push_since = created
                    facts.customer.addresses["push"] = a
            else:
                passed = raw.read_time(at)
                assert passed is not None
                facts.recent.append((passed, a, b))
    hashes: set[str] = set()
    for pid, found in seen_ids.items():
        facts = profiles[pid]
        for _, kind, value in sorted(found, key=lambda item: item[0], reverse=True):
            facts.identifiers.setdefault(kind, []).append(value)
            if kind in ("email", "phone"):
                hashes.add(suppression.hash(kind, value))
        emails, phones = facts.identifiers.get("email"), facts.identifiers.get("phone")
        if emails:
            facts.customer.addresses["email"] = emails[0]
        if phones:
            facts.customer.addresses["sms"] = phones[0]
            facts.customer.addresses["whatsapp"] = phones[0]
    hashes.update(suppression.hash("profile_id", pid) for pid, to in live.items() if to is None)
    for kind, value in extra_addresses:
        hashed = suppression.hash_raw(kind, value)
        if hashed is not None:
            hashes.add(hashed)
    suppressed = suppression.present(conn, hashes) if hashes else set()
    engaged = {to for p in engagement_for if (to := live.get(p)) is not None}
    _engagement(raw, profiles, sorted(engaged))
    template_channels = _template_channels(raw, sorted(set(templates)))
    return BatchFacts(live, profiles, suppressed, hashes, template_channels)


def _engagement(raw: Raw, profiles: dict[str, ProfileFacts], ids: list[str]) -> None:
    channels = tuple(ENGAGEMENT_CHANNEL)
    for chunk in _chunks(ids):
        sql = _ENGAGEMENT_SQL.format(
            ids=raw.in_list(len(chunk)), channels=raw.in_list(len(channels)), p=raw.p
        )
        for pid, channel, count, latest in raw.fetch(sql, [*chunk, *channels, "Message %"]):
            profiles[pid].customer.engagement[ENGAGEMENT_CHANNEL[channel]] = (
                int(count),
                raw.read_time(latest),
            )


def _template_channels(raw: Raw, names: list[str]) -> dict[str, frozenset[str]]:
    if not names:
        return {}
    found: dict[str, set[str]] = {name: set() for name in names}
    sql = f"SELECT name, channel FROM message_templates WHERE name IN ({raw.in_list(len(names))})"  # noqa: S608
    for name, channel in raw.fetch(sql, names):
        found[name].add(channel)
    return {name: frozenset(channels) for name, channels in found.items()}


def plain_traits(stored: dict[str, Any] | None) -> dict[str, Any]:
    """Trait values without their provenance."""
    out: dict[str, Any] = {}
    for key, entry in (stored or {}).items():
        out[key] = entry.get("value") if isinstance(entry, dict) and "value" in entry else entry
    return out


def _chunks(ids: list[str]) -> Iterable[list[str]]:
    for start in range(0, len(ids), CHUNK):
        yield ids[start : start + CHUNK]


class DecidesOnFacts(Protocol):
    """The consent service's rules on facts read elsewhere (``ConsentService.decide_on``)."""

    def decide_on(
        self,
        facts: ContactFacts,
        present: Callable[[set[str]], set[str]],
        profile_id: str,
        purpose: str | None,
        channel: str | None,
    ) -> ContactDecision: ...


class BatchConsent:
    """The gate's consent port answering from a batch's facts; a hash not read with the batch is
    looked up in the dispatcher's transaction (nothing is assumed)."""

    def __init__(
        self,
        rules: DecidesOnFacts,
        fallback: Any,
        suppression: SuppressionLookup,
        conn: Connection,
        batch: BatchFacts,
    ) -> None:
        self._rules = rules
        self._fallback = fallback
        self._suppression = suppression
        self._conn = conn
        self._batch = batch

    def _present(self, hashes: set[str]) -> set[str]:
        unknown = hashes - self._batch.asked
        if unknown:
            self._batch.suppressed |= self._suppression.present(self._conn, unknown)
            self._batch.asked |= unknown
        return hashes & self._batch.suppressed

    def may_contact(
        self, profile_id: str, purpose: str | None, channel: str | None = None
    ) -> ContactDecision:
        facts = self._batch.profiles.get(profile_id)
        contact = facts.contact(channel) if facts is not None else ContactFacts(None, {}, False, [])
        return self._rules.decide_on(contact, self._present, profile_id, purpose, channel)

    def is_suppressed(self, identifier_type: str, value: str) -> bool:
        hashed = self._suppression.hash_raw(identifier_type, value)
        return hashed is not None and bool(self._present({hashed}))

    def record(
        self, profile_id: str, changes: list[ConsentChange], *, source: str, actor: str | None = None
    ) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self._fallback.record(profile_id, changes, source=source, actor=actor)
        return result

    def suppress(self, identifier_type: str, value: str, reason: str) -> None:
        self._fallback.suppress(identifier_type, value, reason)

    def preference_url(self, profile_id: str) -> str:
        return str(self._fallback.preference_url(profile_id))
