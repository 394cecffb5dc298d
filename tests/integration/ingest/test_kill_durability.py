"""Ingest and the processors survive kill -9: `omnikanal serve` as a real process (with the worker
it starts beside it) takes batches from several clients at once, is killed with SIGKILL twice in
the middle, worker and all, and is started again; the clients resend what got no answer (and, as
clients do after a timeout, some batches that did). Afterwards, on both engines, every event that
was acknowledged is stored, every event exactly once, and the processors, whose commits do not
wait for the disk and which were killed mid-round, redid what they had not finished: each buyer is
in the segment once, entered the journey once and has one task message."""

from __future__ import annotations

import contextlib
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import psutil
from sqlalchemy import func, select

from omnikanal.db.engine import read_tx
from omnikanal.eventlog.tables import events
from omnikanal.hub import build_hub
from omnikanal.journeys.tables import journey_runs
from omnikanal.messaging.tables import messages
from omnikanal.segments.tables import segment_members
from omnikanal.settings import Settings
from tests.helpers import bearer
from tests.serve_process import ServeProcess, start_serve

JOURNEY = {
    "name": "Kaufabbruch",
    "trigger": {"event": {"name": "Checkout Started"}},
    "steps": [
        {"id": "call", "task": {"queue": "hotline", "kind": "callback", "content": {"text": "Anrufen"}}}
    ],
}
BATCHES = 120
PER_BATCH = 25
CLIENTS = 4
KILL_AFTER = (30, 70)  # acknowledged batches before each kill


def _batch(n: int) -> dict[str, Any]:
    """Views by 97 recurring customers, and one checkout by a buyer of this batch's own."""
    views = [
        {
            "type": "track",
            "messageId": f"kill-{n}-{i}",
            "userId": f"kill-user-{(n * PER_BATCH + i) % 97}",
            "event": "Product Viewed",
            "properties": {"n": n, "i": i},
        }
        for i in range(1, PER_BATCH)
    ]
    checkout = {
        "type": "track",
        "messageId": f"kill-{n}-0",
        "userId": f"buyer-{n}",
        "event": "Checkout Started",
    }
    return {"batch": [checkout, *views]}


def _kill_with_worker(server: ServeProcess) -> None:
    """SIGKILL to serve and the worker process it started: neither gets to finish anything."""
    try:
        children = psutil.Process(server.proc.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        children = []
    server.kill()
    for child in children:
        with contextlib.suppress(psutil.NoSuchProcess):
            child.kill()
    psutil.wait_procs(children, timeout=30)


class Clients:
    """Batch senders against whichever server is up; each batch is sent until it is acknowledged."""

    def __init__(self, key: str) -> None:
        self.key = key
        self.acknowledged: set[int] = set()
        self.lock = threading.Lock()
        self.url = ""

    def send(self, n: int) -> bool:
        try:
            response = httpx.post(f"{self.url}/v1/batch", json=_batch(n), auth=(self.key, ""), timeout=10)
        except httpx.HTTPError:
            return False  # no answer: not known to be stored, sent again later
        if response.status_code != 200:
            assert response.status_code == 503, response.text  # only 'send it again' is allowed
            return False
        with self.lock:
            self.acknowledged.add(n)
        return True

    def round(self, numbers: list[int], server: ServeProcess, stop_after: int | None) -> list[int]:
        """Send the batches; with ``stop_after``, kill the server once that many are acknowledged.
        Returns the batches that got no acknowledgement."""
        self.url = server.url
        failed: list[int] = []

        def one(n: int) -> None:
            if stop_after is not None and len(self.acknowledged) >= stop_after:
                _kill_with_worker(server)  # while the other clients' requests are in flight
            if not self.send(n):
                with self.lock:
                    failed.append(n)

        with ThreadPoolExecutor(CLIENTS) as pool:
            list(pool.map(one, numbers))
        return failed


def test_every_acknowledged_event_is_stored_exactly_once_after_kill_9(
    database_url: str, tmp_path: Path
) -> None:
    setup = build_hub(Settings(database_url=database_url, data_dir=tmp_path, auto_migrate=False))
    _, key = setup.sources.create("till", "pos")
    _, token = setup.tokens.create("ops", "admin")
    buyers = {"event": {"name": "Checkout Started"}}
    segment_id = setup.segments.create("Käufer", None, buyers, "test")["id"]
    journey_id = setup.journeys.create(JOURNEY, "test")["id"]
    setup.journeys.set_status(journey_id, "active")
    setup.close()
    clients = Clients(key)
    pending = list(range(BATCHES))
    kills = 0
    for stop_after in (*KILL_AFTER, None):
        server = start_serve(database_url, tmp_path)
        try:
            unanswered = clients.round(pending, server, stop_after)
            if stop_after is not None:
                _kill_with_worker(server)
                kills += 1
                # as clients do after a timeout: some acknowledged batches come again
                unanswered += sorted(clients.acknowledged)[-5:]
            pending = sorted(set(unanswered))
            if stop_after is None:
                _settle(server.url, token)
        finally:
            if stop_after is None:
                server.stop()
            else:
                _kill_with_worker(server)
    assert kills == 2
    assert pending == [], "every batch is acknowledged in the end"
    assert clients.acknowledged == set(range(BATCHES))

    check = build_hub(Settings(database_url=database_url, data_dir=tmp_path, auto_migrate=False))
    try:
        with read_tx(check.engine) as conn:
            rows = conn.execute(
                select(events.c.message_id, func.count())
                .where(events.c.message_id.like("kill-%"))
                .group_by(events.c.message_id)
            ).all()
            members = conn.execute(
                select(segment_members.c.profile_id).where(segment_members.c.segment_id == segment_id)
            ).all()
            runs = conn.execute(
                select(journey_runs.c.profile_id).where(journey_runs.c.journey_id == journey_id)
            ).all()
            # the task the journey enqueues (the dispatcher delivers it later, in sending hours)
            tasks = conn.execute(
                select(messages.c.profile_id).where(messages.c.requested_channel == "task")
            ).all()
    finally:
        check.engine.dispose()
    stored = Counter({message_id: count for message_id, count in rows})
    expected = {f"kill-{n}-{i}" for n in range(BATCHES) for i in range(PER_BATCH)}
    assert expected - stored.keys() == set(), "acknowledged events lost"
    assert stored.keys() - expected == set()
    assert {m: c for m, c in stored.items() if c > 1} == {}, "events stored twice"
    # the processors' work: each buyer once, whatever was killed and redone
    for what, rows_of in (("segment members", members), ("journey runs", runs), ("task messages", tasks)):
        per_profile = Counter(r.profile_id for r in rows_of)
        assert len(per_profile) == BATCHES, (what, len(per_profile))
        assert set(per_profile.values()) == {1}, (what, per_profile.most_common(3))


def _settle(url: str, token: str) -> None:
    """Wait until the worker has processed every event (its lag is zero)."""
    deadline = time.monotonic() + 120
    while True:
        lag = httpx.get(f"{url}/api/operations/log", headers=bearer(token), timeout=10).json()["processors"]
        if not any(p["behind"] for p in lag):
            return
        assert time.monotonic() < deadline, f"the worker did not catch up: {lag}"
        time.sleep(0.2)
