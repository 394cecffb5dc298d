"""Consent use cases: record changes, derive the current state, answer the contact question, run
double opt-in and the preference centre's changes."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine

from omnikanal.clock import Clock, isoformat
from omnikanal.consent import events as consent_events
from omnikanal.consent import store
from omnikanal.consent.model import (
    CHANNEL_PURPOSE,
    ConsentChange,
    ConsentStatus,
    ContactDecision,
    ContactFacts,
    Reason,
    is_restricted_purpose,
)
from omnikanal.consent.suppression import SuppressionList
from omnikanal.db.engine import hot_read, read_tx, run_write
from omnikanal.errors import InvalidInput, NotFound
from omnikanal.ids import new_id
from omnikanal.ingest.model import Rejection, TrackedEvent
from omnikanal.ingest.service import StoredEvent
from omnikanal.profiles import access as profiles
from omnikanal.profiles import chain
from omnikanal.signing import InvalidToken, Signer

DOI_PURPOSE = "email_marketing"
# Which identifier type reaches a person on a channel (for suppression of addresses).
CHANNEL_IDENTIFIER: dict[str, str] = {"email": "email", "sms": "phone", "phone": "phone", "whatsapp": "phone"}
DENIAL_REASON = {
    ConsentStatus.DENIED: Reason.DENIED,
    ConsentStatus.WITHDRAWN: Reason.WITHDRAWN,
    ConsentStatus.PENDING: Reason.PENDING,
}
TOKEN_CONFIRM = "consent-confirm"  # noqa: S105 (a signing salt, not a password)
TOKEN_PREFERENCES = "preferences"  # noqa: S105
MAX_FUTURE = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class ConsentConfig:
    purposes: tuple[str, ...]
    public_url: str
    confirm_valid: timedelta
    preferences_valid: timedelta
    history_limit: int = 1000


class ConsentService:
    def __init__(
        self,
        engine: Engine,
        clock: Clock,
        signer: Signer,
        suppression: SuppressionList,
        config: ConsentConfig,
        hot_engine: Engine | None = None,
    ) -> None:
        self._engine = engine
        self._hot = hot_engine or engine
        self._clock = clock
        self._signer = signer
        self.suppression = suppression
        self.config = config
        self._purposes = frozenset(config.purposes)

    # -- the question every sender asks -------------------------------------------------------

    def may_contact(
        self, profile_id: str, purpose: str | None, channel: str | None = None
    ) -> ContactDecision:
        """May this profile be contacted for ``purpose`` on ``channel`` now, and if not, why?

        ``purpose=None`` is transactional contact (an order status): no marketing consent needed, but
        never for an erased, unknown or suppressed person. A marketing purpose over a channel also
        needs that channel's own marketing consent: an email consent never allows a call or an SMS.
        """
        if purpose is not None:
            self._check_purpose(purpose)
        return hot_read(self._hot, lambda conn: self.decide(conn, profile_id, purpose, channel))

    def decide(
        self, conn: Connection, profile_id: str, purpose: str | None, channel: str | None
    ) -> ContactDecision:
        facts = store.contact_facts(conn, profile_id, CHANNEL_IDENTIFIER.get(channel or ""))
        return self.decide_on(
            facts, lambda hashes: self.suppression.present(conn, hashes), profile_id, purpose, channel
        )

    def decide_on(
        self,
        facts: ContactFacts,
        present: Callable[[set[str]], set[str]],
        profile_id: str,
        purpose: str | None,
        channel: str | None,
    ) -> ContactDecision:
        """The contact question's rules on facts already read (the messaging dispatcher reads a
        whole batch's facts at once); ``present`` answers which suppression hashes are listed."""

        def answer(allowed: bool, reason: Reason, pid: str = profile_id) -> ContactDecision:
            return ContactDecision(allowed, reason, pid, purpose, channel)

        live = facts.live_id
        if live is None:
            erased = present({self.suppression.hash("profile_id", profile_id)})
            return answer(False, Reason.ERASED if erased else Reason.UNKNOWN_PROFILE)
        if purpose is not None and facts.restricted and is_restricted_purpose(purpose):
            return answer(False, Reason.RESTRICTED, live)
        if facts.addresses:
            kind = CHANNEL_IDENTIFIER[channel or ""]
            hashes = {self.suppression.hash(kind, v) for v in facts.addresses}
            if hashes <= present(hashes):
                return answer(False, Reason.SUPPRESSED, live)
        if purpose is None:
            return answer(True, Reason.TRANSACTIONAL, live)
        needed = [purpose]
        channel_purpose = CHANNEL_PURPOSE.get(channel or "")
        if purpose.endswith("_marketing") and channel_purpose and channel_purpose != purpose:
            needed.append(channel_purpose)
        for wanted in needed:
            state = facts.states.get(wanted)
            if state is None:
                return answer(False, Reason.NO_CONSENT, live)
            status = ConsentStatus(state[0])
            if status is not ConsentStatus.GRANTED:
                return answer(False, DENIAL_REASON[status], live)
        return answer(True, Reason.GRANTED, live)

    # -- the ledger -----------------------------------------------------------------------------

    def record(
        self,
        profile_id: str,
        changes: Sequence[ConsentChange],
        *,
        source: str,
        actor: str | None = None,
    ) -> list[dict[str, Any]]:
        """Record changes for a profile; answers the records as stored (an email grant may become
        ``pending`` until confirmed)."""
        for change in changes:
            self._check_purpose(change.purpose)

        def work(conn: Connection) -> list[dict[str, Any]]:
            live = self._live(conn, profile_id)
            if live is None:
                raise NotFound("profile_not_found", f"no profile {profile_id!r}")
            return self.record_in(conn, live, changes, source=source, actor=actor, now=self._clock.now())

        return run_write(self._engine, work)

    def record_in(
        self,
        conn: Connection,
        profile_id: str,
        changes: Sequence[ConsentChange],
        *,
        source: str,
        actor: str | None,
        now: datetime,
    ) -> list[dict[str, Any]]:
        """Record inside the caller's transaction (ingest, the preference centre, privacy requests)."""
        stored = []
        current = store.states(conn, chain.merge_set(conn, profile_id)) if changes else {}
        for change in changes:
            occurred = change.occurred_at or now
            if occurred > now + MAX_FUTURE:
                raise InvalidInput("time_in_future", "occurred_at lies in the future", "occurred_at")
            status = change.status
            confirm = False
            if change.purpose == DOI_PURPOSE and status in (ConsentStatus.GRANTED, ConsentStatus.PENDING):
                already = current.get(DOI_PURPOSE)
                if "confirmed_at" in change.proof:
                    status = ConsentStatus.GRANTED  # the sending system completed its own double opt-in
                elif already is not None and already[0] == ConsentStatus.GRANTED:
                    status = ConsentStatus.GRANTED  # a repeated grant of a confirmed consent
                else:
                    status, confirm = ConsentStatus.PENDING, True
            record_id = new_id("cons")
            row: dict[str, Any] = {
                "id": record_id,
                "profile_id": profile_id,
                "purpose": change.purpose,
                "status": status.value,
                "channel": change.channel,
                "source": source,
                "actor": actor,
                "wording": change.wording,
                "policy_version": change.policy_version,
                "proof": dict(change.proof),
                "occurred_at": occurred,
                "recorded_at": now,
            }
            store.insert_record(conn, row)
            store.upsert_state(
                conn,
                {
                    "profile_id": profile_id,
                    "purpose": change.purpose,
                    "status": status.value,
                    "record_id": row["id"],
                    "occurred_at": occurred,
                },
            )
            current[change.purpose] = (status.value, occurred, record_id)
            if confirm:
                self._open_confirmation(conn, profile_id, record_id, now)
            stored.append(_record_view(row))
        return stored

    def consents(self, profile_id: str) -> dict[str, Any]:
        """The current state per purpose and the whole history (newest first)."""
        with read_tx(self._engine) as conn:
            live = self._live(conn, profile_id)
            if live is None:
                raise NotFound("profile_not_found", f"no profile {profile_id!r}")
            members = chain.merge_set(conn, live)
            current = store.states(conn, members)
            history = store.history(conn, members, self.config.history_limit)
        return {
            "profile_id": live,
            "purposes": {
                purpose: (
                    {
                        "status": current[purpose][0],
                        "since": isoformat(current[purpose][1]),
                        "record_id": current[purpose][2],
                    }
                    if purpose in current
                    else {"status": None, "since": None, "record_id": None}
                )
                for purpose in self.config.purposes
            },
            "history": [_record_view(dict(r._mapping)) for r in history],
        }

    def _check_purpose(self, purpose: str) -> None:
        if purpose not in self._purposes:
            raise InvalidInput(
                "unknown_purpose",
                f"purpose {purpose!r} is not one of: {', '.join(self.config.purposes)}",
                "purpose",
            )

    @staticmethod
    def _live(conn: Connection, profile_id: str) -> str | None:
        return chain.resolve_live(conn, profile_id)

    # -- suppression ----------------------------------------------------------------------------

    def suppress(self, identifier_type: str, value: str, reason: str) -> None:
        normalised = self.suppression.normalise(identifier_type, value)
        if normalised is None:
            raise InvalidInput("invalid_identifier", f"{value!r} is not a usable {identifier_type}", "value")
        run_write(
            self._engine,
            lambda conn: self.suppression.add(
                conn, [(identifier_type, normalised)], reason, self._clock.now()
            ),
        )

    def is_suppressed(self, identifier_type: str, value: str) -> bool:
        hashed = self.suppression.hash_raw(identifier_type, value)
        if hashed is None:
            return False
        with read_tx(self._engine) as conn:
            return bool(self.suppression.present(conn, [hashed]))

    # -- double opt-in --------------------------------------------------------------------------

    def _open_confirmation(self, conn: Connection, profile_id: str, record_id: str, now: datetime) -> None:
        token = self._signer.sign(TOKEN_CONFIRM, {"p": profile_id, "r": record_id}, self.config.confirm_valid)
        body = self._signer.open(TOKEN_CONFIRM, token)
        emails = profiles.identifiers_of(conn, profile_id, ["email"])
        store.insert_confirmation(
            conn,
            {
                "token_id": body["jti"],
                "profile_id": profile_id,
                "purpose": DOI_PURPOSE,
                "record_id": record_id,
                "email": emails[0][1] if emails else None,
                "token": token,
                "created_at": now,
                "expires_at": Signer.expiry(body),
                "used_at": None,
                "sent_at": None,
            },
        )

    def pending_confirmations(
        self, limit: int = 100, *, unsent: bool = False, offset: int = 0
    ) -> list[dict[str, Any]]:
        """Confirmations not yet clicked (for messaging): address, link and expiry; ``unsent``: only
        those whose email is still to be sent."""
        with read_tx(self._engine) as conn:
            rows = store.pending_confirmations(conn, self._clock.now(), limit, unsent=unsent, offset=offset)
        return [
            {
                "id": r.token_id,
                "profile_id": r.profile_id,
                "purpose": r.purpose,
                "email": r.email,
                "confirm_url": self.confirm_url(r.token),
                "created_at": isoformat(r.created_at),
                "expires_at": isoformat(r.expires_at),
                "sent_at": isoformat(r.sent_at),
            }
            for r in rows
        ]

    def mark_confirmation_sent(self, token_id: str) -> None:
        self.mark_confirmations_sent([token_id])

    def mark_confirmations_sent(self, token_ids: list[str]) -> None:
        """The confirmations' emails are written (one transaction for all of them)."""

        def work(conn: Connection) -> None:
            now = self._clock.now()
            for token_id in token_ids:
                store.mark_sent(conn, token_id, now)

        run_write(self._engine, work)

    def confirm_url(self, token: str) -> str:
        return f"{self.config.public_url.rstrip('/')}/confirm/{token}"

    def check_confirmation(self, token: str) -> dict[str, Any]:
        """The confirmation a link names, if it is valid and unused (for the page before the click)."""
        body = self._signer.open(TOKEN_CONFIRM, token)
        with read_tx(self._engine) as conn:
            row = store.confirmation(conn, body["jti"])
        if row is None:
            raise InvalidToken("token_invalid", "the link is not valid")
        if row.used_at is not None:
            raise InvalidToken("token_used", "the link was already used")
        return {"profile_id": row.profile_id, "purpose": row.purpose, "expires_at": isoformat(row.expires_at)}

    def confirm(self, token: str, *, ip: str | None, user_agent: str | None) -> dict[str, Any]:
        """The customer clicked: the pending consent becomes granted, with the click as proof."""
        body = self._signer.open(TOKEN_CONFIRM, token)

        def work(conn: Connection) -> dict[str, Any]:
            now = self._clock.now()
            row = store.confirmation(conn, body["jti"])
            if row is None:
                raise InvalidToken("token_invalid", "the link is not valid")
            if not store.use_confirmation(conn, row.token_id, now):
                raise InvalidToken("token_used", "the link was already used")
            live = self._live(conn, row.profile_id)
            if live is None:
                raise InvalidToken("token_invalid", "the link is not valid")
            proof = {
                "confirmed_at": isoformat(now),
                "ip": ip,
                "user_agent": (user_agent or "")[:500] or None,
                "confirms_record": row.record_id,
                "email": row.email,
            }
            change = ConsentChange(
                DOI_PURPOSE,
                ConsentStatus.GRANTED,
                channel="email",
                proof={k: v for k, v in proof.items() if v is not None},
            )
            return self.record_in(conn, live, [change], source="double_opt_in", actor=None, now=now)[0]

        return run_write(self._engine, work)

    # -- the preference centre's link -----------------------------------------------------------

    def preference_token(self, profile_id: str) -> str:
        return self._signer.sign(TOKEN_PREFERENCES, {"p": profile_id}, self.config.preferences_valid)

    def preference_url(self, profile_id: str) -> str:
        return f"{self.config.public_url.rstrip('/')}/preferences/{self.preference_token(profile_id)}"

    def open_preference_token(self, token: str) -> str:
        """The live profile a preference link names (a merged profile's link still works)."""
        body = self._signer.open(TOKEN_PREFERENCES, token)
        with read_tx(self._engine) as conn:
            live = self._live(conn, str(body.get("p")))
        if live is None:
            raise InvalidToken("token_invalid", "the link is not valid")
        return live

    def preferences(self, profile_id: str) -> dict[str, Any]:
        """What the preference centre shows: status per purpose, preferred channel and language."""
        with read_tx(self._engine) as conn:
            row = profiles.profile_row(conn, profile_id)
            current = store.states(conn, chain.merge_set(conn, profile_id))
        traits = (row.traits if row is not None else None) or {}
        return {
            "purposes": {p: (current[p][0] if p in current else None) for p in self.config.purposes},
            "preferred_channel": (traits.get("preferredChannel") or {}).get("value"),
            "preferred_language": (traits.get("preferredLanguage") or {}).get("value"),
        }

    def save_preferences(
        self,
        profile_id: str,
        *,
        wanted: set[str],
        preferred_channel: str | None,
        preferred_language: str | None,
        proof: dict[str, Any],
    ) -> list[dict[str, Any]]:
        """The customer's own choices: ticked purposes are granted, unticked ones withdrawn."""
        unknown = wanted - self._purposes
        if unknown:
            raise InvalidInput(
                "unknown_purpose", f"consent {sorted(unknown)[0]!r} is not a purpose", "consent"
            )
        if preferred_channel and preferred_channel not in CHANNEL_PURPOSE:
            raise InvalidInput(
                "invalid_channel", f"preferred_channel {preferred_channel!r} is unknown", "preferred_channel"
            )

        def work(conn: Connection) -> list[dict[str, Any]]:
            now = self._clock.now()
            current = store.states(conn, chain.merge_set(conn, profile_id))
            changes = []
            for purpose in self.config.purposes:
                status = current[purpose][0] if purpose in current else None
                active = status in (ConsentStatus.GRANTED, ConsentStatus.PENDING)
                if purpose in wanted and not active:
                    changes.append(ConsentChange(purpose, ConsentStatus.GRANTED, "web", proof=proof))
                elif purpose not in wanted and active:
                    changes.append(ConsentChange(purpose, ConsentStatus.WITHDRAWN, "web", proof=proof))
            records = self.record_in(
                conn, profile_id, changes, source="preference_centre", actor=None, now=now
            )
            profiles.set_traits(
                conn,
                profile_id,
                {"preferredChannel": preferred_channel or None, "preferredLanguage": preferred_language},
                "preference_centre",
                None,
                now,
            )
            return records

        return run_write(self._engine, work)

    # -- consent changes from tracked events (an ingest hook) -----------------------------------

    def check(self, event: TrackedEvent) -> Rejection | None:
        if not consent_events.is_consent_event(event):
            return None
        parsed = consent_events.parse(event, self._purposes)
        return parsed if isinstance(parsed, Rejection) else None

    def apply(self, conn: Connection, stored: list[StoredEvent], now: datetime) -> None:
        for item in stored:
            if not consent_events.is_consent_event(item.event):
                continue
            parsed = consent_events.parse(item.event, self._purposes)
            if isinstance(parsed, Rejection):  # checked before the transaction; kept for safety
                continue
            if item.source.channel not in DOI_TRUSTED_CHANNELS:
                parsed = [_unconfirmed(c) for c in parsed]
            self.record_in(
                conn,
                item.profile_id,
                [_with_channel(c, item.channel) for c in parsed],
                source=item.source.name,
                actor=next((c.proof.get("staff_user") for c in parsed if c.proof.get("staff_user")), None),
                now=now,
            )


