"""Use cases for reading profiles and undoing merges."""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, and_, or_, select, update

from omnikanal.clock import MAX_TIME, MIN_TIME, Clock, isoformat
from omnikanal.db.engine import RetryTransaction, read_tx, run_write
from omnikanal.db.fast import Raw
from omnikanal.errors import Conflict, InvalidInput, NotFound
from omnikanal.eventlog.tables import events
from omnikanal.listeners import Listeners
from omnikanal.profiles import chain, store
from omnikanal.profiles.identity import store as identity_store
from omnikanal.profiles.identity.model import IdentityRules, normalise
from omnikanal.profiles.identity.tables import identities, merges
from omnikanal.profiles.model import ProfileState, TraitRules, event_traits
from omnikanal.profiles.tables import profiles
from omnikanal.profiles.views import event_view, merge_view
from omnikanal.sources.service import source_names

_IDENTIFIERS_SQL = (
    "SELECT i.type, i.value, i.source_id, s.name, i.created_at FROM identities i "
    "LEFT JOIN sources s ON s.id = i.source_id WHERE i.profile_id = {p} "
    "ORDER BY i.type, i.created_at, i.value"
)


@dataclass(frozen=True, slots=True)
class TimelineQuery:
    channels: tuple[str, ...] = ()
    types: tuple[str, ...] = ()
    event: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    cursor: str | None = None
    limit: int = 50


def encode_cursor(timestamp: datetime, seq: int) -> str:
    raw = f"{timestamp.isoformat()}|{seq}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        stamp, seq = base64.urlsafe_b64decode(padded).decode().split("|")
        moment, position = datetime.fromisoformat(stamp), int(seq)
        if moment.tzinfo is not None:
            moment = moment.astimezone(UTC)
    except (ValueError, UnicodeDecodeError, OverflowError):
        raise InvalidInput("invalid_cursor", "cursor is not one this API gave out", "cursor") from None
    if moment.tzinfo is None or not MIN_TIME <= moment <= MAX_TIME or not 0 <= position < 2**63:
        raise InvalidInput("invalid_cursor", "cursor is not one this API gave out", "cursor")
    return moment, position


ProfileChange = Callable[[Connection, list[str], datetime], None]


