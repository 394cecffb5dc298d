"""Merges on other evidence than a shared identifier, for capabilities that find such evidence
(probabilistic matching), and the reads they need of profiles. The stitching rules hold here too:
two different user ids never merge, nor do profiles that an unmerge split apart."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, func, select

from omnikanal.clock import Clock
from omnikanal.db.engine import read_tx, run_write
from omnikanal.db.fast import Raw
from omnikanal.listeners import Listeners
from omnikanal.profiles import chain
from omnikanal.profiles.identity import store as identity_store
from omnikanal.profiles.identity.model import IdentityRules
from omnikanal.profiles.identity.resolver import Resolver
from omnikanal.profiles.model import TraitRules
from omnikanal.profiles.tables import profiles

CHUNK = 500


@dataclass(frozen=True, slots=True)
class MergeOutcome:
    merge_id: str | None  # None: refused
    profile_id: str  # the survivor (or the first profile, when refused)
    refusal: str | None = None


class ProfileMerger:
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
        self._listeners = listeners or Listeners()

    def traits(self, profile_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        """The traits of those of the profiles that are live."""
        wanted = sorted(set(profile_ids))
        found: dict[str, dict[str, Any]] = {}
        with read_tx(self._engine) as conn:
            raw = Raw(conn)
            for start in range(0, len(wanted), CHUNK):
                chunk = wanted[start : start + CHUNK]
                sql = (
                    "SELECT id, traits FROM profiles "  # noqa: S608
                    f"WHERE state = 'live' AND id IN ({raw.in_list(len(chunk))})"
                )
                for pid, traits in raw.fetch(sql, chunk):
                    found[pid] = dict(raw.read_json(traits) or {})
        return found

    def live_page(self, after: str | None, limit: int) -> list[str]:
        """Ids of live profiles in id order, ``limit`` after ``after``: for a pass over every one."""
        stmt = select(profiles.c.id).where(profiles.c.state == "live").order_by(profiles.c.id).limit(limit)
        if after is not None:
            stmt = stmt.where(profiles.c.id > after)
        with read_tx(self._engine) as conn:
            return [r.id for r in conn.execute(stmt)]

    def live_count(self) -> int:
        with read_tx(self._engine) as conn:
            stmt = select(func.count()).select_from(profiles).where(profiles.c.state == "live")
            return int(conn.execute(stmt).scalar_one())

    def live_ids(self, profile_ids: Iterable[str]) -> dict[str, str]:
        """Each profile's live profile (itself, or the one that absorbed it)."""
        with read_tx(self._engine) as conn:
            return chain.live_ids(conn, profile_ids)

    def blocked(self, conn: Connection, profile_ids: Iterable[str]) -> set[tuple[str, str]]:
        """Pairs (sorted) that an unmerge split apart, among those touching the profiles."""
        return identity_store.blocked_pairs(conn, profile_ids)

    def merge(self, a: str, b: str, reason: str, note: dict[str, Any]) -> MergeOutcome:
        """Merge two profiles; the one with a user id, else the older, survives. ``note`` (the score
        and the fields' contributions) is kept on the merge record."""
        return run_write(self._engine, lambda conn: self._merge(conn, a, b, reason, note))

    def _merge(self, conn: Connection, a: str, b: str, reason: str, note: dict[str, Any]) -> MergeOutcome:
        live = chain.live_ids(conn, [a, b])
        first, second = live.get(a), live.get(b)
        if first is None or second is None:
            return MergeOutcome(None, a, "profile_gone")
        if first == second:
            return MergeOutcome(None, first, "same_profile")
        now = self._clock.now()
        resolver = Resolver(conn, self._identity_rules, self._trait_rules, now)
        merge_id, outcome = resolver.merge_pair(first, second, reason, note)
        if merge_id is None:
            return MergeOutcome(None, first, outcome)
        resolver.flush()
        for listener in self._listeners.profiles_merged:
            listener(conn, [first, second], now)
        return MergeOutcome(merge_id, outcome)
