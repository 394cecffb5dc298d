"""Personal data held by messaging, for the privacy registry: access (export) and erasure.

Messages (with what was sent, to which address, and the gate's decisions), their status history and
staff tasks and Web Push subscriptions all carry ``profile_id``. Templates hold no personal data.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, delete, select

from omnikanal.clock import isoformat
from omnikanal.messaging.tables import message_statuses, messages, push_subscriptions, staff_tasks


class MessagingPersonalData:
    name = "messaging"

    def export(self, conn: Connection, profile_ids: Sequence[str]) -> dict[str, Any]:
        ids = list(profile_ids)
        history: dict[str, list[dict[str, Any]]] = {}
        for row in conn.execute(
            select(message_statuses)
            .where(message_statuses.c.profile_id.in_(ids))
            .order_by(message_statuses.c.id)
        ):
            history.setdefault(row.message_id, []).append(
                {"status": row.status, "at": isoformat(row.at), "detail": row.detail}
            )
        found = [
            {
                "id": row.id,
                "channel": row.channel or row.requested_channel,
                "template": row.template,
                "purpose": row.purpose,
                "transactional": row.transactional,
                "status": row.status,
                "reason": row.reason,
                "address": row.address,
                "content": row.rendered or row.content,
                "data": row.data,
                "decision": row.decision,
                "created_at": isoformat(row.created_at),
                "sent_at": isoformat(row.sent_at),
                "history": history.get(row.id, []),
            }
            for row in conn.execute(
                select(messages).where(messages.c.profile_id.in_(ids)).order_by(messages.c.created_at)
            )
        ]
        tasks = [
            {
                "id": row.id,
                "queue": row.queue,
                "kind": row.kind,
                "title": row.title,
                "body": row.body,
                "status": row.status,
                "outcome": row.outcome,
                "created_at": isoformat(row.created_at),
                "completed_at": isoformat(row.completed_at),
            }
            for row in conn.execute(
                select(staff_tasks)
                .where(staff_tasks.c.profile_id.in_(ids))
                .order_by(staff_tasks.c.created_at)
            )
        ]
        subscriptions = [
            {
                "id": row.id,
                "endpoint": row.endpoint,
                "user_agent": row.user_agent,
                "created_at": isoformat(row.created_at),
                "expired_at": isoformat(row.expired_at),
                "expired_reason": row.expired_reason,
            }
            for row in conn.execute(
                select(push_subscriptions)
                .where(push_subscriptions.c.profile_id.in_(ids))
                .order_by(push_subscriptions.c.created_at)
            )
        ]
        return {"messages": found, "tasks": tasks, "push_subscriptions": subscriptions}

    def erase(self, conn: Connection, profile_ids: Sequence[str]) -> int:
        """Delete every messaging row of these profiles (queued messages included: they never go)."""
        ids = list(profile_ids)
        removed = 0
        for table in (message_statuses, staff_tasks, messages, push_subscriptions):
            removed += conn.execute(delete(table).where(table.c.profile_id.in_(ids))).rowcount or 0
        return removed
