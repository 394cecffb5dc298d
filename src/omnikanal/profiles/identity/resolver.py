"""Deterministic stitching of one group of events, inside one write transaction.

The group's identifiers are read in one go, every event is resolved in memory in arrival order, and
the outcome (new profiles, merges, new identifiers, conflicts) is written in bulk by ``flush``.
Rules:
- identifiers shared by two profiles merge them, except when both have a (different) user id, when
  the two were split apart by an unmerge, or when the merged profile would exceed a per-type limit:
  each refusal is recorded as a conflict instead;
- an event with a user id belongs to the profile of that user id, even if its device is shared;
- ``alias`` merges explicitly, the user-id rule notwithstanding.
On PostgreSQL the profile rows are locked; a profile merged away by a concurrent transaction makes the
whole group run again (RetryTransaction), and so does a lost race to insert the same identifier.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from omnikanal.db.engine import RetryTransaction
from omnikanal.db.fast import Raw
from omnikanal.ids import new_id
from omnikanal.profiles import store as profile_store
from omnikanal.profiles.identity import store
from omnikanal.profiles.identity.model import Identifier, IdentityRules
from omnikanal.profiles.model import ProfileState, TraitRules


@dataclass(slots=True)
class Evidence:
    """Where an identifier or merge came from."""

    source_id: str
    message_id: str


@dataclass(slots=True)
class _Pending:
    new_identities: list[tuple[Identifier, str, Evidence]] = field(default_factory=list)  # (id, origin, ev)
    merges: list[dict[str, Any]] = field(default_factory=list)
    conflicts: list[dict[str, Any]] = field(default_factory=list)
    blocks: list[tuple[str, str]] = field(default_factory=list)


class Resolver:
    def __init__(
        self,
        conn: Connection,
        rules: IdentityRules,
        trait_rules: TraitRules,
        now: datetime,
    ) -> None:
        self._conn = conn
        self._rules = rules
        self._trait_rules = trait_rules
        self._now = now
        self._lock = conn.dialect.name == "postgresql"
        self.owner: dict[Identifier, str] = {}
        self.states: dict[str, ProfileState] = {}
        self.redirect: dict[str, str] = {}
        self._blocked: set[tuple[str, str]] | None = None
        self._pending = _Pending()

    # -- reading -------------------------------------------------------------------------------

    def prefetch(self, keys: set[Identifier]) -> None:
        """Read who owns these identifiers, and those profiles, before resolving anything."""
        self.owner.update(store.owners(self._conn, keys))
        self._load(set(self.owner.values()))
        if self._lock and self.owner and store.owners(self._conn, keys) != self.owner:
            # PostgreSQL: an unmerge (or merge) moved identifiers between our read and our locks.
            raise RetryTransaction("identifiers moved under us")

    def _load(self, profile_ids: set[str]) -> None:
        missing = profile_ids - self.states.keys()
        if not missing:
            return
        loaded = profile_store.load(self._conn, missing, lock=self._lock)
        for pid in missing:
            entry = loaded.get(pid)
            if entry is None or entry[1] != "live":
                # Merged or removed by a transaction that committed after we read its identifiers.
                raise RetryTransaction(f"profile {pid} changed under us")
            self.states[pid] = entry[0]

    def live(self, profile_id: str) -> str:
        while profile_id in self.redirect:
            profile_id = self.redirect[profile_id]
        return profile_id

    # -- resolving -----------------------------------------------------------------------------

    def resolve(self, identifiers: list[Identifier], evidence: Evidence) -> ProfileState:
        """The profile an event with these identifiers belongs to, stitching as the rules allow."""
        user_id = next((v for t, v in identifiers if t == "user_id"), None)
        owned: dict[str, Identifier] = {}
        unowned: list[Identifier] = []
        for ident in identifiers:
            pid = self.owner.get(ident)
            if pid is None:
                unowned.append(ident)
            else:
                owned.setdefault(self.live(pid), ident)

        target: str | None = self._owner_of(("user_id", user_id)) if user_id else None
        if target is None:
            compatible = [p for p in owned if not (user_id and self._user_ids(p))]
            target = self._pick(compatible)
        if target is None:
            target = self._new_profile()
        return self._join(target, owned, unowned, evidence, reason="stitch")

    def alias(
        self, previous_id: str, user_id: str, others: list[Identifier], evidence: Evidence
    ) -> ProfileState:
        """Segment's alias: previousId (an old user id or an anonymous id) is the same person as userId."""
        previous: Identifier = ("user_id", previous_id)
        prev_owner = self._owner_of(previous)
        if prev_owner is None:
            previous = ("anonymous_id", previous_id)
            prev_owner = self._owner_of(previous)
        uid_owner = self._owner_of(("user_id", user_id))
        target = uid_owner or prev_owner or self._new_profile()
        if prev_owner is not None and prev_owner != target:
            self._merge(prev_owner, target, previous, evidence, reason="alias")
        if prev_owner is None:
            self._attach(target, ("anonymous_id", previous_id), evidence, explicit=True)
        if uid_owner is None:
            self._attach(target, ("user_id", user_id), evidence, explicit=True)
        owned: dict[str, Identifier] = {}
        unowned: list[Identifier] = []
        for ident in others:
            pid = self._owner_of(ident)
            if pid is None:
                unowned.append(ident)
            else:
                owned.setdefault(pid, ident)
        return self._join(target, owned, unowned, evidence, reason="stitch")

    def _join(
        self,
        target: str,
        owned: dict[str, Identifier],
        unowned: list[Identifier],
        evidence: Evidence,
        reason: str,
    ) -> ProfileState:
        # A new user id joins first, so the merge checks below see it.
        for ident in unowned:
            if ident[0] == "user_id" and ident not in self.owner:
                self._attach(target, ident, evidence)
        for pid, via in owned.items():
            pid = self.live(pid)
            target = self.live(target)
            if pid == target:
                continue
            refusal = self._refusal(target, pid)
            if refusal:
                self._conflict(target, pid, via, refusal, evidence)
            else:
                # The evidence is the identifier that ties this event to the surviving profile.
                winner_via = next((i for p, i in owned.items() if self.live(p) == target), via)
                self._merge(pid, target, winner_via, evidence, reason=reason, loser_via=via)
        target = self.live(target)
        for ident in unowned:
            if ident not in self.owner:
                self._attach(target, ident, evidence)
        return self.states[target]

    def merge_pair(self, a: str, b: str, reason: str, note: dict[str, Any]) -> tuple[str | None, str]:
        """Merge two live profiles on other evidence than a shared identifier (a probabilistic
        match): (the merge id, the survivor), or (None, why not) when the stitching rules refuse."""
        self._load({a, b})
        winner = self._pick([a, b])
        assert winner is not None
        loser = b if winner == a else a
        refusal = self._refusal(winner, loser)
        if refusal:
            return None, refusal
        self._merge(loser, winner, (reason, str(note.get("probability", ""))[:320]), Evidence("", ""), reason)
        record = self._pending.merges[-1]
        record["source_id"] = record["message_id"] = None
        record["snapshot"]["match"] = note
        return str(record["id"]), winner

    def _owner_of(self, ident: Identifier) -> str | None:
        """The live profile an identifier belongs to (owner entries are not rewritten on merges)."""
        pid = self.owner.get(ident)
        return self.live(pid) if pid is not None else None

    def _user_ids(self, pid: str) -> set[str]:
        return self.states[pid].user_ids

    def _pick(self, candidates: list[str]) -> str | None:
        """The surviving profile among several: one with a user id first, then the oldest."""
        if not candidates:
            return None
        live = sorted({self.live(p) for p in candidates})
        return min(live, key=lambda p: (not self._user_ids(p), self.states[p].created_at, p))

    def _refusal(self, target: str, other: str) -> str | None:
        mine, theirs = self._user_ids(target), self._user_ids(other)
        if mine and theirs and mine != theirs:
            return "user_id_conflict"
        if self._is_blocked(target, other):
            return "unmerged"
        # An identifier belongs to one profile only, so the merged count is the sum.
        counts_t, counts_o = self.states[target].identifier_counts, self.states[other].identifier_counts
        for identifier_type in set(counts_t) | set(counts_o):
            combined = counts_t.get(identifier_type, 0) + counts_o.get(identifier_type, 0)
            if identifier_type != "user_id" and combined > self._rules.limit(identifier_type):
                return f"limit_{identifier_type}"
        return None

    def _blocks(self) -> set[tuple[str, str]]:
        # Read once per group, when the first merge is considered (merges are rare); profiles created
        # in this group have no blocks of their own.
        if self._blocked is None:
            self._blocked = store.blocked_pairs(self._conn, self.states.keys())
        return self._blocked

    def _is_blocked(self, a: str, b: str) -> bool:
        first, second = sorted((a, b))
        return (first, second) in self._blocks()

    def _new_profile(self) -> str:
        pid = new_id("prof")
        self.states[pid] = ProfileState(id=pid, created_at=self._now, is_new=True, dirty=True)
        return pid

    def _attach(self, pid: str, ident: Identifier, evidence: Evidence, explicit: bool = False) -> None:
        identifier_type, value = ident
        state = self.states[pid]
        have = state.identifier_counts.get(identifier_type, 0)
        if not explicit and have >= self._rules.limit(identifier_type):
            reason = "user_id_conflict" if identifier_type == "user_id" else f"limit_{identifier_type}"
            self._conflict(pid, None, ident, reason, evidence)
            return
        state.identifier_counts[identifier_type] = have + 1
        if identifier_type == "user_id":
            state.user_ids.add(value)
        state.dirty = True
        self.owner[ident] = pid
        self._pending.new_identities.append((ident, pid, evidence))

    def _merge(
        self,
        loser: str,
        winner: str,
        via: Identifier,
        evidence: Evidence,
        reason: str,
        loser_via: Identifier | None = None,
    ) -> None:
        loser_state, winner_state = self.states[loser], self.states[winner]
        snapshot = {
            "merged_by": list(loser_via or via),
            "traits": dict(loser_state.traits),
            "stats": loser_state.stats,
            "event_count": loser_state.event_count,
            "identifier_counts": dict(loser_state.identifier_counts),
            "user_ids": sorted(loser_state.user_ids),
        }
        winner_state.absorb(loser_state, self._trait_rules)
        self.redirect[loser] = winner
        # What was split apart from the absorbed profile stays apart from the one that absorbed it.
        blocks = self._blocks()
        for pair in [p for p in blocks if loser in p]:
            other = pair[0] if pair[1] == loser else pair[1]
            if other != winner:
                blocks.add(tuple(sorted((other, winner))))  # type: ignore[arg-type]
                self._pending.blocks.append((other, winner))
        self._pending.merges.append(
            {
                "id": new_id("mrg"),
                "profile_id": winner,
                "merged_id": loser,
                "reason": reason,
                "identifier_type": via[0],
                "identifier_value": via[1],
                "source_id": evidence.source_id,
                "message_id": evidence.message_id,
                "created_at": self._now,
                "undone_at": None,
                "undone_by": None,
                "snapshot": snapshot,
                "_loser_is_new": loser_state.is_new,
            }
        )

    def _conflict(
        self, pid: str, other: str | None, ident: Identifier, reason: str, evidence: Evidence
    ) -> None:
        self._pending.conflicts.append(
            {
                "profile_id": pid,
                "other_profile_id": other,
                "identifier_type": ident[0],
                "identifier_value": ident[1],
                "reason": reason,
                "source_id": evidence.source_id,
                "message_id": evidence.message_id,
                "created_at": self._now,
            }
        )

    # -- writing -------------------------------------------------------------------------------

    def merges_made(self) -> list[tuple[str, str]]:
        """(the profile merged away, the live profile it went into) for each merge of this group."""
        return [(r["merged_id"], self.live(r["profile_id"])) for r in self._pending.merges]

    def flush(self) -> None:
        """Write what the group changed: new profiles, merges, identifiers, conflicts, profile values."""
        conn, now = self._conn, self._now
        new_states = [s for s in self.states.values() if s.is_new]
        # Each absorbed profile points at its direct winner, as its merge record says, so the branch
        # walk of an unmerge finds it; readers follow the chain to the live profile.
        merged_into = dict(self.redirect)
        profile_store.insert_new(conn, new_states, merged_into, now)
        for record in self._pending.merges:
            if not record.pop("_loser_is_new"):
                store.move_profile_rows(conn, record["merged_id"], record["profile_id"])
                profile_store.mark_merged(conn, record["merged_id"], record["profile_id"], now)
        stamp = Raw(conn).time(now)
        store.insert_identities(
            conn,
            [
                (ident[0], ident[1], self.live(origin), origin, ev.source_id, stamp)
                for ident, origin, ev in self._pending.new_identities
            ],
        )
        store.insert_merges(conn, self._pending.merges)
        conflicts = [
            {**c, "profile_id": self.live(c["profile_id"]), "other_profile_id": c["other_profile_id"]}
            for c in self._pending.conflicts
        ]
        store.insert_conflicts(conn, conflicts)
        for a, b in self._pending.blocks:
            store.add_block(conn, a, b, now)
        dirty = [s for s in self.states.values() if s.dirty and not s.is_new and s.id not in self.redirect]
        profile_store.save(conn, dirty, now)
        # Losers that existed before keep their last values for the record (the merge snapshot).
