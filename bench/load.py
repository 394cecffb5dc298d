"""The load phases. Every loop is bounded in count and in time and talks only to 127.0.0.1."""

from __future__ import annotations

import asyncio
import base64
import math
import time
from collections import Counter
from collections.abc import Callable, Coroutine, Sequence
from contextlib import AsyncExitStack, suppress
from dataclasses import dataclass, field
from typing import Any

import orjson

from bench.http import Client, HttpError, make_client

GRACE = 65.0  # how long a phase may overrun its duration waiting for answers in flight (2 timeouts)


def basic_auth(write_key: str) -> str:
    return "Basic " + base64.b64encode(f"{write_key}:".encode()).decode()


def percentile(ordered: Sequence[float], q: float) -> float:
    """Nearest-rank percentile of an ascending sequence (0 for an empty one)."""
    if not ordered:
        return 0.0
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def latency_summary(seconds: list[float]) -> dict[str, float]:
    """p50/p95/p99/max/mean in milliseconds."""
    ordered = sorted(s * 1000 for s in seconds)
    return {
        "count": len(ordered),
        "p50_ms": percentile(ordered, 50),
        "p95_ms": percentile(ordered, 95),
        "p99_ms": percentile(ordered, 99),
        "max_ms": ordered[-1] if ordered else 0.0,
        "mean_ms": sum(ordered) / len(ordered) if ordered else 0.0,
    }


@dataclass
class Outcome:
    """What came back: statuses, transport errors and the first error body, for the report."""

    ok: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    first_error: str | None = None

    def failed(self, kind: str, detail: str) -> None:
        self.errors[kind] += 1
        if self.first_error is None:
            self.first_error = f"{kind}: {detail[:300]}"

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "errors": dict(self.errors), "first_error": self.first_error}


def _client(kind: str, base_url: str, auth: str, connections: int) -> Client:
    headers = {"Authorization": auth, "Content-Type": "application/json"}
    return make_client(kind, base_url, headers, connections)


async def _bounded(loops: list[Coroutine[Any, Any, None]], seconds: float, outcome: Outcome) -> None:
    """Run the loops together; whatever still runs after ``seconds`` is cancelled and reported."""
    tasks = [asyncio.ensure_future(loop) for loop in loops]
    _, pending = await asyncio.wait(tasks, timeout=seconds)
    for task in pending:
        task.cancel()
    if pending:
        await asyncio.wait(pending)
        outcome.failed("overran", f"{len(pending)} client loops still busy {seconds:.0f} s after the start")
    for task in tasks:
        if not task.cancelled() and task.exception() is not None:
            outcome.failed("client crashed", repr(task.exception()))


# -- phase 1: batch throughput -------------------------------------------------------------------


@dataclass
class BatchRun:
    wall_seconds: float
    requests: int
    accepted: int
    duplicates: int
    quarantined: int
    pool_exhausted: bool
    latencies: list[float]
    outcome: Outcome

    @property
    def events_per_second(self) -> float:
        return self.accepted / self.wall_seconds if self.wall_seconds else 0.0


async def batch_load(
    kind: str,
    base_url: str,
    write_key: str | Sequence[str],
    bodies: list[bytes],
    clients: int,
    duration: float,
    on_progress: Callable[[int], None] | None = None,
) -> BatchRun:
    """``clients`` closed loops POSTing the pre-serialised bodies until the time or the bodies run out.
    With several write keys, loop ``i`` sends with ``write_key[i % len(write_key)]`` (sources of
    different channels)."""
    pool = iter(bodies)
    outcome = Outcome()
    latencies: list[float] = []
    totals = Counter[str]()
    exhausted = False
    keys = [write_key] if isinstance(write_key, str) else list(write_key)
    per_key = [sum(1 for i in range(clients) if i % len(keys) == k) for k in range(len(keys))]

    async with AsyncExitStack() as stack:
        by_key = [
            await stack.enter_async_context(_client(kind, base_url, basic_auth(key), max(1, n)))
            for key, n in zip(keys, per_key, strict=True)
        ]

        async def worker(deadline: float, client: Client) -> None:
            nonlocal exhausted
            while time.perf_counter() < deadline:
                body = next(pool, None)
                if body is None:
                    exhausted = True
                    return
                began = time.perf_counter()
                try:
                    status, answer = await client.request("POST", "/v1/batch", body)
                except HttpError as exc:
                    outcome.failed("no answer", str(exc))
                    continue
                latencies.append(time.perf_counter() - began)
                if status != 200:
                    outcome.failed(f"HTTP {status}", answer.decode(errors="replace"))
                    continue
                data = orjson.loads(answer)
                outcome.ok += 1
                totals["accepted"] += data.get("accepted", 0)
                totals["duplicates"] += data.get("duplicates", 0)
                quarantined = data.get("quarantined") or []
                totals["quarantined"] += len(quarantined)
                if quarantined and outcome.first_error is None:
                    outcome.first_error = f"quarantined: {quarantined[0]}"
                if on_progress is not None:
                    on_progress(data.get("accepted", 0))

        started = time.perf_counter()
        loops = [worker(started + duration, by_key[i % len(keys)]) for i in range(clients)]
        await _bounded(loops, duration + GRACE, outcome)
        wall = time.perf_counter() - started
    return BatchRun(
        wall_seconds=wall,
        requests=len(latencies),
        accepted=totals["accepted"],
        duplicates=totals["duplicates"],
        quarantined=totals["quarantined"],
        pool_exhausted=exhausted,
        latencies=latencies,
        outcome=outcome,
    )


