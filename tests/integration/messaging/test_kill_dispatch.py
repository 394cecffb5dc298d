"""The dispatcher survives kill -9: `omnikanal worker` as a real process sends an outbox of emails to
a real SMTP server and is killed with SIGKILL in the middle; a dispatcher started afterwards (its
clock past the killed one's lease) finishes the outbox. On both engines: every message is sent,
each is recorded as sent once, and the only emails delivered twice are the ones that were out at
the provider when the worker died (at least once, as the dispatcher documents), each with the same
Message-ID both times, so a receiver can recognise the second."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from omnikanal.clock import FixedClock, SystemClock
from omnikanal.db.engine import read_tx
from omnikanal.hub import build_hub
from omnikanal.messaging.dispatcher import LEASE
from omnikanal.messaging.service import SendRequest
from omnikanal.messaging.tables import message_statuses, messages
from omnikanal.settings import Settings
from tests.integration.messaging.support import SmtpSink

EMAILS = 240
BATCH = 20
PIPELINE_MAX = 4  # batches a dispatcher can have claimed at once: sending, gated, and the next ones


class SlowSink(SmtpSink):
    """A provider that takes a moment per email, so the kill finds some out at the provider."""

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        await asyncio.sleep(0.01)
        return await super().handle_DATA(server, session, envelope)


def _seed(settings: Settings) -> list[str]:
    hub = build_hub(settings)
    try:
        source, _ = hub.sources.create("shop", "web")
        people = [
            {"type": "identify", "userId": f"d{i}", "traits": {"email": f"d{i}@example.org"}}
            for i in range(EMAILS)
        ]
        assert hub.ingest.ingest(source, people).accepted == EMAILS
        ids = []
        for i in range(EMAILS):
            profile_id = str(hub.profiles.lookup("user_id", f"d{i}")["id"])
            request = SendRequest(
                profile_id=profile_id,
                channel="email",
                transactional=True,
                content={"subject": "Ihre Bestellung", "text": "Danke"},
                idempotency_key=f"order-{i}",
            )
            view, created = hub.messaging.send(request, "test")
            assert created
            ids.append(str(view["id"]))
        return ids
    finally:
        hub.close()


def _worker(settings: Settings, tmp_path: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "OMNIKANAL_DATABASE_URL": settings.resolved_database_url(),
        "OMNIKANAL_DATA_DIR": str(tmp_path),
        "OMNIKANAL_AUTO_MIGRATE": "false",
        "OMNIKANAL_SMTP_URL": settings.smtp_url,
        "OMNIKANAL_SMTP_FROM": settings.smtp_from,  # the Message-ID's domain
        "OMNIKANAL_SECRET_KEY": settings.secret_key or "",
        "OMNIKANAL_PUBLIC_URL": settings.public_url,
        "OMNIKANAL_MESSAGING_BATCH_SIZE": str(BATCH),
        "OMNIKANAL_MESSAGING_POLL_SECONDS": "0.05",
    }
    log = open(tmp_path / "worker.log", "wb")  # noqa: SIM115 - the process writes it until it ends
    try:
        return subprocess.Popen(
            [sys.executable, "-m", "omnikanal", "worker"], env=env, stdout=log, stderr=log
        )
    finally:
        log.close()


def test_a_dispatcher_killed_mid_send_loses_no_email_and_repeats_only_those_in_flight(
    settings: Settings, tmp_path: Path
) -> None:
    sink = SlowSink()
    sink.start()
    try:
        settings = settings.model_copy(update={"smtp_url": sink.url, "messaging_dispatch_inline": False})
        ids = _seed(settings)
        victim = _worker(settings, tmp_path)
        deadline = time.monotonic() + 120
        while len(sink.messages) < EMAILS // 3:
            assert victim.poll() is None, (tmp_path / "worker.log").read_text()
            assert time.monotonic() < deadline, (
                "the worker sent too little: " + (tmp_path / "worker.log").read_text()
            )
            time.sleep(0.01)
        victim.kill()  # SIGKILL in the middle of the outbox, batches out at the SMTP server
        victim.wait(timeout=30)
        delivered_before = len(sink.messages)
        assert delivered_before < EMAILS, "the kill came too late to test anything"

        # a dispatcher started later: its clock is past the dead worker's leases
        later = FixedClock(SystemClock().now() + LEASE + timedelta(seconds=5))
        hub = build_hub(settings, later)
        try:
            deadline = time.monotonic() + 120
            while hub.dispatcher.run_once() > 0:
                assert time.monotonic() < deadline
            with read_tx(hub.engine) as conn:
                rows = conn.execute(select(messages.c.id, messages.c.status)).all()
                history = conn.execute(
                    select(message_statuses.c.message_id).where(message_statuses.c.status == "sent")
                ).all()
        finally:
            hub.close()
    finally:
        sink.stop()

    assert sorted(r.id for r in rows) == sorted(ids)
    assert {r.status for r in rows} == {"sent"}, Counter(r.status for r in rows)
    assert Counter(h.message_id for h in history) == Counter(dict.fromkeys(ids, 1)), "each recorded sent once"
    by_message_id = Counter(str(m["Message-ID"]) for m in sink.messages)
    assert len(by_message_id) == EMAILS, "every message reached the SMTP server"
    twice = {k: n for k, n in by_message_id.items() if n > 1}
    # only what was out at the provider (or claimed for it) when the worker died comes again, once
    assert set(twice.values()) <= {2}
    assert len(twice) <= BATCH * PIPELINE_MAX, twice
    assert len(sink.messages) == EMAILS + len(twice)
