"""``python -m bench.console``: how fast the console's heaviest pages answer with the demo data.

For each engine: ``omnikanal demo --no-serve`` builds the demo retailer through the HTTP APIs (as a
newcomer's first run does), ``omnikanal serve`` starts, an admin logs in, and closed-loop requests
time GET /console/customers/{id} (random customers, and the ones with the most events) and
GET /console (the overview: once with its aggregates computed on every request, once served from
its cache as configured). Latency is measured by the client over
loopback, so it is the server's time plus a fraction of a millisecond. Target: p99 < 300 ms.
"""

from __future__ import annotations

import argparse
import random
import statistics
import subprocess
import time
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table
from sqlalchemy import create_engine, text

from bench.__main__ import DEFAULT_PG_URL
from bench.report import describe_machine, machine, stamp, write_json
from bench.server import Server, Target, omnikanal_command, targets

PASSWORD = "bench-console-password"
TARGET_MS = 300.0


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _timed(client: httpx.Client, path: str, rounds: int) -> list[float]:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        response = client.get(path)
        times.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            raise RuntimeError(f"GET {path}: {response.status_code} {response.text[:200]}")
    return times


def _profiles(target: Target, busiest: int, sample: int, seed: int) -> tuple[list[str], list[str]]:
    engine = create_engine(target.url)
    with engine.connect() as conn:
        top = [
            r[0]
            for r in conn.execute(
                text("SELECT id FROM profiles WHERE state = 'live' ORDER BY event_count DESC LIMIT :n"),
                {"n": busiest},
            )
        ]
        every = [r[0] for r in conn.execute(text("SELECT id FROM profiles WHERE state = 'live'"))]
    engine.dispose()
    return top, random.Random(seed).sample(every, min(sample, len(every)))


def _login(client: httpx.Client) -> None:
    login = client.post("/console/login", data={"username": "bench-admin", "password": PASSWORD})
    if login.status_code not in (200, 303):
        raise RuntimeError(f"login: {login.status_code}")


def run(target: Target, customers: int, rounds: int, console: Console) -> dict[str, Any]:
    started = time.monotonic()
    subprocess.run(
        [str(omnikanal_command()), "demo", "--customers", str(customers), "--port", "0", "--no-serve"],
        env=target.env,
        check=True,
        capture_output=True,
        timeout=3600,
    )
    build_seconds = time.monotonic() - started
    console.print(f"{target.engine}: demo with {customers} customers built in {build_seconds:.0f} s")
    subprocess.run(
        [
            str(omnikanal_command()),
            "user",
            "create",
            "--username",
            "bench-admin",
            "--role",
            "admin",
            "--password",
            PASSWORD,
        ],
        env=target.env,
        check=True,
        capture_output=True,
        timeout=120,
    )
    top, sample = _profiles(target, 20, rounds, 7)
    # First with the overview's cache off (every request scans the window), then as configured.
    uncached = Target(
        **{**target.__dict__, "env": {**target.env, "OMNIKANAL_CONSOLE_OVERVIEW_CACHE_SECONDS": "0"}}
    )
    server = Server(uncached, "console-server.log")
    server.start()
    try:
        with httpx.Client(base_url=server.base_url, timeout=60) as client:
            _login(client)
            for pid in sample[:5]:  # warm caches and connections
                client.get(f"/console/customers/{pid}")
            random_view = [t for pid in sample for t in _timed(client, f"/console/customers/{pid}", 1)]
            busy_view = [t for pid in top for t in _timed(client, f"/console/customers/{pid}", 3)]
            overview_uncached = _timed(client, "/console", max(10, rounds // 20))
    finally:
        server.stop()
    server = Server(target, "console-server.log")
    server.start()
    try:
        with httpx.Client(base_url=server.base_url, timeout=60) as client:
            _login(client)
            first = _timed(client, "/console", 1)
            overview_cached = _timed(client, "/console", max(10, rounds // 2))
    finally:
        server.stop()
    return {
        "engine": target.engine,
        "database": target.description,
        "customers": customers,
        "build_seconds": round(build_seconds, 1),
        "pages": {
            "customer view (random customers)": random_view,
            "customer view (20 busiest customers)": busy_view,
            "overview, aggregates computed per request": overview_uncached,
            "overview, first request of a process": first,
            "overview, from the cache": overview_cached,
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--engine", choices=("sqlite", "postgresql", "both"), default="sqlite")
    parser.add_argument("--postgres-url", default=DEFAULT_PG_URL)
    parser.add_argument("--customers", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=200, help="customer views timed per engine")
    args = parser.parse_args()
    console = Console()
    info = machine()
    console.print(describe_machine(info))
    when = stamp()
    for target in targets(args.engine, args.postgres_url, console):
        result = run(target, args.customers, args.rounds, console)
        table = Table("page", "requests", "p50 ms", "p99 ms", "max ms", f"target p99 < {TARGET_MS:.0f} ms")
        summary = {}
        for name, times in result["pages"].items():
            p50, p99 = statistics.median(times), _percentile(times, 0.99)
            summary[name] = {
                "n": len(times),
                "p50_ms": round(p50, 1),
                "p99_ms": round(p99, 1),
                "max_ms": round(max(times), 1),
            }
            table.add_row(
                name,
                str(len(times)),
                f"{p50:.1f}",
                f"{p99:.1f}",
                f"{max(times):.1f}",
                "met" if p99 < TARGET_MS else "missed",
            )
        console.print(f"{result['database']}, {result['customers']} demo customers")
        console.print(table)
        write_json(
            {
                "engine": f"console-{target.engine}",
                "machine": info,
                "build_seconds": result["build_seconds"],
                "customers": result["customers"],
                "pages": summary,
            },
            when,
        )


if __name__ == "__main__":
    main()