# -- phase 2: open-loop single events --------------------------------------------------------------


@dataclass
class OpenLoopRun:
    rate: float
    planned: int
    sent: int
    wall_seconds: float
    latencies: list[float]  # from the moment the request was actually started
    from_schedule: list[float]  # from the moment it was due (includes the client's own lag)
    due: list[float]  # when each answered request was due, seconds after the first was
    max_start_lag: float
    outcome: Outcome

    def within(self, seconds: float) -> tuple[list[float], list[float]]:
        """Latencies (from the send, from the due time) of the requests due in the first ``seconds``."""
        chosen = [i for i, due in enumerate(self.due) if due < seconds]
        return [self.latencies[i] for i in chosen], [self.from_schedule[i] for i in chosen]

    @property
    def achieved_rate(self) -> float:
        return self.outcome.ok / self.wall_seconds if self.wall_seconds else 0.0


async def open_loop(
    kind: str,
    base_url: str,
    write_key: str,
    path: str,
    bodies: list[bytes],
    rate: float,
    on_progress: Callable[[int], None] | None = None,
    events_per_body: int = 1,
) -> OpenLoopRun:
    """POST one body every 1/rate seconds, not waiting for earlier answers; one body per request,
    each answered with ``accepted`` = ``events_per_body`` (a single event or a batch)."""
    outcome = Outcome()
    latencies: list[float] = []
    from_schedule: list[float] = []
    dues: list[float] = []
    max_lag = 0.0

    async with _client(kind, base_url, basic_auth(write_key), 256) as client:

        async def one(body: bytes, due: float) -> None:
            nonlocal max_lag
            began = time.perf_counter()
            max_lag = max(max_lag, began - due)
            try:
                status, answer = await client.request("POST", path, body)
            except HttpError as exc:
                outcome.failed("no answer", str(exc))
                return
            done = time.perf_counter()
            latencies.append(done - began)
            from_schedule.append(done - due)
            dues.append(due - started)
            if status != 200:
                outcome.failed(f"HTTP {status}", answer.decode(errors="replace"))
                return
            data = orjson.loads(answer)
            if data.get("accepted") != events_per_body:
                outcome.failed("not accepted", answer.decode(errors="replace"))
                return
            outcome.ok += 1

        interval = 1.0 / rate
        started = time.perf_counter() + 0.05
        tasks: list[asyncio.Task[None]] = []
        for n, body in enumerate(bodies):
            due = started + n * interval
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(body, due)))
            if on_progress is not None and n % 50 == 0:
                on_progress(50)
        _, pending = await asyncio.wait(tasks, timeout=GRACE)
        for task in pending:
            task.cancel()
        if pending:
            outcome.failed(
                "unanswered", f"{len(pending)} requests still open {GRACE:.0f} s after the last send"
            )
        wall = max((started + len(bodies) * interval), time.perf_counter()) - started
    return OpenLoopRun(
        rate=rate,
        planned=len(bodies),
        sent=len(tasks),
        wall_seconds=wall,
        latencies=latencies,
        from_schedule=from_schedule,
        due=dues,
        max_start_lag=max_lag,
        outcome=outcome,
    )


