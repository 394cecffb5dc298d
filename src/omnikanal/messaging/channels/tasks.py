"""Staff tasks: "call this customer", "prepare this pick-up", in a queue for the hotline or a store.

The task row is keyed by the message id, so a re-dispatch after a crash finds the task already
there instead of adding a second one.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from sqlalchemy import Engine

from omnikanal.clock import Clock
from omnikanal.db.engine import insert_ignoring_duplicates, run_write
from omnikanal.ids import new_id
from omnikanal.messaging.model import Outgoing, PermanentFailure, SendResult, Status
from omnikanal.messaging.tables import staff_tasks

QUEUE_PATTERN = re.compile(r"^(hotline|store:[A-Za-z0-9_.-]{1,60})$")
TASK_KINDS: tuple[str, ...] = ("call", "pickup", "callback", "other")


class TaskChannel:
    name = "task"

    def __init__(self, engine: Engine, clock: Clock) -> None:
        self._engine = engine
        self._clock = clock

    def send_batch(self, batch: Sequence[Outgoing]) -> list[SendResult | Exception]:
        results: list[SendResult | Exception] = []
        rows = []
        for item in batch:
            queue = str(item.options.get("queue") or item.address or "hotline")
            if not QUEUE_PATTERN.match(queue):
                results.append(PermanentFailure(f"task queue must be hotline or store:<id>, not {queue!r}"))
                continue
            rows.append(
                {
                    "id": new_id("task"),
                    "profile_id": item.profile_id,
                    "message_id": item.message_id,
                    "queue": queue,
                    "kind": str(item.options.get("kind") or "call"),
                    "title": item.subject or (item.text.splitlines()[0][:200] if item.text else ""),
                    "body": item.text,
                    "status": "open",
                    "created_at": self._clock.now(),
                }
            )
            results.append(SendResult(provider_id=item.message_id, status=Status.DELIVERED))
        if rows:
            run_write(self._engine, lambda conn: insert_ignoring_duplicates(conn, staff_tasks, rows))
        return results

    def close(self) -> None:
        pass
