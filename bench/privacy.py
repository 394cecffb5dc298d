"""``python -m bench.privacy``: the contact question and erasure, measured in-process.

(1) ``ConsentService.may_contact`` for a profile with a long consent history (target: p99 < 1 ms);
(2) erasure of a person with 10,000 events on four channels (time and rows removed).
Prints the figures and writes them to bench/results/privacy-<engine>-<time>.json.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import Progress

from bench.__main__ import DEFAULT_PG_URL
from bench.report import describe_machine, machine, stamp, write_json
from bench.server import targets
from omnikanal.clock import SystemClock
from omnikanal.consent.model import ConsentChange, ConsentStatus
from omnikanal.hub import Hub, build_hub
from omnikanal.privacy.model import RequestType
from omnikanal.settings import Settings

CHANNELS = ("email", "sms", "phone", "push", "whatsapp")


def _percentile(sorted_values: list[float], q: float) -> float:
    return sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))]


def _seed(hub: Hub, others: int, history: int, events: int, progress: Progress) -> tuple[str, str]:
    shop = hub.sources.create("bench-shop", "web")[0]
    task = progress.add_task("other customers", total=others)
    for start in range(0, others, 500):
        items = [
            {"type": "identify", "userId": f"c-{n}", "traits": {"email": f"c{n}@example.de"}}
            for n in range(start, min(others, start + 500))
        ]
        hub.ingest.ingest(shop, items)
        progress.advance(task, len(items))
    hub.ingest.ingest(
        shop, [{"type": "identify", "userId": "long-history", "traits": {"email": "lh@example.de"}}]
    )
    long_history = str(hub.profiles.lookup("user_id", "long-history")["id"])
    task = progress.add_task("consent history", total=history)
    rng = random.Random(7)
    purposes = list(hub.consent.config.purposes)
    now = hub.clock.now()
    for start in range(0, history, 500):
        changes = [
            ConsentChange(
                rng.choice(purposes),
                rng.choice((ConsentStatus.GRANTED, ConsentStatus.WITHDRAWN, ConsentStatus.DENIED)),
                "store",
                proof={"staff_user": "bench"},
                occurred_at=now - timedelta(minutes=history - n),
            )
            for n in range(start, min(history, start + 500))
        ]
        hub.consent.record(long_history, changes, source="bench")
        progress.advance(task, len(changes))
    # the person to erase: events on four channels
    sources = [hub.sources.create(f"bench-{c}", c)[0] for c in ("web", "pos", "hotline", "app")]
    task = progress.add_task("events of the person to erase", total=events)
    for start in range(0, events, 500):
        count = min(events, start + 500) - start
        source = sources[(start // 500) % len(sources)]
        batch = [
            {
                "type": "track",
                "userId": "to-erase",
                "event": "Product Viewed",
                "properties": {"sku": f"sku-{start + n}"},
                "context": {"traits": {"email": "erase.me@example.de", "phone": "+4915199990000"}},
            }
            for n in range(count)
        ]
        hub.ingest.ingest(source, batch)
        progress.advance(task, count)
    return long_history, str(hub.profiles.lookup("user_id", "to-erase")["id"])


def _measure(hub: Hub, profile_id: str, calls: int) -> dict[str, Any]:
    rng = random.Random(11)
    purposes: list[str | None] = [*hub.consent.config.purposes, None]
    for _ in range(500):  # warm caches and the connection pool
        hub.consent.may_contact(profile_id, rng.choice(purposes), rng.choice(CHANNELS))
    timings = []
    for _ in range(calls):
        purpose, channel = rng.choice(purposes), rng.choice(CHANNELS)
        started = time.perf_counter()
        hub.consent.may_contact(profile_id, purpose, channel)
        timings.append((time.perf_counter() - started) * 1000)
    timings.sort()
    return {
        "calls": calls,
        "p50_ms": round(_percentile(timings, 0.50), 4),
        "p95_ms": round(_percentile(timings, 0.95), 4),
        "p99_ms": round(_percentile(timings, 0.99), 4),
        "max_ms": round(timings[-1], 4),
        "mean_ms": round(statistics.fmean(timings), 4),
    }


def run(engine: str, url: str, data_dir: Path, args: argparse.Namespace, console: Console) -> dict[str, Any]:
    settings = Settings(database_url=url if engine == "postgresql" else "", data_dir=data_dir)
    hub = build_hub(settings, SystemClock())
    try:
        with Progress(console=console, transient=True) as progress:
            long_history, to_erase = _seed(hub, args.others, args.history, args.events, progress)
        if engine == "postgresql":
            # What autovacuum does soon after a bulk load; without statistics the planner guesses.
            with hub.engine.connect() as conn:
                conn.exec_driver_sql("ANALYZE")
                conn.commit()
        contact = _measure(hub, long_history, args.calls)
        started = time.perf_counter()
        filed = hub.privacy.file(
            RequestType.ERASURE, profile_id=to_erase, origin="bench", requested_by="bench"
        )
        done = hub.privacy.run(filed["id"], "bench", may_erase=True)
        erasure_s = time.perf_counter() - started
        return {
            "engine": engine,
            "history_records": args.history,
            "contact_question": contact,
            "erasure": {
                "events": args.events,
                "seconds": round(erasure_s, 3),
                "removed": done["result"]["removed"],
                "suppressed_identifiers": done["result"]["suppressed_identifiers"],
            },
        }
    finally:
        hub.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.privacy", description=__doc__)
    parser.add_argument("--engine", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--history", type=int, default=10_000, help="consent records of the measured profile")
    parser.add_argument("--others", type=int, default=10_000, help="other customers in the database")
    parser.add_argument("--events", type=int, default=10_000, help="events of the person erased")
    parser.add_argument("--calls", type=int, default=20_000, help="contact questions timed")
    parser.add_argument("--postgres-url", default=DEFAULT_PG_URL)
    args = parser.parse_args(argv)
    console = Console()
    info = machine()
    console.print(f"machine: {describe_machine(info)}")
    results = []
    for target in targets(args.engine, args.postgres_url, console):
        engine = target.engine
        result = run(engine, target.url, target.workdir, args, console)
        c, e = result["contact_question"], result["erasure"]
        console.print(
            f"[bold]{engine}[/bold] contact question ({result['history_records']:,} consent records): "
            f"p50 {c['p50_ms']} ms, p95 {c['p95_ms']} ms, p99 {c['p99_ms']} ms, max {c['max_ms']} ms "
            f"(target p99 < 1 ms: {'met' if c['p99_ms'] < 1 else 'MISSED'})"
        )
        console.print(
            f"[bold]{engine}[/bold] erasure of a person with {e['events']:,} events: {e['seconds']} s, "
            f"rows removed {e['removed']}, identifiers suppressed {e['suppressed_identifiers']}"
        )
        results.append(result)
    path = write_json({"engine": "privacy", "machine": info, "results": results}, stamp())
    console.print(f"written to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
