"""``python -m bench.segments``: segments measured in-process.

(1) Batch: N profiles (bench/seed.py) and M events written straight into the database (executemany on
SQLite, COPY on PostgreSQL), then scenario 8's segment computed over all of them: the SQL alone
(the preview's count) and the whole creation (SQL, membership rows, a timeline event per member).
Target: 1,000,000 profiles and 10,000,000 events under 10 s.
(2) Real time: with the event-log runner polling every ``--poll`` seconds, single events are
ingested one after the other; measured is the time from the ingest's commit until the segments
processor has committed its re-evaluation of that profile (five segments, three computed traits).
Target: p99 under 50 ms.
Prints the figures and writes them to bench/results/segments-<time>.json.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
from rich.console import Console
from rich.progress import Progress
from sqlalchemy import select, text

from bench.__main__ import DEFAULT_PG_URL
from bench.report import describe_machine, machine, stamp, write_json
from bench.seed import seed_profiles
from bench.server import targets
from omnikanal.clock import SystemClock
from omnikanal.db.engine import read_tx
from omnikanal.db.fast import Raw
from omnikanal.eventlog.tables import consumer_cursors, events
from omnikanal.hub import Hub, build_hub
from omnikanal.ingest.store import EVENT_COLUMNS
from omnikanal.profiles.tables import profiles
from omnikanal.segments.service import PROCESSOR
from omnikanal.settings import Settings

CHUNK = 50_000
NAMES = ("Product Viewed",) * 6 + ("Cart Viewed", "Cart Viewed", "Order Completed", "Search")
CATEGORIES = ("Werkzeug", "Garten", "Küche", "Bad", "Licht")
CHANNELS = ("web", "app", "pos")
SCENARIO_8 = {
    "all": [
        {
            "event": {
                "name": "Product Viewed",
                "where": [{"key": "category", "op": "eq", "value": "Werkzeug"}],
                "within_days": 14,
                "min": 3,
            }
        },
        {"not": {"event": {"name": "Order Completed", "within_days": 14}}},
        {"channels": {"min": 2, "within_days": 14}},
    ]
}
OTHER_SEGMENTS = [
    {"event": {"name": "Order Completed", "within_days": 90, "min": 2}},
    # selective, as real audiences are: a segment of every profile writes a million entries at creation
    {"all": [{"trait": {"key": "lastName", "op": "eq", "value": "7"}}, {"identifier": {"type": "email"}}]},
    {"event": {"name": "Cart Viewed", "within_hours": 48}},
    {"computed": {"name": "lifetime_value", "op": "gte", "value": 100}},
]
COMPUTED = [
    {"name": "lifetime_value", "function": "sum", "event": "Order Completed", "property": "revenue"},
    {
        "name": "favourite_category",
        "function": "most_frequent",
        "event": "Product Viewed",
        "property": "category",
        "within_days": 90,
    },
    {"name": "preferred_channel", "function": "most_frequent", "channel": True, "within_days": 90},
]


def _percentile(values: list[float], q: float) -> float:
    return values[min(len(values) - 1, int(q * len(values)))]


def _event_rows(
    ids: list[str], per_profile: int, source_ids: dict[str, str], raw: Raw
) -> Iterator[list[tuple[Any, ...]]]:
    rng = random.Random(5)
    now = datetime.now(UTC)
    rows: list[tuple[Any, ...]] = []
    for pid in ids:
        for _ in range(rng.randint(per_profile // 2, per_profile + per_profile // 2)):
            name = rng.choice(NAMES)
            channel = rng.choice(CHANNELS)
            at = raw.time(now - timedelta(seconds=rng.uniform(0, 60 * 86400)))
            props: dict[str, Any] = {"category": rng.choice(CATEGORIES)}
            if name == "Order Completed":
                props["revenue"] = round(rng.uniform(5, 300), 2)
            message_id = uuid.uuid4().hex
            payload = orjson.dumps(
                {"type": "track", "event": name, "messageId": message_id, "properties": props}
            )
            rows.append(
                (
                    0,
                    source_ids[channel],
                    message_id,
                    pid,
                    "track",
                    name,
                    channel,
                    None,
                    f"u-{pid}",
                    None,
                    at,
                    at,
                    at,
                    at,
                    payload.decode(),
                )
            )
            if len(rows) >= CHUNK:
                yield rows
                rows = []
    if rows:
        yield rows


def _seed_events(hub: Hub, per_profile: int, progress: Progress) -> int:
    with read_tx(hub.engine) as conn:
        ids = list(conn.execute(select(profiles.c.id)).scalars())
    source_ids = {c: hub.sources.create(f"bench-{c}", c)[0].id for c in CHANNELS}
    task = progress.add_task("events", total=len(ids) * per_profile)
    written = 0
    raw_conn = hub.engine.raw_connection()
    try:
        driver = raw_conn.driver_connection
        assert driver is not None
        with hub.engine.connect() as probe:
            raw = Raw(probe)
        if hub.engine.dialect.name == "postgresql":
            with driver.cursor() as cur:
                for rows in _event_rows(ids, per_profile, source_ids, raw):
                    with cur.copy(f"COPY events ({', '.join(EVENT_COLUMNS)}) FROM STDIN") as copy:
                        for row in rows:
                            copy.write_row(row)
                    # a commit per chunk: one long transaction would hold back the event log's horizon
                    # (the oldest running transaction of the whole server) for every other user
                    driver.commit()
                    written += len(rows)
                    progress.advance(task, len(rows))
        else:
            marks = ", ".join("?" * len(EVENT_COLUMNS))
            sql = f"INSERT INTO events ({', '.join(EVENT_COLUMNS)}) VALUES ({marks})"
            cur = driver.cursor()
            cur.execute("BEGIN")
            for rows in _event_rows(ids, per_profile, source_ids, raw):
                cur.executemany(sql, rows)
                written += len(rows)
                progress.advance(task, len(rows))
            cur.execute("COMMIT")
        raw_conn.commit()
    finally:
        raw_conn.close()
    if hub.engine.dialect.name == "postgresql":
        # what autovacuum would do after such a load, done now rather than in the middle of the
        # real-time measurement (a million fresh rows set it off)
        with hub.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM (ANALYZE)"))
    else:
        with hub.engine.connect() as conn:
            conn.execute(text("ANALYZE"))
            conn.commit()
    return written


def _skip_history(hub: Hub) -> None:
    """The seeded history is computed in batch; every processor starts after it, as in a hub that
    has long caught up (otherwise the journeys and commerce processors would spend the measurement
    replaying ten million events beside the segments processor)."""
    with hub.engine.begin() as conn:
        last = conn.execute(
            select(events.c.txid, events.c.seq).order_by(events.c.seq.desc()).limit(1)
        ).first()
        names = [p.name for p in hub.processors]
        conn.execute(consumer_cursors.delete().where(consumer_cursors.c.name.in_(names)))
        conn.execute(
            consumer_cursors.insert(),
            [
                {
                    "name": name,
                    "txid": last.txid if last else 0,
                    "seq": last.seq if last else 0,
                    "updated_at": datetime.now(UTC),
                }
                for name in names
            ],
        )


def _batch(hub: Hub) -> dict[str, Any]:
    started = time.perf_counter()
    preview = hub.segments.preview(SCENARIO_8)
    preview_s = time.perf_counter() - started
    started = time.perf_counter()
    created = hub.segments.create("scenario 8", None, SCENARIO_8, "bench")
    create_s = time.perf_counter() - started
    started = time.perf_counter()
    again = hub.segments.recompute(created["id"])
    recompute_s = time.perf_counter() - started
    return {
        "members": preview["count"],
        "preview_seconds": round(preview_s, 3),  # two statements: count and sample
        "create_seconds": round(create_s, 3),
        "recompute_unchanged_seconds": round(recompute_s, 3),
        "recompute_result": again,
    }


def _realtime(hub: Hub, count: int, profiles_count: int) -> dict[str, Any]:
    for definition in COMPUTED:
        hub.segments.define_computed(definition)
    for n, condition in enumerate(OTHER_SEGMENTS):
        hub.segments.create(f"other {n}", None, condition, "bench")
    with hub.engine.begin() as conn:
        # the computed definitions mark every profile due; the bench measures the event path only
        conn.execute(text("DELETE FROM segment_due"))
    _skip_history(hub)  # the creations' membership events are history too
    sources = {c: hub.sources.create(f"rt-{c}", c)[0] for c in CHANNELS}
    rng = random.Random(9)
    processor = next(p for p in hub.processors if p.name == PROCESSOR)
    original_handle = processor.handle
    original_consume = hub.eventlog.consume
    handled: list[float] = []
    # message id -> when the segments processor's transaction that took it had committed; the
    # observer waits on an event rather than polling, so it takes no CPU from the hub's threads
    done: dict[str, float] = {}
    taken = threading.local()
    arrived = threading.Condition()

    def timed(conn: Any, batch: Any) -> None:
        started = time.perf_counter()
        original_handle(conn, batch)
        handled.append((time.perf_counter() - started) * 1000)
        taken.ids = [row.message_id for row in batch]

    def consume(proc: Any, limit: int = 500) -> int:
        taken.ids = []
        n = original_consume(proc, limit)
        if proc is processor and taken.ids:
            at = time.perf_counter()  # after the commit: run_write has returned
            with arrived:
                done.update((i, at) for i in taken.ids)
                arrived.notify_all()
        return n

    processor.handle = timed  # type: ignore[method-assign]
    hub.eventlog.consume = consume  # type: ignore[method-assign,assignment]
    hub.runner.start()
    timings = []
    try:
        for n in range(count + 50):
            user = f"u{rng.randrange(profiles_count)}"
            channel = rng.choice(CHANNELS)
            message_id = f"rt-{n}-{uuid.uuid4().hex}"
            hub.ingest.ingest(
                sources[channel],
                [
                    {
                        "type": "track",
                        "userId": user,
                        "event": "Product Viewed",
                        "messageId": message_id,
                        "properties": {"category": "Werkzeug"},
                    }
                ],
            )
            committed = time.perf_counter()
            with arrived:
                if not arrived.wait_for(lambda m=message_id: m in done, timeout=10):  # type: ignore[misc]
                    raise RuntimeError("the segments processor did not take the event within 10 s")
                took = done[message_id] - committed
            if n >= 50:  # warm-up
                timings.append(took * 1000)
    finally:
        hub.runner.stop()
        hub.eventlog.consume = original_consume  # type: ignore[method-assign]
    timings.sort()
    handled.sort()
    return {
        "handle_p50_ms": round(_percentile(handled, 0.5), 2),
        "handle_p99_ms": round(_percentile(handled, 0.99), 2),
        "events": count,
        "p50_ms": round(_percentile(timings, 0.5), 2),
        "p95_ms": round(_percentile(timings, 0.95), 2),
        "p99_ms": round(_percentile(timings, 0.99), 2),
        "max_ms": round(timings[-1], 2),
        "mean_ms": round(statistics.fmean(timings), 2),
    }


def run(engine: str, url: str, data_dir: Path, args: argparse.Namespace, console: Console) -> dict[str, Any]:
    settings = Settings(
        database_url=url if engine == "postgresql" else "",
        data_dir=data_dir,
        worker_poll_seconds=args.poll,
        segment_recheck_seconds=0,
    )
    hub = build_hub(settings, SystemClock())
    try:
        hub.sources.create("bench-seed", "web")
        with Progress(console=console, transient=True) as progress:
            task = progress.add_task("profiles", total=args.profiles)
            started = time.perf_counter()
            seed_profiles(
                url if engine == "postgresql" else settings.resolved_database_url(),
                args.profiles,
                "bench-seed",
                lambda n: progress.advance(task, n),
            )
            written = _seed_events(hub, args.events_per_profile, progress)
            seed_s = time.perf_counter() - started
        console.print(f"{engine}: seeded {args.profiles:,} profiles and {written:,} events in {seed_s:.0f} s")
        _skip_history(hub)
        batch = _batch(hub)
        console.print(f"{engine}: batch {batch}")
        realtime = _realtime(hub, args.events, args.profiles)
        return {
            "engine": engine,
            "profiles": args.profiles,
            "events": written,
            "seed_seconds": round(seed_s, 1),
            "batch": batch,
            "realtime": realtime,
            "poll_seconds": args.poll,
        }
    finally:
        hub.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.segments", description=__doc__)
    parser.add_argument("--engine", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--profiles", type=int, default=1_000_000)
    parser.add_argument("--events-per-profile", type=int, default=10, help="on average (uniform ±50 %)")
    parser.add_argument("--events", type=int, default=1000, help="real-time events timed")
    parser.add_argument("--poll", type=float, default=0.005, help="the event-log runner's poll interval, s")
    parser.add_argument("--postgres-url", default=DEFAULT_PG_URL)
    args = parser.parse_args(argv)
    console = Console()
    info = machine()
    console.print(f"machine: {describe_machine(info)}")
    results = []
    for target in targets(args.engine, args.postgres_url, console):
        engine = target.engine
        result = run(engine, target.url, target.workdir, args, console)
        b, r = result["batch"], result["realtime"]
        console.print(
            f"[bold]{engine}[/bold] batch, {result['profiles']:,} profiles / {result['events']:,} events: "
            f"preview {b['preview_seconds']} s, create with {b['members']:,} members {b['create_seconds']} s "
            f"(target < 10 s: {'met' if b['create_seconds'] < 10 else 'MISSED'})"
        )
        console.print(
            f"[bold]{engine}[/bold] real-time update after commit ({r['events']} events, poll {args.poll}s): "
            f"p50 {r['p50_ms']} ms, p95 {r['p95_ms']} ms, p99 {r['p99_ms']} ms, max {r['max_ms']} ms "
            f"(target p99 < 50 ms: {'met' if r['p99_ms'] < 50 else 'MISSED'}); the processor's own work: "
            f"p50 {r['handle_p50_ms']} ms, p99 {r['handle_p99_ms']} ms"
        )
        results.append(result)
    path = write_json({"engine": "segments", "machine": info, "results": results}, stamp())
    console.print(f"written to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
