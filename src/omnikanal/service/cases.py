"""Use cases of service: open a case, read and list them, answer, note, assign, change status.

Every write runs in one transaction with its timeline event (through ingest, the service's own
source, origin "service") and, for answers and surveys, the message in messaging's outbox.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine

from omnikanal.clock import Clock, isoformat
from omnikanal.commerce.touchpoints import Touchpoints, branch, live_profile
from omnikanal.db.engine import read_tx, run_write
from omnikanal.errors import Conflict, Forbidden, InvalidInput, NotFound
from omnikanal.ids import new_id
from omnikanal.messaging.service import MessagingService
from omnikanal.signing import Signer

from . import pause, sla, store
from .answers import MAX_REFERENCES, ensure_templates, reply_request, survey_request
from .model import (
    ANSWER_CHANNEL,
    LINK_KEYS,
    OPEN_STATUSES,
    OPENED,
    REPLIED,
    RESOLVED,
    STATUSES,
    CaseIn,
)
from .views import by_entry, case_view, decode_cursor, entry_view

T = TypeVar("T")
MAX_ENTRIES = 1000  # entries shown with a case; a longer thread is exported whole


@dataclass(frozen=True)
class DeskConfig:
    calendar: sla.BusinessHours
    sla_hours: dict[str, list[float]]
    at_risk: float
    public_url: str
    csat_days: int
    mail_queue: str
    custom_statuses: tuple[str, ...] = ()
    # business hours per queue (settings); a store's queue without them counts its opening hours
    queue_calendars: dict[str, sla.BusinessHours] = field(default_factory=dict)
    store_hours: Callable[[str], sla.BusinessHours | None] | None = None
    statuses: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "statuses", (*STATUSES, *self.custom_statuses))

    def targets(self, queue: str, priority: str) -> list[float] | None:
        return self.sla_hours.get(f"{queue}:{priority}") or self.sla_hours.get(priority)

    def calendar_of(self, queue: str) -> sla.BusinessHours:
        """The queue's business hours: its own setting, a store's opening hours, else the default."""
        found = self.queue_calendars.get(queue)
        if found is None and queue.startswith("store:") and self.store_hours is not None:
            found = self.store_hours(queue.removeprefix("store:"))
        return found or self.calendar


def new_ref() -> str:
    return "C-" + os.urandom(5).hex().upper()


class ServiceDesk:
    def __init__(
        self,
        engine: Engine,
        clock: Clock,
        touchpoints: Touchpoints,
        messaging: MessagingService,
        signer: Signer,
        config: DeskConfig,
    ) -> None:
        self.engine = engine
        self._clock = clock
        self.touchpoints = touchpoints
        self._messaging = messaging
        self._signer = signer
        self.config = config
        self._ready = False

    def clock_now(self) -> datetime:
        return self._clock.now()

    def prepare(self) -> None:
        """What a write needs before its transaction opens: the source and the answer templates."""
        if not self._ready:
            self.touchpoints.source()
            ensure_templates(self._messaging)
            self._ready = True

    def write(self, work: Callable[[Connection], T]) -> T:
        self.prepare()
        return run_write(self.engine, work)

    # -- opening ---------------------------------------------------------------------------------

    def open_case(self, body: CaseIn, actor: str, store_id: str | None = None) -> dict[str, Any]:
        own_queue(body.queue, store_id)
        links = {k: getattr(body, k) for k in LINK_KEYS if getattr(body, k) is not None}

        def work(conn: Connection) -> str:
            profile_id = live_profile(conn, body.profile_id, lock=True)
            return self.create(
                conn,
                profile_id=profile_id,
                subject=body.subject,
                queue=body.queue,
                priority=body.priority,
                channel=body.channel,
                actor=actor,
                body=body.body,
                assignee=body.assignee,
                tags=body.tags,
                links=links,
            )

        return self.get(self.write(work), store_id)

    def create(
        self,
        conn: Connection,
        *,
        profile_id: str,
        subject: str,
        queue: str,
        priority: str,
        channel: str,
        actor: str,
        body: str | None = None,
        assignee: str | None = None,
        tags: list[str] | None = None,
        links: dict[str, str] | None = None,
        entry: dict[str, Any] | None = None,
    ) -> str:
        """A new case in the caller's transaction, with its first entry (what the customer said)."""
        now = self._clock.now()
        case_id = new_id("case")
        targets = self.config.targets(queue, priority)
        first_due = resolve_due = None
        if targets:
            calendar = self.config.calendar_of(queue)
            first_due = sla.add_business_hours(now, targets[0], calendar)
            resolve_due = sla.add_business_hours(now, targets[1], calendar)
        ref = new_ref()
        store.insert_case(
            conn,
            {
                "id": case_id,
                "ref": ref,
                "profile_id": profile_id,
                "subject": subject[:500],
                "queue": queue,
                "priority": priority,
                "status": "new",
                "assignee": assignee,
                "channel": channel,
                "tags": tags or [],
                "links": links or {},
                "entries": 0,
                "created_at": now,
                "updated_at": now,
                "first_response_due": first_due,
                "resolution_due": resolve_due,
                "sla_state": "ok",
                "sla_paused_hours": 0.0,
                "sla_check_at": sla.next_check(
                    now, [(first_due, None), (resolve_due, None)], now, self.config.at_risk
                ),
            },
        )
        if body is not None or entry is not None:
            self.add_entry(conn, case_id, profile_id, "inbound", channel, actor, body, **(entry or {}))
        properties = {"case_id": case_id, "ref": ref, "subject": subject[:500], "queue": queue}
        self.emit(conn, profile_id, OPENED, properties | (links or {}), channel, f"service:{case_id}:opened")
        return case_id

    def add_entry(
        self,
        conn: Connection,
        case_id: str,
        profile_id: str,
        kind: str,
        channel: str | None,
        author: str | None,
        text: str | None,
        *,
        html: str | None = None,
        message_id: str | None = None,
        mail_message_id: str | None = None,
        data: dict[str, Any] | None = None,
    ) -> str:
        entry_id = new_id("ent")
        store.insert_entry(
            conn,
            {
                "id": entry_id,
                "case_id": case_id,
                "profile_id": profile_id,
                "kind": kind,
                "channel": channel,
                "author": author,
                "body_text": text,
                "body_html": html,
                "message_id": message_id,
                "mail_message_id": mail_message_id,
                "data": data or {},
                "created_at": self._clock.now(),
            },
        )
        return entry_id

    def emit(
        self, conn: Connection, profile_id: str, event: str, props: dict[str, Any], channel: str, key: str
    ) -> None:
        self.touchpoints.emit(conn, profile_id, event, props, channel=channel, message_id=key)

    # -- reading ---------------------------------------------------------------------------------

    def get(self, case_id: str, store_id: str | None = None) -> dict[str, Any]:
        with read_tx(self.engine) as conn:
            row = self.case_row(conn, case_id, store_id)
            view = case_view(row, self._clock.now(), self.config.at_risk)
            files = by_entry(store.attachments_of_case(conn, case_id))
            view["items"] = [entry_view(e, files) for e in store.entries(conn, case_id, MAX_ENTRIES)]
        return view

    def list_cases(
        self,
        filters: dict[str, Any],
        profile_id: str | None,
        cursor: str | None,
        limit: int,
        store_id: str | None = None,
    ) -> dict[str, Any]:
        if store_id is not None:
            queue = filters.get("queue")
            if queue is not None:
                own_queue(queue, store_id)
            filters = {**filters, "queue": f"store:{store_id}"}
        after = decode_cursor(cursor) if cursor else None
        with read_tx(self.engine) as conn:
            ids = branch(conn, live_profile(conn, profile_id)) if profile_id else None
            rows = store.list_cases(conn, filters, ids, after, limit + 1)
        now = self._clock.now()
        items = [case_view(r, now, self.config.at_risk) for r in rows[:limit]]
        last = rows[limit - 1] if len(rows) > limit else None
        return {"items": items, "next": f"{isoformat(last.created_at)}|{last.id}" if last else None}

    def counts(self, queue: str | None, store_id: str | None = None) -> dict[str, int]:
        """Cases per status (every status named, zeros included), of one queue or of all."""
        if store_id is not None:
            queue = f"store:{store_id}"
        with read_tx(self.engine) as conn:
            found = store.counts_by_status(conn, queue)
        return {name: found.get(name, 0) for name in self.config.statuses}

    def case_row(self, conn: Connection, case_id: str, store_id: str | None, *, lock: bool = False) -> Any:
        row = store.get_case(conn, case_id, lock=lock)
        if row is None:
            raise NotFound("case_not_found", f"no case {case_id!r}")
        own_queue(row.queue, store_id)
        return row

    # -- working a case --------------------------------------------------------------------------

    def reply(
        self, case_id: str, text: str, actor: str, channel: str | None = None, store_id: str | None = None
    ) -> dict[str, Any]:
        def work(conn: Connection) -> None:
            self.answer(conn, self.case_row(conn, case_id, store_id, lock=True), text, actor, channel)

        self.write(work)
        return self.get(case_id, store_id)

    def answer(self, conn: Connection, case: Any, text: str, actor: str, channel: str | None) -> None:
        """An answer to the customer in the caller's transaction (the case row locked)."""
        if case.status == "closed":
            raise Conflict("case_closed", f"case {case.id} is closed")
        out = channel or ANSWER_CHANNEL.get(case.channel, "email")
        message_id = new_id("msg")
        entry_id = self.add_entry(
            conn, case.id, case.profile_id, "outbound", out, actor, text, message_id=message_id
        )
        thread = store.mail_thread(conn, case.id, MAX_REFERENCES) if out == "email" else []
        request = reply_request(case, out, text, f"service:{entry_id}", thread)
        self._messaging.enqueue_many(conn, [request], actor, ids=[message_id])
        now = self._clock.now()
        values: dict[str, Any] = {"updated_at": now}
        if case.first_response_at is None:
            values["first_response_at"] = now
        if case.status in ("new", "open", "waiting_us"):
            values["status"] = "waiting_customer"
            values |= self.pause_values(case, "waiting_customer")
        store.update_case(conn, case.id, values)
        props = {"case_id": case.id, "ref": case.ref, "channel": out, "message_id": message_id}
        self.emit(conn, case.profile_id, REPLIED, props, _timeline(out), f"service:{entry_id}")

    def note(self, case_id: str, text: str, actor: str, store_id: str | None = None) -> dict[str, Any]:
        def work(conn: Connection) -> None:
            case = self.case_row(conn, case_id, store_id, lock=True)
            self.add_entry(conn, case.id, case.profile_id, "note", None, actor, text)

        self.write(work)
        return self.get(case_id, store_id)

    def assign(
        self, case_id: str, assignee: str | None, actor: str, store_id: str | None = None
    ) -> dict[str, Any]:
        def work(conn: Connection) -> None:
            self.assign_in(conn, self.case_row(conn, case_id, store_id, lock=True), assignee, actor)

        self.write(work)
        return self.get(case_id, store_id)

    def assign_in(self, conn: Connection, case: Any, assignee: str | None, actor: str) -> None:
        data = {"from": case.assignee, "to": assignee}
        self.add_entry(conn, case.id, case.profile_id, "assign", None, actor, None, data=data)
        values: dict[str, Any] = {"assignee": assignee}
        if case.status == "new" and assignee is not None:
            values["status"] = "open"
        store.update_case(conn, case.id, values)

    def set_status(
        self, case_id: str, status: str, actor: str, store_id: str | None = None
    ) -> dict[str, Any]:
        if status not in self.config.statuses:
            raise InvalidInput(
                "invalid_status", f"status must be one of: {', '.join(self.config.statuses)}", "status"
            )

        def work(conn: Connection) -> None:
            case = self.case_row(conn, case_id, store_id, lock=True)
            self.change_status(conn, case, status, actor)

        self.write(work)
        return self.get(case_id, store_id)

    def change_status(self, conn: Connection, case: Any, status: str, actor: str | None) -> None:
        if case.status == status:
            return
        if case.status == "closed":
            raise Conflict("case_closed", f"case {case.id} is closed; a new message opens a new case")
        now = self._clock.now()
        data = {"from": case.status, "to": status}
        entry_id = self.add_entry(conn, case.id, case.profile_id, "status", None, actor, None, data=data)
        values: dict[str, Any] = {"status": status}
        if status == "resolved":
            values["resolved_at"] = now
        elif status == "closed":
            values["closed_at"] = now
        elif status in OPEN_STATUSES:
            values["resolved_at"] = None  # reopened: the resolution is measured again
        store.update_case(conn, case.id, values | self.pause_values(case, status))
        if status == "resolved":
            props = {"case_id": case.id, "ref": case.ref, "queue": case.queue}
            self.emit(conn, case.profile_id, RESOLVED, props, case.channel, f"service:{entry_id}")
            if case.csat_score is None:
                self._survey(conn, case, entry_id)

    def _survey(self, conn: Connection, case: Any, entry_id: str) -> None:
        request = survey_request(self._signer, case, self.config.public_url, self.config.csat_days)
        self._messaging.enqueue_many(conn, [request], None)

    def pause_values(self, case: Any, status: str) -> dict[str, Any]:
        calendar = self.config.calendar_of(case.queue)
        return pause.status_values(case, status, self._clock.now(), calendar, self.config.at_risk)

    def csat_case(self, token: str) -> str:
        return str(self._signer.open("csat", token)["c"])


def _timeline(messaging_channel: str) -> str:
    return {"whatsapp": "chat"}.get(messaging_channel, messaging_channel)


def own_queue(queue: str, store_id: str | None) -> None:
    """A store's staff see and work only their store's queue."""
    if store_id is not None and queue != f"store:{store_id}":
        raise Forbidden("other_queue", f"store staff work only the queue store:{store_id}")
