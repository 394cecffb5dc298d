"""Data-subject requests: filed, run and recorded; each capability contributes its part through the
registry, so a capability added later joins exports and erasures by registering."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, insert, select, update

from omnikanal.clock import Clock, isoformat
from omnikanal.consent import access as consent
from omnikanal.consent.suppression import SuppressionList
from omnikanal.db.checkpoint import truncate_wal
from omnikanal.db.engine import read_tx, run_write
from omnikanal.errors import Conflict, Forbidden, InvalidInput, NotFound
from omnikanal.eventlog import access as eventlog
from omnikanal.ids import new_id
from omnikanal.listeners import Listeners
from omnikanal.privacy.model import PersonalData, RequestStatus, RequestType, one_month_later
from omnikanal.privacy.tables import privacy_exports, privacy_requests
from omnikanal.profiles import access as profiles
from omnikanal.profiles import chain
from omnikanal.profiles.identity.model import Identifier
from omnikanal.profiles.service import ProfileChange, ProfileService

# Traits that are identifiers: correcting them would silently re-key the person; erasure or an
# unmerge is the honest tool for a wrong address.
IDENTIFIER_TRAITS = frozenset({"email", "phone", "userId", "user_id", "anonymousId"})
MAX_RECTIFY_TRAITS = 50


class PrivacyRegistry:
    """The capabilities holding personal data. Erasure runs them newest-registered first, so the
    core hub (registered first) deletes the profile itself last."""

    def __init__(self) -> None:
        self._parts: list[PersonalData] = []

    def register(self, part: PersonalData) -> None:
        if any(p.name == part.name for p in self._parts):
            raise ValueError(f"a part named {part.name!r} is registered already")
        self._parts.append(part)

    @property
    def parts(self) -> tuple[PersonalData, ...]:
        return tuple(self._parts)


class PrivacyService:
    def __init__(
        self,
        engine: Engine,
        clock: Clock,
        registry: PrivacyRegistry,
        suppression: SuppressionList,
        profiles_service: ProfileService,
        listeners: Listeners | None = None,
    ) -> None:
        self._engine = engine
        self._clock = clock
        self.registry = registry
        self._suppression = suppression
        self._profiles = profiles_service
        # told of restrictions and rectifications in their transaction (see ProfileService.on_change)
        self.on_change: list[ProfileChange] = (listeners or Listeners()).profiles_changed

    # -- filing and reading requests ------------------------------------------------------------

    def file(
        self,
        request_type: RequestType,
        *,
        profile_id: str | None = None,
        identifier: Identifier | None = None,
        details: dict[str, Any] | None = None,
        origin: str,
        requested_by: str | None,
    ) -> dict[str, Any]:
        """Record a request for a known person; unknown persons are refused and nothing is kept."""
        live = self._person(profile_id, identifier)
        details = details or {}
        if request_type is RequestType.RECTIFICATION:
            _check_traits(details.get("traits"))
        now = self._clock.now()
        request_id = new_id("dsr")
        row = {
            "id": request_id,
            "type": request_type.value,
            "status": RequestStatus.RECEIVED.value,
            "profile_id": live,
            "origin": origin,
            "requested_by": requested_by,
            "details": details,
            "result": {},
            "error": None,
            "created_at": now,
            "due_at": one_month_later(now),
            "completed_at": None,
            "completed_by": None,
        }
        run_write(self._engine, lambda conn: conn.execute(insert(privacy_requests), [row]))
        return self.get(request_id)

    def _person(self, profile_id: str | None, identifier: Identifier | None) -> str:
        if (profile_id is None) == (identifier is None):
            raise InvalidInput(
                "invalid_subject", "name the person by profile_id or by identifier, not both", "profile_id"
            )
        if identifier is not None:
            try:
                return str(self._profiles.lookup(*identifier)["id"])
            except NotFound:
                raise NotFound("person_not_found", "no person is known by that identifier") from None
        assert profile_id is not None
        try:
            return self._profiles.live_id(profile_id)
        except NotFound:
            raise NotFound("person_not_found", f"no person with profile {profile_id!r}") from None

    def get(self, request_id: str) -> dict[str, Any]:
        with read_tx(self._engine) as conn:
            row = conn.execute(select(privacy_requests).where(privacy_requests.c.id == request_id)).first()
            has_export = (
                conn.execute(
                    select(privacy_exports.c.request_id).where(privacy_exports.c.request_id == request_id)
                ).first()
                is not None
            )
        if row is None:
            raise NotFound("request_not_found", f"no privacy request {request_id!r}")
        return _request_view(row, has_export)

    def find(self, status: str | None, request_type: str | None, limit: int) -> list[dict[str, Any]]:
        query = select(privacy_requests).order_by(privacy_requests.c.due_at).limit(limit)
        if status:
            query = query.where(privacy_requests.c.status == status)
        if request_type:
            query = query.where(privacy_requests.c.type == request_type)
        with read_tx(self._engine) as conn:
            return [_request_view(r, None) for r in conn.execute(query)]

    # -- running requests -----------------------------------------------------------------------

    def run(self, request_id: str, actor: str, *, may_erase: bool) -> dict[str, Any]:
        """Carry a received request out, in one transaction; answers the completed request."""

        def work(conn: Connection) -> bool:
            row = conn.execute(
                select(privacy_requests).where(privacy_requests.c.id == request_id).with_for_update()
            ).first()
            if row is None:
                raise NotFound("request_not_found", f"no privacy request {request_id!r}")
            if row.status != RequestStatus.RECEIVED:
                raise Conflict("request_done", f"the request is {row.status} already")
            kind = RequestType(row.type)
            if kind is RequestType.ERASURE and not may_erase:
                raise Forbidden("forbidden", "only the privacy role may run an erasure")
            live = profiles.profile_row(conn, row.profile_id) if row.profile_id else None
            if live is None:
                raise Conflict("person_gone", "the person is no longer held (erased already?)")
            members = chain.merge_set(conn, row.profile_id)
            now = self._clock.now()
            if kind is RequestType.EXPORT:
                result = self._export(conn, request_id, row.profile_id, members, now)
            elif kind is RequestType.ERASURE:
                result = self._erase(conn, members, now)
            elif kind is RequestType.RESTRICTION:
                lift = bool((row.details or {}).get("lift"))
                consent.set_restricted(conn, row.profile_id, request_id, now, on=not lift)
                result = {"restricted": not lift}
            else:
                result = self._rectify(
                    conn, row.profile_id, (row.details or {}).get("traits") or {}, actor, now
                )
            if kind in (RequestType.RESTRICTION, RequestType.RECTIFICATION):
                for listener in self.on_change:
                    listener(conn, members, now)
            values: dict[str, Any] = {
                "status": RequestStatus.COMPLETED.value,
                "result": result,
                "completed_at": now,
                "completed_by": actor,
            }
            if kind is RequestType.ERASURE:
                values.update(profile_id=None, details={})
            elif kind is RequestType.RECTIFICATION:
                values["details"] = {**(row.details or {}), "previous": result.pop("previous")}
            conn.execute(update(privacy_requests).where(privacy_requests.c.id == request_id).values(**values))
            return kind is RequestType.ERASURE

        erased = run_write(self._engine, work)
        if erased:
            # The WAL still holds the pages as they were before the erasure: into the file (where
            # secure_delete overwrote the rows) and out of the WAL.
            truncate_wal(self._engine)
        return self.get(request_id)

    def _export(
        self, conn: Connection, request_id: str, live: str, members: Sequence[str], now: datetime
    ) -> dict[str, Any]:
        document: dict[str, Any] = {
            "generated_at": isoformat(now),
            "request_id": request_id,
            "profile_id": live,
            "profile_ids": list(members),
            "parts": {part.name: part.export(conn, members) for part in self.registry.parts},
        }
        conn.execute(
            insert(privacy_exports),
            [{"request_id": request_id, "profile_id": live, "document": document, "created_at": now}],
        )
        return {
            "parts": sorted(document["parts"]),
            "events": len(document["parts"].get("core", {}).get("events", [])),
        }

    def _erase(self, conn: Connection, members: Sequence[str], now: datetime) -> dict[str, Any]:
        # Lock the person's profile rows first, so an ingest writer resolving them waits and then finds
        # them gone (PostgreSQL; SQLite runs one writer at a time anyway).
        profiles.lock_ids(conn, members)
        identifiers: set[Identifier] = set()
        for profile_id in members:
            identifiers.update(profiles.identifiers_of(conn, profile_id))
            identifiers.add(("profile_id", profile_id))
        # ids seen on events but never kept as identities (over a limit) still identify the person
        for user_id, anonymous_id in eventlog.ids_on_events(conn, members):
            for kind, value in (("user_id", user_id), ("anonymous_id", anonymous_id)):
                normalised = self._suppression.normalise(kind, value) if value else None
                if normalised:
                    identifiers.add((kind, normalised))
        suppressed = self._suppression.add(conn, identifiers, "erased", now)
        counts = {part.name: part.erase(conn, members) for part in reversed(self.registry.parts)}
        return {"removed": counts, "suppressed_identifiers": suppressed, "profiles": len(members)}

    @staticmethod
    def _rectify(
        conn: Connection, profile_id: str, traits: dict[str, Any], actor: str, now: datetime
    ) -> dict[str, Any]:
        previous = profiles.set_traits(conn, profile_id, traits, "rectification", actor, now)
        return {"traits": sorted(traits), "previous": previous}

    # -- downloads ------------------------------------------------------------------------------

    def export_document(self, request_id: str) -> dict[str, Any]:
        with read_tx(self._engine) as conn:
            row = conn.execute(
                select(privacy_exports.c.document).where(privacy_exports.c.request_id == request_id)
            ).first()
        if row is None:
            raise NotFound("export_not_found", f"no export for request {request_id!r}")
        document: dict[str, Any] = row.document
        return document


def _check_traits(traits: Any) -> None:
    if not isinstance(traits, dict) or not traits:
        raise InvalidInput(
            "invalid_traits", "a rectification needs details.traits: the corrected values", "details.traits"
        )
    if len(traits) > MAX_RECTIFY_TRAITS:
        raise InvalidInput(
            "invalid_traits", f"at most {MAX_RECTIFY_TRAITS} traits per request", "details.traits"
        )
    for key in traits:
        if key in IDENTIFIER_TRAITS:
            raise InvalidInput(
                "identifier_trait",
                f"details.traits.{key} is an identifier; a wrong one is removed by erasure or unmerge",
                f"details.traits.{key}",
            )


def _request_view(row: Any, has_export: bool | None) -> dict[str, Any]:
    view = {
        "id": row.id,
        "type": row.type,
        "status": row.status,
        "profile_id": row.profile_id,
        "origin": row.origin,
        "requested_by": row.requested_by,
        "details": row.details,
        "result": row.result,
        "created_at": isoformat(row.created_at),
        "due_at": isoformat(row.due_at),
        "completed_at": isoformat(row.completed_at),
        "completed_by": row.completed_by,
    }
    if has_export:
        view["export"] = {
            "json": f"/api/privacy/requests/{row.id}/export.json",
            "html": f"/api/privacy/requests/{row.id}/export.html",
        }
    return view
