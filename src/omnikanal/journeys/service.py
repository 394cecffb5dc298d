"""Journeys: documents and their versions, activation, entries by API call, runs and statistics."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, func, or_, select, update

from omnikanal.clock import Clock, isoformat
from omnikanal.db.engine import read_tx, run_write
from omnikanal.errors import Conflict, InvalidInput, NotFound
from omnikanal.eventlog.tables import events
from omnikanal.ids import new_id
from omnikanal.journeys.engine import ACTIVE, ENDED, JourneyEngine, Version
from omnikanal.journeys.model import Journey, fail, parse_journey
from omnikanal.journeys.schema import journey_schema
from omnikanal.journeys.tables import journey_runs, journey_steps, journey_versions, journeys
from omnikanal.messaging import store as messaging_store
from omnikanal.messaging.tables import messages
from omnikanal.profiles.tables import profiles
from omnikanal.segments.tables import computed_trait_defs, segments

STATUSES = ("draft", "active", "paused")


def _journey_view(row: Any, document: Any | None = None) -> dict[str, Any]:
    view: dict[str, Any] = {
        "id": row.id,
        "name": row.name,
        "status": row.status,
        "version": row.version,
        "created_by": row.created_by,
        "created_at": isoformat(row.created_at),
        "updated_at": isoformat(row.updated_at),
    }
    if document is not None:
        view["document"] = document
    return view


def run_view(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "journey_id": row.journey_id,
        "version": row.version,
        "profile_id": row.profile_id,
        "key": row.run_key or None,
        "status": row.status,
        "step": row.step,
        "waiting_for": row.wait_event,
        "variant": row.variant,
        "exit_reason": row.exit_reason,
        "last_message_id": row.last_message_id,
        "entered_at": isoformat(row.entered_at),
        "ended_at": isoformat(row.ended_at),
        "goal_at": isoformat(row.goal_at),
        "goal_message_id": row.goal_message_id,
    }


class JourneyService:
    def __init__(self, engine: Engine, clock: Clock, journey_engine: JourneyEngine) -> None:
        self._engine = engine
        self._clock = clock
        self.engine = journey_engine

    def schema(self) -> dict[str, Any]:
        return journey_schema(self.engine.limits.max_steps)

    # --- checking

    def check(self, conn: Connection, document: Any) -> tuple[Journey, dict[str, Any], list[dict[str, str]]]:
        """Parse, resolve names against the database; (journey, resolved names, warnings)."""
        journey = parse_journey(document, self.engine.limits, self.engine.condition_limits)
        resolved: dict[str, str] = {}
        for pointer, ref in journey.segments:
            row = conn.execute(
                select(segments.c.id).where(or_(segments.c.id == ref, segments.c.name == ref))
            ).first()
            if row is None:
                raise fail(pointer, f"no segment named {ref!r}", "unknown_segment")
            resolved[ref] = row.id
        known_computed = set(conn.execute(select(computed_trait_defs.c.name)).scalars())
        for pointer, name in journey.computed:
            if name not in known_computed:
                raise fail(pointer, f"no computed trait named {name!r}", "unknown_computed_trait")
        warnings: list[dict[str, str]] = []
        # An event no source has sent yet may be one the shop will send tomorrow: warn, do not refuse.
        for name in sorted(journey.event_names()):
            seen = conn.execute(
                select(events.c.seq).where(events.c.type == "track", events.c.event == name).limit(1)
            ).first()
            if seen is None:
                warnings.append(
                    {"code": "unknown_event", "message": f"no {name!r} event has been received yet"}
                )
        for template in sorted(
            {str(s.body["template"]) for s in journey.steps.values() if "template" in s.body}
        ):
            if not messaging_store.template_rows(conn, template):
                warnings.append(
                    {"code": "unknown_template", "message": f"no message template named {template!r} yet"}
                )
        for trait in sorted(_traits_of(journey)):
            if not _trait_seen(conn, trait):
                warnings.append(
                    {"code": "unknown_trait", "message": f"no profile has the trait {trait!r} yet"}
                )
        return journey, {"segments": resolved}, warnings

    def validate(self, document: Any) -> dict[str, Any]:
        with read_tx(self._engine) as conn:
            _, _, warnings = self.check(conn, document)
        return {"valid": True, "warnings": warnings}

    # --- documents

    def create(self, document: Any, actor: str | None) -> dict[str, Any]:
        now = self._clock.now()
        journey_id = new_id("jny")

        def work(conn: Connection) -> list[dict[str, str]]:
            journey, resolved, warnings = self.check(conn, document)
            if conn.execute(select(journeys.c.id).where(journeys.c.name == journey.name)).first():
                raise Conflict(
                    "journey_exists", f"name: a journey named {journey.name!r} exists already", "name"
                )
            conn.execute(
                journeys.insert().values(
                    id=journey_id,
                    name=journey.name,
                    status="draft",
                    version=1,
                    created_by=actor,
                    created_at=now,
                    updated_at=now,
                )
            )
            self._add_version(conn, journey_id, 1, document, resolved, actor, now)
            return warnings

        warnings = run_write(self._engine, work)
        return {**self.get(journey_id), "warnings": warnings}

    def update(self, journey_id: str, document: Any, actor: str | None) -> dict[str, Any]:
        """A new version; runs inside finish on the version they entered."""
        now = self._clock.now()

        def work(conn: Connection) -> list[dict[str, str]]:
            row = self._row(conn, journey_id, lock=True)
            journey, resolved, warnings = self.check(conn, document)
            other = conn.execute(select(journeys.c.id).where(journeys.c.name == journey.name)).first()
            if other is not None and other.id != journey_id:
                raise Conflict(
                    "journey_exists", f"name: a journey named {journey.name!r} exists already", "name"
                )
            version = row.version + 1
            self._add_version(conn, journey_id, version, document, resolved, actor, now)
            conn.execute(
                update(journeys)
                .where(journeys.c.id == journey_id)
                .values(name=journey.name, version=version, updated_at=now)
            )
            return warnings

        warnings = run_write(self._engine, work)
        return {**self.get(journey_id), "warnings": warnings}

    @staticmethod
    def _add_version(
        conn: Connection,
        journey_id: str,
        version: int,
        document: Any,
        resolved: dict[str, Any],
        actor: str | None,
        now: datetime,
    ) -> None:
        conn.execute(
            journey_versions.insert().values(
                journey_id=journey_id,
                version=version,
                document=document,
                resolved=resolved,
                created_by=actor,
                created_at=now,
            )
        )

    def set_status(self, journey_id: str, status: str) -> dict[str, Any]:
        """active: new customers enter; paused: nobody enters, runs inside go on to their end."""
        if status not in STATUSES:
            raise InvalidInput("invalid_status", f"status must be one of: {', '.join(STATUSES)}", "status")
        now = self._clock.now()

        def work(conn: Connection) -> None:
            self._row(conn, journey_id, lock=True)
            conn.execute(
                update(journeys).where(journeys.c.id == journey_id).values(status=status, updated_at=now)
            )

        run_write(self._engine, work)
        return self.get(journey_id)

    @staticmethod
    def _row(conn: Connection, journey_id: str, *, lock: bool = False) -> Any:
        query = select(journeys).where(journeys.c.id == journey_id)
        row = conn.execute(query.with_for_update() if lock else query).first()
        if row is None:
            raise NotFound("journey_not_found", f"no journey {journey_id!r}", "journey_id")
        return row

    def get(self, journey_id: str) -> dict[str, Any]:
        with read_tx(self._engine) as conn:
            row = self._row(conn, journey_id)
            versions = conn.execute(
                select(journey_versions.c.version, journey_versions.c.document, journey_versions.c.created_at)
                .where(journey_versions.c.journey_id == journey_id)
                .order_by(journey_versions.c.version)
            ).all()
        view = _journey_view(row, versions[-1].document)
        view["versions"] = [{"version": v.version, "created_at": isoformat(v.created_at)} for v in versions]
        return view

    def all(self) -> list[dict[str, Any]]:
        with read_tx(self._engine) as conn:
            return [_journey_view(r) for r in conn.execute(select(journeys).order_by(journeys.c.name))]

    # --- entries and runs

    def enter(
        self, journey_id: str, profile_id: str, key: str | None, data: dict[str, Any], origin: str
    ) -> dict[str, Any]:
        """The API-call trigger."""

        def work(conn: Connection) -> tuple[str | None, str]:
            row = self._row(conn, journey_id)
            version: Version = self.engine.version(conn, journey_id, row.version)
            if version.journey.trigger_kind != "api":
                raise Conflict("not_api_triggered", "this journey is not entered by API calls", "journey_id")
            if row.status != "active":
                raise Conflict("journey_not_active", f"the journey is {row.status}, not active", "journey_id")
            if version.journey.key is not None and not key:
                raise InvalidInput(
                    "key_required", f"key: this journey is keyed by {version.journey.key}", "key"
                )
            if conn.execute(select(profiles.c.id).where(profiles.c.id == profile_id)).first() is None:
                raise NotFound("profile_not_found", f"profile_id: no profile {profile_id!r}", "profile_id")
            return self.engine.enter(conn, version, profile_id, key or "", origin, data, self._clock.now())

        run_id, reason = run_write(self._engine, work)
        return {"entered": run_id is not None, "run_id": run_id, "reason": reason}

    def runs(
        self, journey_id: str, profile_id: str | None, status: str | None, limit: int
    ) -> list[dict[str, Any]]:
        with read_tx(self._engine) as conn:
            self._row(conn, journey_id)
            query = select(journey_runs).where(journey_runs.c.journey_id == journey_id)
            if profile_id is not None:
                query = query.where(journey_runs.c.profile_id == profile_id)
            if status is not None:
                query = query.where(journey_runs.c.status == status)
            rows = conn.execute(
                query.order_by(journey_runs.c.entered_at, journey_runs.c.id).limit(limit)
            ).all()
            return [run_view(r) for r in rows]

    def run_steps(self, run_id: str) -> list[dict[str, Any]]:
        with read_tx(self._engine) as conn:
            rows = conn.execute(
                select(journey_steps).where(journey_steps.c.run_id == run_id).order_by(journey_steps.c.seq)
            ).all()
        return [
            {
                "seq": r.seq,
                "step": r.step,
                "kind": r.kind,
                "outcome": r.outcome,
                "message_id": r.message_id,
                "at": isoformat(r.at),
            }
            for r in rows
        ]

    # --- statistics

    def stats(self, journey_id: str) -> dict[str, Any]:
        with read_tx(self._engine) as conn:
            self._row(conn, journey_id)
            runs = journey_runs.c
            where = runs.journey_id == journey_id
            per: dict[int, dict[str, Any]] = {}

            def version(number: int) -> dict[str, Any]:
                return per.setdefault(
                    number,
                    {
                        "version": number,
                        "entered": 0,
                        "active": 0,
                        "at_step": {},
                        "exited": {},
                        "variants": {},
                        "messages": {},
                    },
                )

            for row in conn.execute(
                select(runs.version, runs.status, runs.step, runs.exit_reason, func.count())
                .where(where)
                .group_by(runs.version, runs.status, runs.step, runs.exit_reason)
            ):
                v = version(row.version)
                count = int(row[4])
                v["entered"] += count
                if row.status == ACTIVE:
                    v["active"] += count
                    step = row.step or "(starting)"
                    v["at_step"][step] = v["at_step"].get(step, 0) + count
                elif row.status == ENDED:
                    v["exited"][row.exit_reason] = v["exited"].get(row.exit_reason, 0) + count
            for row in conn.execute(
                select(runs.version, runs.variant, func.count(), func.count(runs.goal_at))
                .where(where)
                .group_by(runs.version, runs.variant)
            ):
                entered, goals = int(row[2]), int(row[3])
                version(row.version)["variants"][row.variant or "(none)"] = {
                    "entered": entered,
                    "goals": goals,
                    "rate": round(goals / entered, 4) if entered else None,
                }
            steps = journey_steps.c
            for row in conn.execute(
                select(
                    runs.version,
                    messages.c.requested_channel,
                    messages.c.channel,
                    messages.c.status,
                    func.count(),
                )
                .select_from(
                    journey_runs.join(journey_steps, steps.run_id == runs.id).join(
                        messages, messages.c.id == steps.message_id
                    )
                )
                .where(where)
                .group_by(runs.version, messages.c.requested_channel, messages.c.channel, messages.c.status)
            ):
                channel = row.channel or row.requested_channel
                by_status = version(row.version)["messages"].setdefault(channel, {})
                by_status[row.status] = by_status.get(row.status, 0) + int(row[4])
        for v in per.values():
            holdout = v["variants"].get("holdout")
            v["holdout_rate"] = holdout["rate"] if holdout else None
        return {"journey_id": journey_id, "versions": [per[k] for k in sorted(per)]}


def _traits_of(journey: Journey) -> set[str]:
    found = set()
    if journey.trigger_kind == "date" and "trait" in journey.trigger:
        found.add(str(journey.trigger["trait"]))
    for step in journey.steps.values():
        if step.kind == "wait" and "until_trait" in step.body:
            found.add(str(step.body["until_trait"]["trait"]))
    return found


def _trait_seen(conn: Connection, trait: str) -> bool:
    if conn.dialect.name == "postgresql":
        found = conn.exec_driver_sql(
            "SELECT 1 FROM profiles WHERE traits ? %(t)s LIMIT 1", {"t": trait}
        ).first()
    else:
        found = conn.exec_driver_sql(
            "SELECT 1 FROM profiles WHERE json_extract(traits, ?) IS NOT NULL LIMIT 1",
            (f'$."{trait}"',),
        ).first()
    return found is not None
