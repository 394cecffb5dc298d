"""Idempotency keys in enqueue and enqueue_many; a second enqueue with the same key, racing the first,
answers the first message.

On PostgreSQL the second transaction does not see the first's uncommitted row, so its look-up finds
nothing and its insert waits on the unique index until the first commits; then ON CONFLICT DO NOTHING
skips it. Whether the row went in must come from RETURNING: psycopg reports no row count there.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest
from sqlalchemy import func, select, text

from omnikanal.db.engine import read_tx, run_write, write_tx
from omnikanal.errors import Conflict, NotFound
from omnikanal.hub import Hub
from omnikanal.messaging.service import SendRequest
from omnikanal.messaging.tables import message_statuses, messages
from tests.integration.messaging.support import customer

# How often the test looks for the second transaction waiting on the first (a bound, not a timing).
LOCK_POLLS = 2000


def _receipt(pid: str, key: str) -> SendRequest:
    return SendRequest(
        profile_id=pid,
        channel="email",
        transactional=True,
        content={"subject": "Bestellung", "text": "Danke"},
        idempotency_key=key,
    )


def _waiting_on_a_lock(hub: Hub) -> bool:
    with read_tx(hub.engine) as conn:
        waiting = conn.execute(
            text(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
        ).scalar_one()
    return bool(waiting)


def test_a_racing_enqueue_with_the_same_key_answers_the_committed_message(hub: Hub) -> None:
    if hub.engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer at a time: the second enqueue sees the first's row")
    pid = customer(hub, "u-race", email="race@example.org")
    answer: dict[str, Any] = {}

    def second() -> None:
        try:
            answer["second"] = run_write(
                hub.engine, lambda conn: hub.messaging.enqueue(conn, _receipt(pid, "race-key"))
            )
        except Exception as exc:  # reported to the test's thread below
            answer["error"] = exc

    with write_tx(hub.engine) as conn:
        first_id, created = hub.messaging.enqueue(conn, _receipt(pid, "race-key"))
        assert created
        racer = threading.Thread(target=second)
        racer.start()
        for _ in range(LOCK_POLLS):
            if _waiting_on_a_lock(hub) or not racer.is_alive():
                break
        assert racer.is_alive(), answer
    racer.join()
    assert "error" not in answer, answer.get("error")
    assert answer["second"] == (first_id, False)
    with read_tx(hub.engine) as conn:
        ids = conn.execute(select(messages.c.id).where(messages.c.idempotency_key == "race-key")).scalars()
        assert list(ids) == [first_id]
        statuses = conn.execute(
            select(message_statuses.c.message_id, func.count())
            .where(message_statuses.c.profile_id == pid)
            .group_by(message_statuses.c.message_id)
        ).all()
    # one "queued" for the message written, none for a message that never was
    assert [tuple(s) for s in statuses] == [(first_id, 1)]


def test_enqueue_many_answers_an_existing_key_with_its_message(hub: Hub) -> None:
    pid = customer(hub, "u-many", email="many@example.org")
    first_id, _ = run_write(hub.engine, lambda conn: hub.messaging.enqueue(conn, _receipt(pid, "k-1")))
    answers = run_write(
        hub.engine,
        lambda conn: hub.messaging.enqueue_many(
            conn, [_receipt(pid, "k-1"), _receipt(pid, "k-2"), _receipt(pid, "k-2")], actor="test"
        ),
    )
    assert answers[0] == (first_id, False)
    assert answers[1][1] is True
    # a key repeated within the batch is one message
    assert answers[2] == (answers[1][0], False)
    with read_tx(hub.engine) as conn:
        count = conn.execute(select(func.count()).select_from(messages)).scalar_one()
        queued = conn.execute(
            select(message_statuses.c.message_id).where(message_statuses.c.status == "queued")
        ).scalars()
        assert count == 2
        assert sorted(queued) == sorted([first_id, answers[1][0]])


def test_enqueue_many_refuses_an_unknown_profile_and_writes_nothing(hub: Hub) -> None:
    pid = customer(hub, "u-known", email="known@example.org")
    with pytest.raises(NotFound) as caught:
        run_write(
            hub.engine,
            lambda conn: hub.messaging.enqueue_many(
                conn, [_receipt(pid, "ok-1"), _receipt("prof_nobody", "ok-2")]
            ),
        )
    assert caught.value.field == "profile_id"
    with read_tx(hub.engine) as conn:
        assert conn.execute(select(func.count()).select_from(messages)).scalar_one() == 0


def test_enqueue_many_with_fixed_ids_refuses_a_key_written_under_another_id(hub: Hub) -> None:
    pid = customer(hub, "u-fixed", email="fixed@example.org")
    first_id, _ = run_write(hub.engine, lambda conn: hub.messaging.enqueue(conn, _receipt(pid, "fixed-1")))
    with pytest.raises(Conflict):
        run_write(
            hub.engine,
            lambda conn: hub.messaging.enqueue_many(conn, [_receipt(pid, "fixed-1")], ids=["msg_other"]),
        )
    answers = run_write(
        hub.engine,
        lambda conn: hub.messaging.enqueue_many(conn, [_receipt(pid, "fixed-2")], ids=["msg_chosen"]),
    )
    assert answers == [("msg_chosen", True)]
    with read_tx(hub.engine) as conn:
        ids = conn.execute(select(messages.c.id).order_by(messages.c.id)).scalars()
        assert sorted(ids) == sorted([first_id, "msg_chosen"])