# Sources that may report a double opt-in they ran themselves (confirmedAt): an email or newsletter
# system sends the confirmation mail; a till, the shop or the hotline cannot, so their email grants
# stay pending until the customer confirms the hub's own link.
DOI_TRUSTED_CHANNELS = frozenset({"email"})


def _unconfirmed(change: ConsentChange) -> ConsentChange:
    if "confirmed_at" not in change.proof:
        return change
    proof = {k: v for k, v in change.proof.items() if k != "confirmed_at"}
    return ConsentChange(
        change.purpose,
        change.status,
        change.channel,
        change.wording,
        change.policy_version,
        proof,
        change.occurred_at,
    )


def _with_channel(change: ConsentChange, channel: str) -> ConsentChange:
    if change.channel:
        return change
    return ConsentChange(
        change.purpose,
        change.status,
        channel,
        change.wording,
        change.policy_version,
        change.proof,
        change.occurred_at,
    )


def _record_view(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "purpose": row["purpose"],
        "status": row["status"],
        "channel": row["channel"],
        "source": row["source"],
        "actor": row["actor"],
        "wording": row["wording"],
        "policy_version": row["policy_version"],
        "proof": row["proof"],
        "occurred_at": isoformat(row["occurred_at"]),
        "recorded_at": isoformat(row["recorded_at"]),
    }
