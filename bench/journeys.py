"""``python -m bench.journeys``: customers entering a journey with a wait and an email, on SQLite and
PostgreSQL, with a local SMTP server (aiosmtpd in a process of its own).

1. **Throughput**: N customers (default 100,000) enter an API-triggered journey ``wait PT1H -> send
   email`` (entries per second, 500 per transaction through ``enter_many``, as the event processor
   and the date scan write them); then, an hour later on the hub clock, timer workers fire every
   wait and write every email into the outbox (steps per second), and the dispatcher sends
   ``--dispatch`` of them (default 10,000) to the SMTP sink (emails per second).
2. **Lateness of due timers at a steady rate**: ``--rate`` timers per second (default 1,000) fall due
   over ``--seconds`` (default 20) of real time; timer workers (threads of this process polling every
   50 ms; ``--workers``, default 1 on SQLite, 2 on PostgreSQL) fire them. Lateness is the time from a
   timer's due moment to the commit of the transaction that took its step and wrote its email.
   Target from issue 5: p99 under 1 s.

Nothing passes or fails; figures are printed with the targets beside them.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import Connection, bindparam, func, select, update

from bench.messaging import free_port, start_smtp
from omnikanal.clock import FixedClock, SystemClock
from omnikanal.db.engine import read_tx, run_write
from omnikanal.hub import Hub, build_hub
from omnikanal.journeys.engine import Entry, Version
from omnikanal.journeys.tables import journey_timers
from omnikanal.messaging.tables import messages
from omnikanal.profiles.identity.tables import identities
from omnikanal.settings import Settings

PG_URL = os.environ.get("OMNIKANAL_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
CHUNK = 500

DOCUMENT = {
    "name": "bench welcome",
    "trigger": {"api": {}},
    "entry": {"reentry": "every_time"},
    "steps": [
        {"id": "wait", "wait": {"duration": "PT1H"}},
        {
            "id": "mail",
            "send": {
                "channel": "email",
                "transactional": True,
                "content": {
                    "subject": "Willkommen {{ traits.firstName }}",
                    "text": "Hallo, schön dass Sie da sind.",
                },
            },
        },
    ],
}


def seed(hub: Hub, customers: int) -> list[str]:
    source, _ = hub.sources.create("bench-shop", "web")
    for start in range(0, customers, CHUNK):
        items = [
            {
                "type": "identify",
                "userId": f"u{i}",
                "traits": {"email": f"person{i}@example.de", "firstName": f"P{i}"},
            }
            for i in range(start, min(customers, start + CHUNK))
        ]
        hub.ingest.ingest(source, items)
    with read_tx(hub.engine) as conn:
        return [
            r.profile_id
            for r in conn.execute(select(identities.c.profile_id).where(identities.c.type == "user_id"))
        ]


def enter_all(hub: Hub, version: Version, pids: list[str], clock: FixedClock) -> float:
    """Enter every customer, 500 per transaction (``enter_many``, as the event processor and the date
    scan enter them); seconds taken."""
    engine = hub.journeys.engine
    started = time.perf_counter()
    for start in range(0, len(pids), CHUNK):

        def work(conn: Connection, chunk: list[str] = pids[start : start + CHUNK]) -> None:
            entries = [Entry(pid, "", f"bench:{uuid.uuid4().hex}", {}) for pid in chunk]
            answers = engine.enter_many(conn, version, entries, clock.now())
            assert all(run_id is not None for run_id, _ in answers), answers

        run_write(hub.engine, work)
    return time.perf_counter() - started


def timers_left(hub: Hub) -> int:
    with read_tx(hub.engine) as conn:
        return int(conn.execute(select(func.count()).select_from(journey_timers)).scalar_one())


def fire_all(hub: Hub, workers: int) -> float:
    """Fire everything due with ``workers`` threads; seconds taken."""
    started = time.perf_counter()

    def loop() -> None:
        while hub.journey_worker.run_once() > 0:
            pass

    threads = [threading.Thread(target=loop) for _ in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - started


def dispatch_all(hub: Hub, limit: int) -> tuple[float, int]:
    """Send up to ``limit`` of the written emails (the dispatcher is messaging's; bench.messaging
    measures it in full)."""
    started = time.perf_counter()
    handled = 0
    while handled < limit:
        done = hub.dispatcher.run_once()
        if done == 0:
            break
        handled += done
    elapsed = time.perf_counter() - started
    with read_tx(hub.engine) as conn:
        sent = int(conn.execute(select(func.count()).where(messages.c.status == "sent")).scalar_one())
    return elapsed, sent


def lateness(
    hub: Hub, version: Version, pids: list[str], rate: int, seconds: int, workers: int
) -> list[float]:
    """Seconds from due to commit for ``rate * seconds`` timers falling due at a steady rate."""
    count = rate * seconds
    # entered now with an hour's wait; once all are written, their due moments are set 1/rate apart
    # from two seconds on, so the time the entries take does not eat into the schedule
    enter_all(hub, version, [pids[i % len(pids)] for i in range(count)], FixedClock(datetime.now(UTC)))
    first_due = datetime.now(UTC) + timedelta(seconds=2)
    with read_tx(hub.engine) as conn:
        waiting = [
            r[0] for r in conn.execute(select(journey_timers.c.run_id).order_by(journey_timers.c.due_at))
        ]
    schedule = update(journey_timers).where(journey_timers.c.run_id == bindparam("run"))
    rows = [
        {"run": run_id, "due_at": first_due + timedelta(seconds=i / rate)} for i, run_id in enumerate(waiting)
    ]
    run_write(hub.engine, lambda conn: conn.execute(schedule, rows))
    late: list[float] = []
    lock = threading.Lock()

    def observe(fired: list[tuple[str, datetime]]) -> None:
        committed = datetime.now(UTC)
        with lock:
            late.extend((committed - due).total_seconds() for _, due in fired)

    hub.journey_worker.on_commit = observe
    stop = threading.Event()

    def loop() -> None:
        while not stop.is_set():
            if hub.journey_worker.run_once() == 0:
                stop.wait(0.05)

    threads = [threading.Thread(target=loop) for _ in range(workers)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + (first_due - datetime.now(UTC)).total_seconds() + seconds + 120
    while len(late) < count and time.monotonic() < deadline:
        time.sleep(0.2)
    stop.set()
    for t in threads:
        t.join()
    hub.journey_worker.on_commit = None
    return late


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


def run(engine: str, customers: int, rate: int, seconds: int, workers: int | None, dispatch: int) -> None:
    port = free_port()
    smtp = start_smtp(port)
    tmp = Path(tempfile.mkdtemp(prefix="omnikanal-bench-journeys-"))
    dbname = None
    if engine == "sqlite":
        url = f"sqlite:///{tmp / 'bench.db'}"
    else:
        dbname = f"omnikanal_bench_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(PG_URL, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{dbname}"')
        url = PG_URL.rsplit("/", 1)[0] + f"/{dbname}"
    workers = workers or (1 if engine == "sqlite" else 2)
    settings = Settings(
        database_url=url,
        data_dir=tmp,
        smtp_url=f"smtp://127.0.0.1:{port}",
        smtp_connections=8,
        messaging_batch_size=200,
        messaging_poll_seconds=0,
        messaging_quiet_hours={},
        journey_worker_poll_seconds=0,
        journey_date_scan_seconds=0,
        journey_worker_batch=200,
        secret_key="bench",  # noqa: S106 (a throwaway database)
    )
    entry_clock = FixedClock(datetime.now(UTC) - timedelta(hours=2))
    setup = build_hub(settings, entry_clock)
    hub = build_hub(settings, SystemClock())
    try:
        t0 = time.perf_counter()
        pids = seed(setup, customers)
        print(f"[{engine}] seeded {len(pids)} customers in {time.perf_counter() - t0:.1f} s", flush=True)
        if engine == "postgresql":
            with hub.engine.connect() as conn:
                conn.exec_driver_sql("ANALYZE")
                conn.commit()
        journey_id = setup.journeys.create(DOCUMENT, "bench")["id"]
        setup.journeys.set_status(journey_id, "active")
        with read_tx(hub.engine) as conn:
            version = hub.journeys.engine.version(conn, journey_id, 1)

        took = enter_all(setup, version, pids, entry_clock)
        print(
            f"[{engine}] entries: {len(pids)} in {took:.1f} s = {len(pids) / took:,.0f} entries/s", flush=True
        )
        took = fire_all(hub, workers)
        assert timers_left(hub) == 0
        print(
            f"[{engine}] timers: {len(pids)} waits ended and emails written to the outbox in {took:.1f} s "
            f"= {len(pids) / took:,.0f} steps/s ({workers} worker thread(s), batch 200)",
            flush=True,
        )
        if dispatch > 0:
            took, sent = dispatch_all(hub, dispatch)
            print(
                f"[{engine}] dispatch: {sent} emails to SMTP in {took:.1f} s = {sent / took:,.0f} emails/s",
                flush=True,
            )

        late = lateness(hub, version, pids, rate, seconds, workers)
        if late:
            print(
                f"[{engine}] lateness at {rate}/s over {seconds} s: "
                f"{len(late)} of {rate * seconds} timers fired, "
                f"p50 {statistics.median(late) * 1000:.0f} ms, p99 {percentile(late, 0.99) * 1000:.0f} ms, "
                f"max {max(late) * 1000:.0f} ms (target p99 < 1000 ms)",
                flush=True,
            )
        else:
            print(f"[{engine}] lateness: no timer fired", flush=True)
    finally:
        setup.close()
        hub.close()
        smtp.terminate()
        smtp.wait(timeout=10)
        shutil.rmtree(tmp, ignore_errors=True)
        if dbname:
            with psycopg.connect(PG_URL, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.journeys", description=__doc__)
    parser.add_argument("--engine", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--rate", type=int, default=1000, help="due timers per second in the lateness phase")
    parser.add_argument("--seconds", type=int, default=20, help="length of the lateness phase")
    parser.add_argument("--workers", type=int, default=None, help="timer worker threads")
    parser.add_argument("--dispatch", type=int, default=10_000, help="how many of the emails to send to SMTP")
    args: Any = parser.parse_args(argv)
    print(f"python {sys.version.split()[0]}", flush=True)
    for engine in ("sqlite", "postgresql") if args.engine == "both" else (args.engine,):
        run(engine, args.customers, args.rate, args.seconds, args.workers, args.dispatch)


if __name__ == "__main__":
    main()
