"""``python -m bench.messaging``: the policy gate's decision time and emails per second through gate
and dispatcher to a local SMTP server (aiosmtpd in a process of its own).

Targets from issue 4: at least 500 emails/s on a 2-core machine; gate p99 under 2 ms. A decision
here is what the dispatcher does per message: the customer's facts from the database (traits,
addresses, engagement, the cap window) and the rules, including the consent service's answer.
"""

from __future__ import annotations

import argparse
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path

import psycopg

from omnikanal.consent.model import ConsentChange, ConsentStatus
from omnikanal.db.engine import read_tx, run_write
from omnikanal.hub import Hub, build_hub
from omnikanal.messaging import facts
from omnikanal.messaging.gate import decide
from omnikanal.messaging.model import GateRequest, Policy
from omnikanal.messaging.service import SendRequest
from omnikanal.messaging.wiring import policy_from
from omnikanal.settings import Settings

PG_URL = os.environ.get("OMNIKANAL_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_smtp(port: int) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [sys.executable, "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{port}", "-c", "aiosmtpd.handlers.Sink"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return process
        except OSError:
            time.sleep(0.05)
    process.kill()
    raise RuntimeError("aiosmtpd did not start")


def seed(hub: Hub, profiles: int) -> list[str]:
    source, _ = hub.sources.create("bench-shop", "web")
    for start in range(0, profiles, 500):
        items = [
            {
                "type": "identify",
                "userId": f"u{i}",
                "traits": {
                    "email": f"person{i}@example.de",
                    "firstName": f"P{i}",
                    "timezone": "Europe/Berlin",
                },
            }
            for i in range(start, min(profiles, start + 500))
        ]
        hub.ingest.ingest(source, items)
    with read_tx(hub.engine) as conn:
        from omnikanal.profiles.identity.tables import identities

        ids = [r.profile_id for r in conn.execute(identities.select().where(identities.c.type == "user_id"))]
    now = hub.clock.now().isoformat()
    for pid in ids:
        hub.consent.record(
            pid,
            [ConsentChange("email_marketing", ConsentStatus.GRANTED, "email", proof={"confirmed_at": now})],
            source="bench",
        )
    return ids


def gate_times(hub: Hub, ids: list[str], decisions: int, batch: int) -> tuple[list[float], list[float]]:
    """Decision times: one message alone (its facts read for it alone), and per message when the
    dispatcher decides a batch (the batch's facts read at once, then each rule run)."""
    policy = policy_from(hub.settings)
    single: list[float] = []
    for _ in range(decisions):
        single.append(decide_batch(hub, [random.choice(ids)], policy))
    batched: list[float] = []
    for _ in range(max(1, decisions // batch)):
        chosen = [random.choice(ids) for _ in range(batch)]
        batched.append(decide_batch(hub, chosen, policy) / batch)
    return single, batched


def decide_batch(hub: Hub, chosen: list[str], policy: Policy) -> float:
    started = time.perf_counter()
    with read_tx(hub.engine) as conn:
        now = hub.clock.now()
        since = now - timedelta(days=policy.cap_days)
        batch = facts.read(conn, chosen, since, hub.consent.suppression, lock=True)
        port = facts.BatchConsent(hub.consent, hub.consent, hub.consent.suppression, conn, batch)
        for pid in chosen:
            live = batch.live.get(pid)
            known = batch.profiles.get(live) if live else None
            request = GateRequest(live or pid, "email", transactional=False, purpose=None)
            decide(request, known.for_message("-") if known else None, port, policy, now)
    return time.perf_counter() - started


def throughput(hub: Hub, ids: list[str], messages: int) -> tuple[float, int, float]:
    """Emails per second through the dispatcher, how many were sent, and the CPU milliseconds this
    process spent per email (all threads: gate, render, SMTP client, recording), a figure that does
    not depend on what else the machine is doing."""
    requests = [
        SendRequest(
            profile_id=ids[i % len(ids)],
            channel="email",
            transactional=True,
            content={
                "subject": "Ihre Bestellung {{ data.n }}",
                "text": "Hallo {{ traits.firstName }}, danke.",
            },
            data={"n": i},
        )
        for i in range(messages)
    ]

    def enqueue(conn: object) -> None:
        for request in requests:
            hub.messaging.enqueue(conn, request)  # type: ignore[arg-type]

    run_write(hub.engine, enqueue)
    started = time.perf_counter()
    cpu_started = time.process_time()
    handled = 0
    while True:
        n = hub.dispatcher.run_once()
        if n == 0:
            break
        handled += n
    elapsed = time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    with read_tx(hub.engine) as conn:
        from sqlalchemy import func, select

        from omnikanal.messaging.tables import messages as table

        sent = conn.execute(select(func.count()).where(table.c.status == "sent")).scalar_one()
    return handled / elapsed, int(sent), cpu * 1000 / max(1, handled)


def run(engine: str, profiles: int, messages: int, decisions: int, batch: int) -> None:
    port = free_port()
    smtp = start_smtp(port)
    tmp = Path(tempfile.mkdtemp(prefix="omnikanal-bench-"))
    dbname = None
    if engine == "sqlite":
        url = f"sqlite:///{tmp / 'bench.db'}"
    else:
        dbname = f"omnikanal_bench_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(PG_URL, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{dbname}"')
        url = PG_URL.rsplit("/", 1)[0] + f"/{dbname}"
    settings = Settings(
        database_url=url,
        data_dir=tmp,
        smtp_url=f"smtp://127.0.0.1:{port}",
        messaging_batch_size=batch,
        smtp_connections=8,
        messaging_poll_seconds=0,
        # the bench measures throughput, not the night: no quiet hours
        messaging_quiet_hours={},
        secret_key="bench",  # noqa: S106 (a throwaway database)
    )
    hub = build_hub(settings)
    try:
        ids = seed(hub, profiles)
        if engine == "postgresql":
            # What autovacuum does soon after a bulk load; without statistics the planner guesses.
            with hub.engine.connect() as conn:
                conn.exec_driver_sql("ANALYZE")
                conn.commit()
        single, batched = (sorted(t) for t in gate_times(hub, ids, decisions, batch))
        rate, sent, cpu_ms = throughput(hub, ids, messages)
        for label, times in (("alone", single), (f"in batches of {batch}", batched)):
            p50 = statistics.median(times) * 1000
            p99 = times[max(0, int(len(times) * 0.99) - 1)] * 1000
            print(
                f"[{engine}] gate, one message {label}: {len(times)} samples, p50 {p50:.3f} ms, "
                f"p99 {p99:.3f} ms per decision (target < 2 ms)"
            )
        print(
            f"[{engine}] dispatch: {sent}/{messages} emails sent at {rate:.0f} emails/s "
            f"(batch {batch}, target >= 500/s); {cpu_ms:.2f} ms CPU of this process per email; "
            f"load average {os.getloadavg()[0]:.1f}"
        )
    finally:
        hub.close()
        smtp.terminate()
        smtp.wait(timeout=10)
        if dbname:
            with psycopg.connect(PG_URL, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.messaging", description=__doc__)
    parser.add_argument("--engine", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--profiles", type=int, default=2000)
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--decisions", type=int, default=5000)
    parser.add_argument("--batch", type=int, default=200)
    args = parser.parse_args(argv)
    engines = ("sqlite", "postgresql") if args.engine == "both" else (args.engine,)
    for engine in engines:
        run(engine, args.profiles, args.messages, args.decisions, args.batch)


if __name__ == "__main__":
    main()
