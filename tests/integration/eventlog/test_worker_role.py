"""The worker role apart from the API: processors that take only what their definitions need, a
worker that sees another process's commits at once, SQLite writers of several processes taking
turns, and the lag the operations endpoint shows."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx
import psutil
from sqlalchemy import Connection, event, select

from omnikanal.clock import SystemClock
from omnikanal.db.engine import make_engine, read_tx, write_tx
from omnikanal.eventlog.model import Interest
from omnikanal.hub import Hub, build_hub
from omnikanal.segments.tables import segment_due
from omnikanal.settings import Settings
from tests.helpers import bearer
from tests.integration.eventlog.test_eventlog import drain


class Picky:
    """A processor that wants the events named A and every identify."""

    name = "picky"

    def __init__(self) -> None:
        self.seen: list[str] = []
        self.batches = 0

    def interest(self, conn: Connection) -> Interest:
        return Interest(types=frozenset({"identify"}), names=frozenset({"A"}))

    def handle(self, conn: Connection, batch: Sequence[Any]) -> None:
        self.batches += 1
        self.seen.extend(row.message_id for row in batch)


def _send(hub: Hub, source: Any, events: list[tuple[str, str | None, str]]) -> None:
    items = [
        {"type": kind, "anonymousId": "anon-1", "messageId": mid, **({"event": name} if name else {})}
        for kind, name, mid in events
    ]
    assert hub.ingest.ingest(source, items).accepted == len(items)


def test_a_processor_is_handed_only_the_events_it_declared_and_passes_the_others(hub: Hub) -> None:
    hub.runner.stop()
    source = hub.sources.create("shop", "web")[0]
    _send(
        hub,
        source,
        [
            ("track", "A", "1"),
            ("track", "B", "2"),
            ("identify", None, "3"),
            ("page", None, "4"),
            ("track", "A", "5"),
        ],
    )
    picky = Picky()
    assert drain(hub, picky, 5) == 5  # the cursor passes all five
    assert picky.seen == ["1", "3", "5"]
    _send(hub, source, [("track", "B", "6"), ("track", "C", "7")])
    assert drain(hub, picky, 2) == 2
    assert picky.batches == 1  # nothing it wants: no call at all
    assert hub.eventlog.behind("picky") == 0


def test_without_definitions_the_segments_and_journeys_processors_want_nothing(hub: Hub) -> None:
    processors = {p.name: p for p in hub.processors}
    with read_tx(hub.engine) as conn:
        assert processors["segments"].interest(conn).nothing  # type: ignore[attr-defined]
        assert processors["journeys"].interest(conn).nothing  # type: ignore[attr-defined]
        shop = processors["commerce.shop-events"].interest(conn)  # type: ignore[attr-defined]
    assert shop.wants("track", "Order Completed")
    assert not shop.wants("track", "Product Viewed")
    assert not shop.wants("identify", None)


def test_the_segments_interest_follows_the_definitions(hub: Hub) -> None:
    segments = next(p for p in hub.processors if p.name == "segments")

    def interest() -> Interest:
        with read_tx(hub.engine) as conn:
            return segments.interest(conn)  # type: ignore[attr-defined, no-any-return]

    hub.segments.create("Viewers", None, {"event": {"name": "Product Viewed", "min": 2}}, "test")
    found = interest()
    assert found.wants("track", "Product Viewed")
    assert found.wants("identify", None)  # a merge brings another profile's views
    assert found.wants("alias", None)
    assert not found.wants("track", "Order Completed")
    assert not found.wants("page", None)
    hub.segments.define_computed(
        {"name": "revenue", "function": "sum", "event": "Order Completed", "property": "revenue"}
    )
    assert interest().wants("track", "Order Completed")
    hub.segments.create("Multichannel", None, {"channels": {"min": 2, "within_days": 30}}, "test")
    assert interest().every  # any event may add a channel


def test_a_merge_by_an_event_the_segments_processor_skips_marks_both_profiles_due(hub: Hub) -> None:
    hub.runner.stop()
    source = hub.sources.create("shop", "web")[0]
    hub.segments.create("Viewers", None, {"event": {"name": "Product Viewed"}}, "test")
    first = hub.ingest.ingest(
        source, [{"type": "track", "anonymousId": "phone", "event": "X", "messageId": "a"}]
    )
    assert first.accepted == 1
    hub.ingest.ingest(source, [{"type": "identify", "userId": "u-1", "messageId": "b"}])
    with write_tx(hub.engine) as conn:
        conn.execute(segment_due.delete())
    # a track event (not a name the segments want) carrying both ids merges the phone into u-1
    merged = hub.ingest.ingest(
        source, [{"type": "track", "anonymousId": "phone", "userId": "u-1", "event": "Y", "messageId": "c"}]
    )
    assert merged.accepted == 1
    phone = hub.profiles.lookup("anonymous_id", "phone")
    with read_tx(hub.engine) as conn:
        due = {r.profile_id for r in conn.execute(select(segment_due.c.profile_id))}
    assert phone["id"] in due
    assert len(due) == 2


def test_a_worker_in_another_process_sees_commits_at_once(settings: Settings) -> None:
    """The worker's poll is two minutes: only the watch on the database can wake it in time."""
    slow = settings.model_copy(update={"worker_poll_seconds": 120.0, "worker_watch_seconds": 0.01})
    api = build_hub(slow, SystemClock())
    worker = build_hub(slow, SystemClock(), migrate=False)
    try:
        api.start(api=True, worker=False)
        worker.start(api=False, worker=True)
        source = api.sources.create("shop", "web")[0]
        api.segments.create("Viewers", None, {"event": {"name": "Product Viewed"}}, "test")
        time.sleep(0.3)  # the worker's first round has passed: the next poll is far away
        answer = api.ingest.ingest(
            source, [{"type": "track", "userId": "k1", "event": "Product Viewed", "messageId": "v1"}]
        )
        assert answer.accepted == 1
        deadline = time.monotonic() + 20
        while worker.eventlog.behind("segments") and time.monotonic() < deadline:
            time.sleep(0.02)
        assert worker.eventlog.behind("segments") == 0
        # The API process reads the stored cursor: the worker writes it once it has caught up (its
        # own Segment Entered event, which it skips, may come after the event it handled).
        while api.eventlog.lag(["segments"])[0].behind and time.monotonic() < deadline:
            time.sleep(0.02)
        assert api.eventlog.lag(["segments"])[0].behind == 0
    finally:
        worker.close()
        api.close()


