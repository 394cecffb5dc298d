"""The SLA watch, in the worker role: cases whose promise turns at risk raise a staff task in their
queue, and breaches are recorded as entries of the case. It reads only cases whose next SLA moment
has come (an indexed due time), so it costs nothing while no promise is near."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import Connection

from omnikanal.background import Periodic
from omnikanal.clock import isoformat
from omnikanal.db.engine import run_write
from omnikanal.messaging.service import MessagingService, SendRequest

from . import sla, store
from .cases import ServiceDesk
from .model import OPEN_STATUSES
from .views import sla_view

log = logging.getLogger(__name__)
RANK = {"ok": 0, "at_risk": 1, "breached": 2}


def task_queue(queue: str) -> str:
    """Staff tasks go to the hotline or a store's queue (messaging's task channel knows no others)."""
    return queue if queue.startswith("store:") else "hotline"


class SlaWatch:
    def __init__(self, desk: ServiceDesk, messaging: MessagingService, interval: float, batch: int) -> None:
        self._desk = desk
        self._messaging = messaging
        self._batch = batch
        self._loop = Periodic("service-sla", interval, self.run_once)

    def run_once(self) -> bool:
        """One pass over the due cases; True when there may be more.

        Not through the desk's ``write``: that first makes the service's source and templates, which
        a hub without cases should not get from a background pass (sla entries are no timeline events).
        """
        return run_write(self._desk.engine, self._pass) >= self._batch

    def _pass(self, conn: Connection) -> int:
        desk = self._desk
        now = desk.clock_now()
        rows = store.due_checks(conn, now, self._batch)
        for case in rows:
            view = sla_view(case, now, desk.config.at_risk)
            state = view["state"] if case.status in OPEN_STATUSES else case.sla_state
            if RANK[state] > RANK[case.sla_state]:
                self._record(conn, case, state, view)
            open_ = case.status in OPEN_STATUSES
            promises = [
                (case.first_response_due, case.first_response_at if open_ else now),
                (case.resolution_due, None if open_ else now),
            ]
            check = sla.next_check(case.created_at, promises, now, desk.config.at_risk)
            recorded = state if RANK[state] > RANK[case.sla_state] else case.sla_state
            store.update_case(conn, case.id, {"sla_state": recorded, "sla_check_at": check})
        return len(rows)

    def _record(self, conn: Connection, case: Any, state: str, view: dict[str, Any]) -> None:
        desk = self._desk
        data = {"state": state, "first_response": view["first_response"], "resolution": view["resolution"]}
        desk.add_entry(conn, case.id, case.profile_id, "sla", None, "sla-watch", None, data=data)
        if state != "at_risk":
            return
        due = view["first_response"]["due"] if case.first_response_at is None else view["resolution"]["due"]
        request = SendRequest(
            profile_id=case.profile_id,
            channel="task",
            transactional=True,
            content={
                "subject": f"SLA {case.ref}",
                "text": f"Fall {case.ref} „{case.subject}“ ({case.queue}): fällig {due} / case due {due}",
            },
            data={"case_id": case.id, "ref": case.ref, "due": due, "at": isoformat(desk.clock_now())},
            idempotency_key=f"service-sla:{case.id}:{due}",
            queue=task_queue(case.queue),
            kind="sla",
        )
        self._messaging.enqueue_many(conn, [request], "sla-watch")

    def start(self) -> None:
        self._loop.start()

    def stop(self) -> None:
        self._loop.stop()
