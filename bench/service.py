"""Service figures (no pass/fail): inbound mail to visible case, and the inbox on 100,000 cases.

    .venv/bin/python -m bench.service [--engine sqlite|postgresql] [--mails 200] [--cases 100000]

Builds a hub on a fresh database (a SQLite file, or a throwaway PostgreSQL database at
OMNIKANAL_BENCH_POSTGRES_URL), with its SMTP listener on a free loopback port. Phase 1 sends mails
from distinct senders one after another over SMTP; the listener answers 250 only after the case
committed, so the SMTP round trip is the time until the case is visible to the API. Phase 2 writes
100,000 cases spread over queues and statuses, then times the inbox's two reads (a page of 50 of a
queue and status, and the counts per status of the queue) through the service desk, in process.
"""

from __future__ import annotations

import argparse
import os
import random
import smtplib
import socket
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage

import psycopg
from sqlalchemy import insert

from omnikanal.db.engine import run_write
from omnikanal.hub import build_hub
from omnikanal.ids import new_id
from omnikanal.service.tables import service_cases
from omnikanal.settings import Settings

PG = os.environ.get("OMNIKANAL_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _p(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] * 1000


def _mails(port: int, count: int) -> list[float]:
    times = []
    with smtplib.SMTP("127.0.0.1", port, timeout=60) as client:
        for n in range(count):
            message = EmailMessage()
            message["From"] = f"kunde{n}@example.net"
            message["To"] = "service@shop.example"
            message["Subject"] = f"Frage zu Bestellung {n}"
            message.set_content("Wo bleibt meine Lieferung?\n" * 20)
            started = time.perf_counter()
            client.send_message(message)
            times.append(time.perf_counter() - started)
    return times


def _seed(hub: object, count: int) -> None:
    engine = hub.engine  # type: ignore[attr-defined]
    now = datetime.now(UTC)
    queues = ["hotline", "email", *(f"store:s{i}" for i in range(8))]
    statuses = ["new", "open", "waiting_customer", "waiting_us", "resolved", "closed"]
    for start in range(0, count, 5000):
        rows = [
            {
                "id": new_id("case"),
                "ref": f"C-{n:010X}",
                "profile_id": new_id("prof"),
                "subject": f"Fall {n}",
                "queue": random.choice(queues),
                "priority": "normal",
                "status": random.choice(statuses),
                "channel": "email",
                "tags": [],
                "links": {},
                "entries": 1,
                "created_at": now - timedelta(seconds=n * 30),
                "updated_at": now,
            }
            for n in range(start, min(start + 5000, count))
        ]
        run_write(engine, lambda conn, rows=rows: conn.execute(insert(service_cases), rows))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--engine", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--mails", type=int, default=200)
    parser.add_argument("--cases", type=int, default=100_000)
    args = parser.parse_args()
    folder = tempfile.mkdtemp()
    url = None
    name = f"omnikanal_bench_service_{os.getpid()}"
    if args.engine == "postgresql":
        with psycopg.connect(PG, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        url = PG.rsplit("/", 1)[0] + "/" + name
    port = _port()
    extra = {"database_url": url} if url else {}
    settings = Settings(data_dir=folder, service_smtp_port=port, auto_migrate=True, **extra)
    hub = build_hub(settings)
    hub.start()
    try:
        times = _mails(port, args.mails)
        print(
            f"{args.engine}: inbound mail to visible case, {len(times)} mails: "
            f"p50 {_p(times, 50):.1f} ms, p99 {_p(times, 99):.1f} ms (target p99 < 1000 ms)"
        )
        _seed(hub, args.cases)
        desk = hub.service.desk
        pages, counts = [], []
        for _ in range(200):
            started = time.perf_counter()
            desk.list_cases({"queue": "email", "status": "new"}, None, None, 50)
            pages.append(time.perf_counter() - started)
            started = time.perf_counter()
            desk.counts("email")
            counts.append(time.perf_counter() - started)
        print(
            f"{args.engine}: inbox on {args.cases:,} cases: page of 50 p50 {_p(pages, 50):.1f} ms, "
            f"p99 {_p(pages, 99):.1f} ms; counts per status p50 {_p(counts, 50):.1f} ms, "
            f"p99 {_p(counts, 99):.1f} ms (target inbox p99 < 300 ms)"
        )
    finally:
        hub.close()
        if url is not None:
            with psycopg.connect(PG, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