# -- the lag phase: batches at a fixed rate while the processors' lag is sampled -------------------


@dataclass(frozen=True)
class LagSample:
    at: float  # seconds after the sampling began
    oldest_seconds: float  # the oldest unprocessed event's age, max over the processors (0: none)
    behind: int  # events not yet processed, max over the processors
    per_processor: dict[str, tuple[int, float | None]]  # name -> (behind, oldest_seconds)


def lag_sample(answer: bytes, at: float) -> LagSample:
    """A sample from the body of ``GET /api/operations/log``."""
    processors = orjson.loads(answer)["processors"]
    per = {p["name"]: (int(p["behind"]), p["oldest_seconds"]) for p in processors}
    return LagSample(
        at=at,
        oldest_seconds=max((o or 0.0 for _, o in per.values()), default=0.0),
        behind=max((b for b, _ in per.values()), default=0),
        per_processor=per,
    )


async def sample_lag(
    kind: str, base_url: str, token: str, interval: float, stop: asyncio.Event, outcome: Outcome
) -> list[LagSample]:
    """``GET /api/operations/log`` every ``interval`` seconds (one at a time) until ``stop`` is set."""
    samples: list[LagSample] = []
    async with _client(kind, base_url, f"Bearer {token}", 1) as client:
        started = time.perf_counter()
        while not stop.is_set():
            began = time.perf_counter()
            try:
                status, answer = await client.request("GET", "/api/operations/log")
            except HttpError as exc:
                outcome.failed("lag: no answer", str(exc))
            else:
                if status == 200:
                    samples.append(lag_sample(answer, began - started))
                else:
                    outcome.failed(f"lag: HTTP {status}", answer.decode(errors="replace"))
            pause = interval - (time.perf_counter() - began)
            if pause > 0:
                with suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), pause)
    return samples


async def lag_load(
    kind: str,
    base_url: str,
    write_key: str,
    token: str,
    bodies: list[bytes],
    rate: float,
    events_per_body: int,
    interval: float,
    on_progress: Callable[[int], None] | None = None,
) -> tuple[OpenLoopRun, list[LagSample], Outcome]:
    """``bodies`` (batches) POSTed to /v1/batch open loop at ``rate`` requests/s while the lag is
    sampled every ``interval`` seconds; the sampling ends with the last answer."""
    stop = asyncio.Event()
    sampling = Outcome()
    sampler = asyncio.create_task(sample_lag(kind, base_url, token, interval, stop, sampling))
    try:
        run = await open_loop(
            kind, base_url, write_key, "/v1/batch", bodies, rate, on_progress, events_per_body
        )
    finally:
        stop.set()
    return run, await sampler, sampling


# -- phase 3: profile lookups ----------------------------------------------------------------------


@dataclass
class LookupRun:
    wall_seconds: float
    latencies: list[float]
    outcome: Outcome

    @property
    def requests_per_second(self) -> float:
        return len(self.latencies) / self.wall_seconds if self.wall_seconds else 0.0


async def lookup_load(
    kind: str,
    base_url: str,
    token: str,
    paths: list[str],
    clients: int,
    duration: float,
    on_progress: Callable[[int], None] | None = None,
) -> LookupRun:
    """``clients`` closed loops GETting the given lookup paths until the time or the paths run out."""
    pool = iter(paths)
    outcome = Outcome()
    latencies: list[float] = []

    async with _client(kind, base_url, f"Bearer {token}", clients) as client:

        async def worker(deadline: float) -> None:
            while time.perf_counter() < deadline:
                path = next(pool, None)
                if path is None:
                    return
                began = time.perf_counter()
                try:
                    status, answer = await client.request("GET", path)
                except HttpError as exc:
                    outcome.failed("no answer", str(exc))
                    continue
                latencies.append(time.perf_counter() - began)
                if status != 200:
                    outcome.failed(f"HTTP {status}", answer.decode(errors="replace"))
                    continue
                outcome.ok += 1
                if on_progress is not None:
                    on_progress(1)

        started = time.perf_counter()
        await _bounded([worker(started + duration) for _ in range(clients)], duration + GRACE, outcome)
        wall = time.perf_counter() - started
    return LookupRun(wall_seconds=wall, latencies=latencies, outcome=outcome)
