"""Timer workers as separate processes (`omnikanal journeys work`): several side by side on PostgreSQL
take every due step exactly once; a worker killed with SIGKILL inside its step transaction loses
nothing and sends nothing twice."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, func, select, text

from omnikanal.clock import FixedClock
from omnikanal.db.engine import read_tx, run_write
from omnikanal.hub import Hub, build_hub
from omnikanal.journeys.engine import Entry
from omnikanal.journeys.tables import journey_runs, journey_steps, journey_timers
from omnikanal.messaging.tables import messages
from omnikanal.settings import Settings
from tests.conftest import _truncate_pg

DOCUMENT = {
    "name": "worker test",
    "trigger": {"api": {}},
    "steps": [
        {"id": "wait", "wait": {"duration": "PT1M"}},
        {
            "id": "note",
            "send": {"channel": "email", "transactional": True, "content": {"subject": "Hallo", "text": "x"}},
        },
    ],
}


def seed(settings: Settings, customers: int) -> list[str]:
    """Customers who entered the journey an hour ago: their timers are due now."""
    clock = FixedClock(datetime.now(UTC) - timedelta(hours=1))
    hub = build_hub(settings, clock)
    try:
        source, _ = hub.sources.create("shop", "web")
        for start in range(0, customers, 500):
            items = [
                {"type": "identify", "userId": f"w{i}", "traits": {"email": f"w{i}@example.org"}}
                for i in range(start, min(start + 500, customers))
            ]
            assert hub.ingest.ingest(source, items).accepted == len(items)
        journey_id = hub.journeys.create(DOCUMENT, "test")["id"]
        hub.journeys.set_status(journey_id, "active")
        with read_tx(hub.engine) as conn:
            pids = [r[0] for r in conn.exec_driver_sql("SELECT id FROM profiles ORDER BY id")]
        engine = hub.journeys.engine
        for start in range(0, len(pids), 500):

            def work(conn: Connection, chunk: list[str] = pids[start : start + 500]) -> None:
                version = engine.version(conn, journey_id, 1)
                entries = [Entry(pid, "", f"seed:{pid}", {}) for pid in chunk]
                answers = engine.enter_many(conn, version, entries, clock.now())
                assert all(run_id is not None for run_id, _ in answers)

            run_write(hub.engine, work)
        return pids
    finally:
        hub.close()


def worker(settings: Settings, tmp_path: Path, **extra: str) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "OMNIKANAL_DATABASE_URL": settings.resolved_database_url(),
        "OMNIKANAL_DATA_DIR": str(tmp_path),
        "OMNIKANAL_SECRET_KEY": "workers-test-secret",
        "OMNIKANAL_AUTO_MIGRATE": "false",
        "OMNIKANAL_JOURNEY_WORKER_BATCH": "25",
        "OMNIKANAL_JOURNEY_WORKER_POLL_SECONDS": "0.05",
        **extra,
    }
    return subprocess.Popen(
        [sys.executable, "-m", "omnikanal", "journeys", "work"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _waiting_for(engine: Any, table: str) -> int:
    """How many sessions wait for a lock on this table (PostgreSQL)."""
    with engine.connect() as conn:
        return int(
            conn.execute(
                text(
                    "SELECT count(DISTINCT l.pid) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
                    "WHERE c.relname = :table AND NOT l.granted"
                ),
                {"table": table},
            ).scalar_one()
        )


def count(hub_engine: Any, table: Any) -> int:
    with read_tx(hub_engine) as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def assert_each_step_once(hub: Hub, runs: int) -> None:
    with read_tx(hub.engine) as conn:
        logs = conn.execute(select(journey_steps.c.run_id, journey_steps.c.outcome)).all()
        sent = Counter(r[0] for r in conn.execute(select(messages.c.idempotency_key)))
        ended = conn.execute(
            select(func.count()).select_from(journey_runs).where(journey_runs.c.exit_reason == "completed")
        ).scalar_one()
    per_run: dict[str, list[str]] = {}
    for run_id, outcome in logs:
        per_run.setdefault(run_id, []).append(outcome)
    assert len(per_run) == runs
    assert all(sorted(o) == ["elapsed", "enqueued", "waiting"] for o in per_run.values())
    assert len(sent) == runs
    assert set(sent.values()) == {1}
    assert ended == runs


@pytest.mark.postgres
def test_four_worker_processes_take_every_due_step_exactly_once(pg_url: str, tmp_path: Path) -> None:
    _truncate_pg(pg_url)
    settings = Settings(
        database_url=pg_url, data_dir=tmp_path, auto_migrate=False, secret_key="workers-test-secret"
    )
    runs = len(seed(settings, 2000))
    hub = build_hub(settings)
    try:
        assert count(hub.engine, journey_timers) == runs
        # Every timer is due at once: the first worker up would take them all before the others have
        # started (seen on a loaded machine). The table is held until all four are waiting for it.
        with hub.engine.connect() as holder:
            held = holder.begin()
            holder.execute(text("LOCK TABLE journey_timers IN ACCESS EXCLUSIVE MODE"))
            workers = [worker(settings, tmp_path) for _ in range(4)]
            started = time.monotonic() + 120
            while _waiting_for(hub.engine, "journey_timers") < len(workers):
                assert time.monotonic() < started, "the workers did not all start"
                assert all(w.poll() is None for w in workers), [w.communicate() for w in workers]
                time.sleep(0.1)
            held.commit()
        deadline = time.monotonic() + 240
        while count(hub.engine, journey_timers) > 0:
            assert time.monotonic() < deadline, "the workers did not fire every timer"
            assert all(w.poll() is None for w in workers), [
                w.communicate() for w in workers if w.poll() is not None
            ]
            time.sleep(0.2)
        fired = []
        for w in workers:
            w.send_signal(signal.SIGTERM)
            out, err = w.communicate(timeout=60)
            assert w.returncode == 0, err
            fired.append(int(out.split()[-3]))
        # every timer was claimed by exactly one worker, and the work was shared
        assert sum(fired) == runs
        assert sum(1 for n in fired if n > 0) >= 2
        assert_each_step_once(hub, runs)
    finally:
        hub.close()


def test_a_worker_killed_inside_its_step_transaction_loses_nothing_and_sends_nothing_twice(
    settings: Settings, tmp_path: Path
) -> None:
    settings = settings.model_copy(update={"secret_key": "workers-test-secret"})
    runs = len(seed(settings, 60))
    pause = tmp_path / "paused"
    victim = worker(
        settings,
        tmp_path,
        OMNIKANAL_JOURNEY_TEST_PAUSE_FILE=str(pause),
        OMNIKANAL_JOURNEY_TEST_PAUSE_SECONDS="120",
    )
    deadline = time.monotonic() + 60
    while not pause.exists():
        assert victim.poll() is None, victim.communicate()
        assert time.monotonic() < deadline, "the worker never reached its step transaction"
        time.sleep(0.05)
    claimed = pause.read_text().split(",")
    assert len(claimed) == 25
    victim.kill()  # SIGKILL: no clean-up, in the middle of the transaction that took the steps
    victim.communicate(timeout=30)

    hub = build_hub(settings)
    try:
        # the killed transaction left nothing: the claimed timers are still due, nothing was written
        assert count(hub.engine, journey_timers) == runs
        assert count(hub.engine, messages) == 0
        assert count(hub.engine, journey_steps) == runs  # only the "waiting" rows of the entries
        deadline = time.monotonic() + 60
        while count(hub.engine, journey_timers) > 0:
            hub.journey_worker.run_until_done()
            assert time.monotonic() < deadline, "the timers the killed worker held were never released"
            time.sleep(0.05)
        assert_each_step_once(hub, runs)
    finally:
        hub.close()
