"""Ingest survives kill -9: `omnikanal serve` as a real process takes batches from several clients
at once, is killed with SIGKILL twice in the middle, and is started again; the clients resend
what got no answer (and, as clients do after a timeout, some batches that did). Afterwards every
event that was acknowledged is stored, and every event is stored exactly once, on both engines."""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select

from omnikanal.db.engine import read_tx
from omnikanal.eventlog.tables import events
from omnikanal.hub import build_hub
from omnikanal.settings import Settings
from tests.serve_process import ServeProcess, start_serve

BATCHES = 120
PER_BATCH = 25
CLIENTS = 4
KILL_AFTER = (30, 70)  # acknowledged batches before each kill


def _batch(n: int) -> dict[str, Any]:
    return {
        "batch": [
            {
                "type": "track",
                "messageId": f"kill-{n}-{i}",
                "userId": f"kill-user-{(n * PER_BATCH + i) % 97}",
                "event": "Product Viewed",
                "properties": {"n": n, "i": i},
            }
            for i in range(PER_BATCH)
        ]
    }


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
                server.kill()  # SIGKILL while the other clients' requests are in flight
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
    setup.engine.dispose()
    clients = Clients(key)
    pending = list(range(BATCHES))
    kills = 0
    for stop_after in (*KILL_AFTER, None):
        server = start_serve(database_url, tmp_path)
        try:
            unanswered = clients.round(pending, server, stop_after)
            if stop_after is not None:
                server.kill()
                kills += 1
                # as clients do after a timeout: some acknowledged batches come again
                unanswered += sorted(clients.acknowledged)[-5:]
            pending = sorted(set(unanswered))
        finally:
            if stop_after is None:
                server.stop()
            else:
                server.kill()
    assert kills == 2
    assert pending == [], "every batch is acknowledged in the end"
    assert clients.acknowledged == set(range(BATCHES))

    check = build_hub(Settings(database_url=database_url, data_dir=tmp_path, auto_migrate=False))
    try:
        with read_tx(check.engine) as conn:
            rows = conn.execute(select(events.c.message_id, func.count()).group_by(events.c.message_id)).all()
    finally:
        check.engine.dispose()
    stored = Counter({message_id: count for message_id, count in rows})
    expected = {f"kill-{n}-{i}" for n in range(BATCHES) for i in range(PER_BATCH)}
    assert expected - stored.keys() == set(), "acknowledged events lost"
    assert stored.keys() - expected == set()
    assert {m: c for m, c in stored.items() if c > 1} == {}, "events stored twice"
