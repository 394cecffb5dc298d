"""The outbox: written in the caller's transaction, sent after commit, at least once, never twice by
two workers, and a worker that died mid-send leaves nothing lost."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from omnikanal.clock import FixedClock
from omnikanal.db.engine import run_write, write_tx
from omnikanal.hub import Hub
from omnikanal.messaging import store
from omnikanal.messaging.dispatcher import LEASE
from omnikanal.messaging.service import SendRequest
from omnikanal.messaging.tables import messages
from tests.integration.messaging.support import SmtpSink, bearer, customer, grant


class Boom(Exception):
    pass


def _receipt(pid: str, **extra: Any) -> SendRequest:
    return SendRequest(
        profile_id=pid,
        channel="email",
        transactional=True,
        content={"subject": "Bestellung", "text": "Danke"},
        **extra,
    )


def test_a_message_enqueued_in_a_rolled_back_transaction_never_exists(hub: Hub, smtp: SmtpSink) -> None:
    pid = customer(hub, "u-tx", email="tx@example.org")

    def enqueue_then_fail() -> None:
        with write_tx(hub.engine) as conn:
            hub.messaging.enqueue(conn, _receipt(pid))
            raise Boom

    with pytest.raises(Boom):
        enqueue_then_fail()
    assert hub.dispatcher.run_once() == 0
    message_id, created = run_write(hub.engine, lambda conn: hub.messaging.enqueue(conn, _receipt(pid)))
    assert created
    # nothing is sent before the dispatcher runs, after the commit
    assert smtp.to("tx@example.org") == []
    assert hub.dispatcher.run_once() == 1
    assert hub.messaging.get(message_id)["status"] == "sent"
    assert len(smtp.to("tx@example.org")) == 1


def test_a_worker_that_died_mid_send_leaves_its_lease_to_expire_and_the_message_goes_out(
    hub: Hub, smtp: SmtpSink, clock: FixedClock
) -> None:
    pid = customer(hub, "u-crash", email="crash@example.org")
    message_id, _ = run_write(hub.engine, lambda conn: hub.messaging.enqueue(conn, _receipt(pid)))
    now = clock.now()
    # A worker claims the message and dies before it records anything.
    claimed = run_write(hub.engine, lambda conn: store.claim_due(conn, now, now + LEASE, 10))
    assert [r.id for r in claimed] == [message_id]
    assert hub.dispatcher.run_once() == 0  # leased to the dead worker
    clock.advance(LEASE + timedelta(seconds=1))
    assert hub.dispatcher.run_once() == 1
    assert hub.messaging.get(message_id)["status"] == "sent"
    assert len(smtp.to("crash@example.org")) == 1


def test_two_dispatchers_racing_send_each_message_exactly_once(hub: Hub, smtp: SmtpSink) -> None:
    pids = [customer(hub, f"u-race{i}", email=f"race{i}@example.org") for i in range(4)]

    def enqueue_all(conn: Any) -> None:
        for n in range(40):
            hub.messaging.enqueue(conn, _receipt(pids[n % 4], idempotency_key=f"race-{n}"))

    run_write(hub.engine, enqueue_all)
    errors: list[BaseException] = []

    def work() -> None:
        try:
            while hub.dispatcher.run_once() > 0:
                pass
        except BaseException as exc:
            errors.append(exc)

    # two dispatchers over the same outbox (small batches, so they interleave)
    hub.dispatcher._batch_size = 5
    threads = [threading.Thread(target=work) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert len(smtp.messages) == 40
    ids = [m["X-Omnikanal-Message-Id"] for m in smtp.messages]
    assert len(set(ids)) == 40
    with hub.engine.connect() as conn:
        assert conn.execute(select(func.count()).where(messages.c.status == "sent")).scalar_one() == 40


def test_two_dispatchers_cannot_both_pass_the_same_cap(hub: Hub, smtp: SmtpSink) -> None:
    pid = customer(hub, "u-caprace", email="caprace@example.org")
    grant(hub, pid, "email_marketing", "email")
    promo = SendRequest(profile_id=pid, channel="email", content={"subject": "Sale", "text": "x"})
    run_write(hub.engine, lambda conn: [hub.messaging.enqueue(conn, promo) for _ in range(6)])
    hub.dispatcher._batch_size = 1
    errors: list[BaseException] = []

    def work() -> None:
        try:
            while hub.dispatcher.run_once() > 0:
                pass
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    with hub.engine.connect() as conn:
        rows = [tuple(r) for r in conn.execute(select(messages.c.status, messages.c.error))]
    assert sorted(status for status, _ in rows) == ["blocked"] * 3 + ["sent"] * 3, rows
    assert len(smtp.to("caprace@example.org")) == 3


def test_messages_sent_later_wait_for_their_time(
    hub: Hub, http: httpx.Client, admin_token: str, smtp: SmtpSink, clock: FixedClock
) -> None:
    pid = customer(hub, "u-later", email="later@example.org")
    later = (clock.now() + timedelta(hours=2)).isoformat()
    body = {
        "profile_id": pid,
        "channel": "email",
        "transactional": True,
        "content": {"subject": "Erinnerung", "text": "Ihr Termin"},
        "send_at": later,
    }
    created = http.post("/api/messages", json=body, headers=bearer(admin_token)).json()
    assert created["status"] == "queued"
    assert created["attempts"] == 0
    assert hub.dispatcher.run_once() == 0
    clock.advance(timedelta(hours=2))
    assert hub.dispatcher.run_once() == 1
    assert len(smtp.to("later@example.org")) == 1