HOLD = """
import sys, time
from omnikanal.db.engine import make_engine, write_tx
from omnikanal.settings import Settings
engine = make_engine(Settings(), sys.argv[1])
with write_tx(engine) as conn:
    conn.exec_driver_sql("UPDATE sources SET name = name")
    print("holding", flush=True)
    time.sleep(1.0)
print("released", flush=True)
"""


def test_sqlite_writers_of_two_processes_take_turns_without_sqlites_busy_wait(settings: Settings) -> None:
    url = settings.resolved_database_url()
    if not url.startswith("sqlite"):
        return  # PostgreSQL writers do not share one lock
    engine = make_engine(settings)

    @event.listens_for(engine, "connect")
    def _no_busy_wait(dbapi_connection: Any, _record: Any) -> None:
        # SQLite's own wait off: a write that finds the lock taken fails at once ("database is locked")
        dbapi_connection.execute("PRAGMA busy_timeout=0")

    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, url], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "holding"
        started = time.monotonic()
        with write_tx(engine) as conn:
            conn.exec_driver_sql("UPDATE sources SET name = name")
        waited = time.monotonic() - started
        _, errors = holder.communicate(timeout=10)
        assert holder.returncode == 0, errors
        assert waited > 0.5  # it waited for the other process's transaction to end, on the file lock
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.communicate()
        engine.dispose()


def test_the_operations_endpoint_shows_each_processors_lag(
    settings: Settings, http: httpx.Client, hub: Hub
) -> None:
    hub.runner.stop()
    token = hub.tokens.create("ops", "admin")[1]
    source = hub.sources.create("shop", "web")[0]
    _send(hub, source, [("track", "Order Completed", "o1"), ("track", "Product Viewed", "v1")])
    answer = http.get("/api/operations/log", headers=bearer(token))
    assert answer.status_code == 200
    lag = {p["name"]: p for p in answer.json()["processors"]}
    assert set(lag) == {
        "commerce.shop-events",
        "segments",
        "journeys",
        "analytics",
        "matching",
        "recommend.interactions",
        "recommend.channels",
    }
    assert lag["segments"]["behind"] >= 2
    assert lag["segments"]["oldest_seconds"] >= 0
    store_token = hub.tokens.create("till", "service")[1]
    assert http.get("/api/operations/log", headers=bearer(store_token)).status_code == 403


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve(tmp_path: Path, port: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "OMNIKANAL_DATABASE_URL": f"sqlite:///{tmp_path}/hub.db",
        "OMNIKANAL_DATA_DIR": str(tmp_path),
    }
    return subprocess.Popen(
        [sys.executable, "-m", "omnikanal", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _worker_of(serve: subprocess.Popen[bytes], timeout: float = 60) -> psutil.Process:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for child in psutil.Process(serve.pid).children():
            if "worker" in child.cmdline():
                return child
        time.sleep(0.1)
    raise AssertionError("serve started no worker process")


def _gone(process: psutil.Process, timeout: float = 30) -> bool:
    try:
        process.wait(timeout=timeout)
    except psutil.TimeoutExpired:
        return False
    return True


def test_serve_runs_a_worker_process_beside_the_api_and_takes_it_along_when_it_ends(
    tmp_path: Path, sqlite_template: Path
) -> None:
    shutil.copy(sqlite_template, tmp_path / "hub.db")  # migrated already
    port = _free_port()
    serve = _serve(tmp_path, port)
    try:
        worker = _worker_of(serve)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        serve.send_signal(signal.SIGTERM)
        assert serve.wait(timeout=30) == 0
        assert _gone(worker)  # stopped by serve on its way out
        # killed without a chance to stop it, serve leaves a worker that ends by itself
        serve = _serve(tmp_path, port)
        worker = _worker_of(serve)
        serve.kill()
        serve.wait()
        assert _gone(worker)
    finally:
        if serve.poll() is None:
            serve.kill()
            serve.wait()