class ProfileService:
    def __init__(
        self,
        engine: Engine,
        clock: Clock,
        identity_rules: IdentityRules,
        trait_rules: TraitRules,
        listeners: Listeners | None = None,
    ) -> None:
        self._engine = engine
        self._clock = clock
        self._identity_rules = identity_rules
        self._trait_rules = trait_rules
        # Called in the transaction of a change that no event announces (an unmerge), with the
        # profiles it touched: capabilities that derive state from profiles (segments) re-check them.
        self.on_change: list[ProfileChange] = (listeners or Listeners()).profiles_changed

    # -- reading -------------------------------------------------------------------------------

    # The profile view is read on every call of the hotline or a till, so it uses two plain queries.
    _PROFILE_COLUMNS = (
        "p.id, p.state, p.merged_into, p.created_at, p.updated_at, p.first_seen, p.last_seen, "
        "p.traits, p.stats, p.event_count"
    )

    def lookup(self, identifier_type: str, value: str) -> dict[str, Any]:
        """The live profile of an identifier, normalised as at ingest."""
        normalised = normalise(identifier_type, value, self._identity_rules)
        if normalised is None:
            raise InvalidInput(
                "invalid_identifier", f"{value!r} is not a usable {identifier_type} identifier", "value"
            )
        with read_tx(self._engine) as conn:
            raw = Raw(conn)
            # Identifiers always belong to live profiles (merges move them), so no chain to follow.
            rows = raw.fetch(
                f"SELECT {self._PROFILE_COLUMNS} FROM identities i JOIN profiles p ON p.id = i.profile_id "  # noqa: S608
                f"WHERE i.type = {raw.p} AND i.value = {raw.p}",
                [identifier_type, normalised],
            )
            if not rows:
                raise NotFound("profile_not_found", f"no profile has {identifier_type} {normalised!r}")
            return self._view(raw, rows[0], requested=rows[0][0])

    def get(self, profile_id: str) -> dict[str, Any]:
        """A profile; a merged-away id answers with the live profile and says so."""
        with read_tx(self._engine) as conn:
            raw = Raw(conn)
            current = profile_id
            for _ in range(64):  # merge chains are short; the bound guards against a corrupt cycle
                rows = raw.fetch(
                    f"SELECT {self._PROFILE_COLUMNS} FROM profiles p WHERE p.id = {raw.p}",  # noqa: S608
                    [current],
                )
                if not rows:
                    break
                row = rows[0]
                if row[1] == "live" or row[2] is None:
                    return self._view(raw, row, requested=profile_id)
                current = row[2]
        raise NotFound("profile_not_found", f"no profile {profile_id!r}")

    def live_id(self, profile_id: str) -> str:
        with read_tx(self._engine) as conn:
            return self._live(conn, profile_id)

    def live_ids(self, profile_ids: Iterable[str]) -> dict[str, str]:
        """profile id -> its live profile (following merges), for the ids that exist."""
        with read_tx(self._engine) as conn:
            return chain.live_ids(conn, profile_ids)

    def person_ids(self, profile_id: str) -> list[str]:
        """The person's live profile and every profile merged into it (for reading their records)."""
        with read_tx(self._engine) as conn:
            return chain.merge_set(conn, self._live(conn, profile_id))

    def _live(self, conn: Connection, profile_id: str) -> str:
        resolved = chain.resolve_live(conn, profile_id)
        if resolved is None:
            raise NotFound("profile_not_found", f"no profile {profile_id!r}")
        return resolved

    def _view(self, raw: Raw, row: Any, requested: str) -> dict[str, Any]:
        live, state, _, created, updated, first, last, traits_json, stats_json, event_count = row
        idents = [
            {
                "type": identifier_type,
                "value": value,
                "source": {"id": source_id, "name": source_name},
                "created_at": isoformat(raw.read_time(at)),
            }
            for identifier_type, value, source_id, source_name, at in raw.fetch(
                _IDENTIFIERS_SQL.format(p=raw.p), [live]
            )
        ]
        traits = {
            key: {
                "value": obs.get("value"),
                "source": {"id": obs.get("source_id"), "name": obs.get("source")},
                "at": isoformat(datetime.fromisoformat(obs["at"])) if obs.get("at") else None,
            }
            for key, obs in sorted((raw.read_json(traits_json) or {}).items())
        }
        stats = raw.read_json(stats_json) or {}
        channels = stats.get("channels", {})
        return {
            "id": live,
            "requested_id": requested,
            "redirected": live != requested,
            "state": state,
            "created_at": isoformat(raw.read_time(created)),
            "updated_at": isoformat(raw.read_time(updated)),
            "identifiers": idents,
            "traits": traits,
            "computed": {
                "first_seen": isoformat(raw.read_time(first)),
                "last_seen": isoformat(raw.read_time(last)),
                "channels_used": sorted(channels),
                "event_counts_per_channel": dict(sorted(channels.items())),
                "event_counts_per_type": dict(sorted(stats.get("types", {}).items())),
                "identifier_counts": dict(sorted(stats.get("identifiers", {}).items())),
                "event_count": event_count,
            },
        }

    @staticmethod
    def _source_names(conn: Connection) -> dict[str, str]:
        return source_names(conn)

    def timeline(self, profile_id: str, query: TimelineQuery) -> dict[str, Any]:
        """Every event of the person across channels, newest first, one page at a time."""
        with read_tx(self._engine) as conn:
            live = self._live(conn, profile_id)
            stmt = select(events).where(events.c.profile_id == live)
            if query.channels:
                stmt = stmt.where(events.c.channel.in_(query.channels))
            if query.types:
                stmt = stmt.where(events.c.type.in_(query.types))
            if query.event:
                stmt = stmt.where(events.c.event == query.event)
            if query.since:
                stmt = stmt.where(events.c.timestamp >= query.since)
            if query.until:
                stmt = stmt.where(events.c.timestamp < query.until)
            if query.cursor:
                stamp, seq = decode_cursor(query.cursor)
                stmt = stmt.where(
                    or_(events.c.timestamp < stamp, and_(events.c.timestamp == stamp, events.c.seq < seq))
                )
            stmt = stmt.order_by(events.c.timestamp.desc(), events.c.seq.desc()).limit(query.limit + 1)
            rows = list(conn.execute(stmt))
            names = self._source_names(conn)
        more = len(rows) > query.limit
        rows = rows[: query.limit]
        return {
            "profile_id": live,
            "events": [event_view(r, names) for r in rows],
            "next_cursor": encode_cursor(rows[-1].timestamp, rows[-1].seq) if more and rows else None,
        }

    def merges(self, profile_id: str) -> list[dict[str, Any]]:
        """Merges into this profile and of it, newest first."""
        with read_tx(self._engine) as conn:
            live = self._live(conn, profile_id)
            ids = {live, profile_id}
            stmt = (
                select(merges)
                .where(or_(merges.c.profile_id.in_(ids), merges.c.merged_id.in_(ids)))
                .order_by(merges.c.created_at.desc(), merges.c.id)
            )
            return [merge_view(r) for r in conn.execute(stmt)]

    # -- unmerge -------------------------------------------------------------------------------

    def unmerge(self, profile_id: str, merge_id: str, actor: str) -> dict[str, Any]:
        """Undo one merge: the absorbed branch gets back its identifiers and the events they made."""
        return run_write(self._engine, lambda conn: self._unmerge(conn, profile_id, merge_id, actor))

    def _unmerge(self, conn: Connection, profile_id: str, merge_id: str, actor: str) -> dict[str, Any]:
        now = self._clock.now()
        record = conn.execute(select(merges).where(merges.c.id == merge_id)).first()
        live = self._live(conn, profile_id)
        if record is None:
            raise NotFound("merge_not_found", f"no merge {merge_id!r}")
        if record.undone_at is not None:
            raise Conflict(
                "merge_already_undone", f"merge {merge_id} was undone at {isoformat(record.undone_at)}"
            )
        current = self._live(conn, record.profile_id)
        if current != live:
            raise InvalidInput(
                "merge_not_of_profile", f"merge {merge_id} is not part of profile {profile_id}", "merge_id"
            )
        loser = record.merged_id
        locked = store.load(conn, [current, loser], lock=True)
        # Under the locks, both must still be as read above; a merge or unmerge that committed in
        # between (PostgreSQL) makes this run again with fresh reads.
        absorbed = locked.get(loser, (None, "", None))
        if (
            absorbed[1] != "merged"
            or absorbed[2] != record.profile_id
            or locked.get(current, (None, "", None))[1] != "live"
            or self._live(conn, record.profile_id) != current
        ):
            raise RetryTransaction("the merge chain changed meanwhile")

        branch = chain.merge_set(conn, loser)
        # Identifiers that were first attached in the absorbed branch go back to it.
        conn.execute(
            update(identities)
            .where(identities.c.profile_id == current, identities.c.origin_profile_id.in_(branch))
            .values(profile_id=loser)
        )
        store.mark_live(conn, loser, now)
        # Each event goes to whoever now owns its user id, or else its anonymous id.
        rows = list(
            conn.execute(
                select(events.c.seq, events.c.user_id, events.c.anonymous_id).where(
                    events.c.profile_id == current
                )
            )
        )
        keyed = [
            (
                row.seq,
                normalise("user_id", row.user_id, self._identity_rules),
                normalise("anonymous_id", row.anonymous_id, self._identity_rules),
            )
            for row in rows
        ]
        wanted = {("user_id", u) for _, u, _ in keyed if u} | {("anonymous_id", a) for _, _, a in keyed if a}
        owners = identity_store.owners(conn, wanted)
        moved: list[int] = []
        for seq, uid, aid in keyed:
            owner = owners.get(("user_id", uid)) if uid else None
            if owner is None and aid:
                owner = owners.get(("anonymous_id", aid))
            if owner == loser:
                moved.append(seq)
        for start in range(0, len(moved), 500):
            conn.execute(
                update(events).where(events.c.seq.in_(moved[start : start + 500])).values(profile_id=loser)
            )
        self._rebuild(conn, current, now)
        self._rebuild(conn, loser, now)
        conn.execute(update(merges).where(merges.c.id == merge_id).values(undone_at=now, undone_by=actor))
        identity_store.add_block(conn, current, loser, now)
        if record.profile_id != current:
            identity_store.add_block(conn, record.profile_id, loser, now)
        for listener in self.on_change:
            listener(conn, [current, loser], now)
        return {
            "merge_id": merge_id,
            "profile_id": current,
            "restored_profile_id": loser,
            "events_moved": len(moved),
        }

    def _rebuild(self, conn: Connection, profile_id: str, now: datetime) -> None:
        """Recompute a profile's traits, computed values and identifier summary from its rows."""
        state = ProfileState(id=profile_id, created_at=now)
        owned = select(identities.c.type, identities.c.value).where(identities.c.profile_id == profile_id)
        for ident in conn.execute(owned):
            state.identifier_counts[ident.type] = state.identifier_counts.get(ident.type, 0) + 1
            if ident.type == "user_id":
                state.user_ids.add(ident.value)
        names = self._source_names(conn)
        stmt = (
            select(events.c.type, events.c.channel, events.c.timestamp, events.c.source_id, events.c.payload)
            .where(events.c.profile_id == profile_id)
            .order_by(events.c.timestamp, events.c.seq)
        )
        for row in conn.execute(stmt):
            state.observe(
                channel=row.channel,
                event_type=row.type,
                at=row.timestamp,
                traits=event_traits(row.type, row.payload or {}),
                source_id=row.source_id,
                source_name=names.get(row.source_id, ""),
                rules=self._trait_rules,
            )
        conn.execute(
            update(profiles)
            .where(profiles.c.id == profile_id)
            .values(
                first_seen=state.first_seen,
                last_seen=state.last_seen,
                traits=state.traits,
                stats=state.stored_stats(),
                event_count=state.event_count,
                updated_at=now,
            )
        )
