"""``python -m bench.commerce``: the scan call and reservations under contention, on a real server.

1. **Seed** (server stopped, straight into the database): N products with one variant each (EAN-13,
   web and store price), S stores and 2 warehouses spread over Germany, stock of the P "popular"
   variants in every location, and past orders of 2-3 popular products (for the suggestions).
2. **Scan**: GET /api/scan for random popular GTINs in random stores, with a customer (the touchpoint
   is written through ingest) and without; closed loop with 1 client (latency) and 4 (under load).
3. **Reservations under contention**: C clients reserve the same SKU in the same store as fast as they
   can (one stock row, the worst case); then R clients race for the last 10 units of another SKU.

Prints figures; nothing passes or fails. The issue's target: scan p99 < 20 ms with 100,000 products
and 50 stores on a 2-core machine.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import random
import statistics
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson
from rich.console import Console
from rich.table import Table
from sqlalchemy import insert

from bench.__main__ import DEFAULT_PG_URL
from bench.http import LeanClient, run
from bench.report import describe_machine, machine
from bench.server import (
    BenchError,
    Server,
    Target,
    last_line,
    postgres_target,
    postgres_unreachable,
    run_cli,
    sqlite_target,
)
from omnikanal.commerce.gtin import check_digit
from omnikanal.commerce.tables import (
    commerce_locations,
    commerce_order_lines,
    commerce_orders,
    commerce_prices,
    commerce_products,
    commerce_stock,
    commerce_variants,
)
from omnikanal.db.engine import make_engine, write_tx
from omnikanal.settings import Settings

CHUNK = 5000


def ean(i: int) -> str:
    body = f"40{i:010d}"
    return body + str(check_digit(body))


def _chunks(rows: Iterator[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    chunk: list[dict[str, Any]] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def seed(url: str, products: int, stores: int, popular: int, orders: int, rng: random.Random) -> float:
    """Write the catalogue, locations, stock and past orders; returns the seconds it took."""
    started = time.perf_counter()
    now = datetime.now(UTC)
    engine = make_engine(Settings(), url)
    try:

        def product_rows() -> Iterator[dict[str, Any]]:
            for i in range(products):
                yield {
                    "id": f"P{i:06d}",
                    "names": {"de": f"Produkt {i}", "en": f"Product {i}"},
                    "descriptions": {"de": "Beschreibung"},
                    "category_id": None,
                    "brand": "Bench",
                    "attributes": {},
                    "active": True,
                    "created_at": now,
                    "updated_at": now,
                }

        def variant_rows() -> Iterator[dict[str, Any]]:
            for i in range(products):
                yield {
                    "id": f"var_{i:032d}",
                    "product_id": f"P{i:06d}",
                    "sku": f"SKU-{i:06d}",
                    "gtin": "0" + ean(i),
                    "colour": None,
                    "size": None,
                    "attributes": {},
                    "active": True,
                    "created_at": now,
                    "updated_at": now,
                }

        def price_rows() -> Iterator[dict[str, Any]]:
            for i in range(products):
                for channel, cents in (("web", 1000 + i % 9000), ("store", 1100 + i % 9000)):
                    yield {
                        "variant_id": f"var_{i:032d}",
                        "channel": channel,
                        "amount_cents": cents,
                        "currency": "EUR",
                    }

        locations = [
            {
                "id": f"store-{s:02d}",
                "kind": "store",
                "name": f"Store {s}",
                "address": {},
                "latitude": 47.5 + rng.random() * 7.0,
                "longitude": 6.0 + rng.random() * 9.0,
                "timezone": "Europe/Berlin",
                "opening_hours": {},
                "services": ["click_and_collect", "reservations", "returns"],
                "active": True,
                "created_at": now,
                "updated_at": now,
            }
            for s in range(stores)
        ] + [
            {
                "id": f"wh-{w}",
                "kind": "warehouse",
                "name": f"Warehouse {w}",
                "address": {},
                "latitude": 51.0,
                "longitude": 10.0 + w,
                "timezone": "Europe/Berlin",
                "opening_hours": {},
                "services": [],
                "active": True,
                "created_at": now,
                "updated_at": now,
            }
            for w in range(2)
        ]

        def stock_rows() -> Iterator[dict[str, Any]]:
            for i in range(popular):
                for loc in locations:
                    yield {
                        "variant_id": f"var_{i:032d}",
                        "location_id": loc["id"],
                        "on_hand": rng.randint(0, 20),
                        "reserved": 0,
                        "allocated": 0,
                        "updated_at": now,
                    }

        order_rows: list[dict[str, Any]] = []
        line_rows: list[dict[str, Any]] = []
        for o in range(orders):
            picked = rng.sample(range(popular), rng.randint(2, 3))
            order_rows.append(
                {
                    "id": f"bench-{o}",
                    "profile_id": None,
                    "channel": "store",
                    "origin_location_id": None,
                    "fulfilment": "buy_in_store",
                    "fulfilment_location_id": "store-00",
                    "status": "picked_up",
                    "currency": "EUR",
                    "total_cents": 0,
                    "recorded_by": "commerce",
                    "shipping_address": None,
                    "created_at": now,
                    "updated_at": now,
                }
            )
            for n, i in enumerate(picked, start=1):
                line_rows.append(
                    {
                        "order_id": f"bench-{o}",
                        "line_no": n,
                        "profile_id": None,
                        "variant_id": f"var_{i:032d}",
                        "sku": f"SKU-{i:06d}",
                        "quantity": 1,
                        "unit_price_cents": 1000,
                        "returned_quantity": 0,
                        "stock_location_id": "store-00",
                        "reservation_id": None,
                    }
                )

        for table, rows in (
            (commerce_products, product_rows()),
            (commerce_variants, variant_rows()),
            (commerce_prices, price_rows()),
            (commerce_locations, iter(locations)),
            (commerce_stock, stock_rows()),
            (commerce_orders, iter(order_rows)),
            (commerce_order_lines, iter(line_rows)),
        ):
            for chunk in _chunks(rows):
                with write_tx(engine) as conn:
                    conn.execute(insert(table), chunk)
        if engine.dialect.name == "postgresql":
            # Statistics, as autovacuum would gather them in a while (committed: ANALYZE is transactional).
            with engine.begin() as conn:
                conn.exec_driver_sql("ANALYZE")
    finally:
        engine.dispose()
    return time.perf_counter() - started


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


async def closed_loop(
    base_url: str, headers: dict[str, str], clients: int, seconds: float, make_request: Any
) -> dict[str, Any]:
    """``clients`` loops sending ``make_request()`` (method, path, body) for ``seconds``."""
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    deadline = time.perf_counter() + seconds

    async def one(client: LeanClient) -> None:
        while time.perf_counter() < deadline:
            method, path, body = make_request()
            sent = time.perf_counter()
            status, _ = await client.request(method, path, body)
            latencies.append(time.perf_counter() - sent)
            statuses[status] = statuses.get(status, 0) + 1

    async with LeanClient(base_url, headers, clients) as client:
        started = time.perf_counter()
        await asyncio.gather(*(one(client) for _ in range(clients)))
        elapsed = time.perf_counter() - started
    return {
        "requests": len(latencies),
        "per_second": len(latencies) / elapsed,
        "p50_ms": statistics.median(latencies) * 1000 if latencies else float("nan"),
        "p99_ms": percentile(latencies, 0.99) * 1000 if latencies else float("nan"),
        "max_ms": max(latencies) * 1000 if latencies else float("nan"),
        "statuses": statuses,
    }


def bench_engine(
    console: Console, target: Target, args: argparse.Namespace
) -> list[tuple[str, dict[str, Any]]]:
    rng = random.Random(args.seed)
    run_cli(target, "migrate")
    console.print(
        f"seeding {args.products:,} products, {args.stores} stores + 2 warehouses, stock of "
        f"{args.popular:,} variants everywhere, {args.orders:,} past orders ..."
    )
    seconds = seed(target.url, args.products, args.stores, args.popular, args.orders, rng)
    console.print(f"seeded in {seconds:.1f} s")
    token = last_line(run_cli(target, "token", "create", "--name", "bench", "--role", "admin"))
    key = last_line(run_cli(target, "source", "create", "--name", "bench-app", "--channel", "app"))
    server = Server(target, "commerce-server.log")
    results: list[tuple[str, dict[str, Any]]] = []
    server.start()
    try:
        with httpx.Client(base_url=server.base_url, timeout=30) as http:
            assert (
                http.post("/v1/identify", json={"userId": "bench-customer"}, auth=(key, "")).status_code
                == 200
            )
            auth = {"Authorization": f"Bearer {token}"}
            profile = http.get(
                "/api/profiles/lookup", params={"type": "user_id", "value": "bench-customer"}, headers=auth
            ).json()["id"]
            # SKUs beyond the popular ones have no seeded stock: exactly what is received here.
            contended, scarce = f"SKU-{args.popular:06d}", f"SKU-{args.popular + 1:06d}"
            for sku, location, quantity in (
                (contended, "store-00", 1_000_000),
                (scarce, "store-01", 10),
            ):
                r = http.post(
                    "/api/commerce/stock/movements",
                    json={"location_id": location, "sku": sku, "kind": "receipt", "quantity": quantity},
                    headers=auth,
                )
                assert r.status_code == 201, r.text
        headers = {"Authorization": f"Bearer {token}"}

        def scan(with_profile: bool) -> Any:
            def make() -> tuple[str, str, None]:
                gtin = ean(rng.randrange(args.popular))
                store = f"store-{rng.randrange(args.stores):02d}"
                who = f"&profile={profile}" if with_profile else ""
                return "GET", f"/api/scan?gtin={gtin}&store={store}{who}", None

            return make

        run(closed_loop(server.base_url, headers, 2, 2.0, scan(False)))  # warm-up
        for label, clients, with_profile in (
            ("scan, no customer, 1 client", 1, False),
            ("scan, with customer (touchpoint written), 1 client", 1, True),
            ("scan, no customer, 4 clients", 4, False),
            ("scan, with customer, 4 clients", 4, True),
        ):
            results.append(
                (
                    label,
                    run(closed_loop(server.base_url, headers, clients, args.duration, scan(with_profile))),
                )
            )
            console.print(f"  {label}: done")

        reserve_body = orjson.dumps(
            {
                "profile_id": profile,
                "location_id": "store-00",
                "sku": contended,
                "quantity": 1,
                "hold_hours": 1,
            }
        )
        results.append(
            (
                f"reservations, one stock row, {args.contention} clients",
                run(
                    closed_loop(
                        server.base_url,
                        headers | {"Content-Type": "application/json"},
                        args.contention,
                        args.duration,
                        lambda: ("POST", "/api/commerce/reservations", reserve_body),
                    )
                ),
            )
        )
        last_units = orjson.dumps(
            {"profile_id": profile, "location_id": "store-01", "sku": scarce, "quantity": 1}
        )

        async def race() -> dict[str, Any]:
            async with LeanClient(
                server.base_url, headers | {"Content-Type": "application/json"}, 50
            ) as client:
                started = time.perf_counter()
                answers = await asyncio.gather(
                    *(
                        client.request("POST", "/api/commerce/reservations", last_units)
                        for _ in range(args.race)
                    )
                )
                elapsed = time.perf_counter() - started
            statuses: dict[int, int] = {}
            for status, _ in answers:
                statuses[status] = statuses.get(status, 0) + 1
            return {"requests": len(answers), "per_second": len(answers) / elapsed, "statuses": statuses}

        results.append((f"{args.race} parallel reservations for the last 10 units", run(race())))
    finally:
        server.stop()
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.commerce", description=__doc__.splitlines()[0])
    parser.add_argument("--engine", choices=("sqlite", "postgresql", "both"), default="sqlite")
    parser.add_argument("--products", type=int, default=100_000)
    parser.add_argument("--stores", type=int, default=50)
    parser.add_argument("--popular", type=int, default=2_000, help="variants with stock in every location")
    parser.add_argument("--orders", type=int, default=10_000, help="past orders for the suggestions")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per timed phase")
    parser.add_argument("--contention", type=int, default=16, help="clients reserving the same row")
    parser.add_argument("--race", type=int, default=200, help="parallel reservations for the last 10 units")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--postgres-url", default=DEFAULT_PG_URL)
    parser.add_argument("--data-dir", type=Path, default=None)
    args = parser.parse_args(argv)
    if (
        min(args.products, args.stores, args.popular) <= 0
        or args.popular > args.products
        or args.stores > 100
    ):
        parser.error("need 0 < popular <= products, 0 < stores <= 100")
    console = Console(width=None if sys.stdout.isatty() else 140)
    console.print(f"machine: {describe_machine(machine())}")
    status = 0
    for engine in ["sqlite", "postgresql"] if args.engine == "both" else [args.engine]:
        with ExitStack() as stack:
            if engine == "postgresql":
                reason = postgres_unreachable(args.postgres_url)
                if reason:
                    console.print(f"[yellow]skipping PostgreSQL[/yellow]: {reason}")
                    continue
                target = stack.enter_context(postgres_target(args.postgres_url))
            else:
                target = stack.enter_context(sqlite_target(args.data_dir))
            console.print(f"[bold]{engine}[/bold]: {target.description}")
            try:
                results = bench_engine(console, target, args)
            except BenchError as exc:
                console.print(f"[red]{engine} failed:[/red] {exc}")
                status = 1
                continue
        table = Table("phase", "requests", "per s", "p50 ms", "p99 ms", "max ms", "statuses", title=engine)
        for label, figures in results:
            table.add_row(
                label,
                str(figures["requests"]),
                f"{figures['per_second']:.0f}",
                f"{figures.get('p50_ms', float('nan')):.1f}",
                f"{figures.get('p99_ms', float('nan')):.1f}",
                f"{figures.get('max_ms', float('nan')):.1f}",
                ", ".join(f"{k}: {v}" for k, v in sorted(figures["statuses"].items())),
            )
        console.print(table)
        console.print("target: scan p99 < 20 ms (100,000 products, 50 stores, 2 cores)")
    return status


if __name__ == "__main__":
    sys.exit(main())
