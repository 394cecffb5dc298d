"""One engine from start to end: fresh database, server, the three phases, cleanup."""

from __future__ import annotations

import math
import random
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from bench import cpu, hotspots, http, load, seed
from bench.events import Traffic
from bench.report import RESULTS
from bench.server import (
    RssSampler,
    Server,
    Target,
    last_line,
    postgres_target,
    run_cli,
    settings_overrides,
    sqlite_target,
)

MAX_POOL_EVENTS = 600_000  # bodies kept in memory for phase 1, whatever the warm-up measured
MAX_LOOKUPS_PER_SECOND = 10_000  # bound of phase 3's request list (far above what 4 clients reach)
SOURCE_NAME = "bench"
BUSY_CORES = 0.25  # other processes' CPU use above which a phase counts as disturbed


@dataclass(frozen=True)
class Options:
    duration: float
    warmup: float
    profiles: int
    clients: int
    batch_size: int
    rate: float
    lookup_clients: int
    seed: int
    py_spy: str | None  # None, or the py-spy mode: cpu, gil or native
    wait_quiet: float
    repeat_if_busy: int
    client: str
    server_workers: int | None
    stamp: str


def _quiet(console: Console, opts: Options) -> None:
    """Give other work on the machine (a test run, say) up to ``wait_quiet`` seconds to finish."""
    if opts.wait_quiet <= 0:
        return
    busy, waited = cpu.wait_until_quiet(opts.wait_quiet, BUSY_CORES)
    if busy > BUSY_CORES:
        console.print(
            f"[yellow]note:[/yellow] other processes keep {busy:.2f} cores busy "
            f"(waited {waited:.0f} s); the figures of the next phase suffer from it"
        )
    elif waited > 1.5:
        console.print(f"waited {waited:.0f} s for the machine to become quiet")


class _Meter:
    """Server and benchmark CPU seconds over a phase, and optionally a py-spy recording of it."""

    def __init__(self, server: Server, opts: Options, target: Target, phase: str, seconds: float) -> None:
        self._server = server
        self._database = target.database_name
        engine = target.engine
        self._recording: hotspots.Recording | None = None
        if opts.py_spy:
            RESULTS.mkdir(parents=True, exist_ok=True)
            out = RESULTS / f"{engine}-{opts.stamp}-{phase}-{opts.py_spy}.pyspy.txt"
            run = 2
            while out.exists():  # a phase run again because the machine was busy
                out = RESULTS / f"{engine}-{opts.stamp}-{phase}-{opts.py_spy}-run{run}.pyspy.txt"
                run += 1
            self._recording = hotspots.Recording(server.pid, out, seconds, opts.py_spy)
        self._server_cpu = cpu.process_seconds(server.pid)
        self._client_cpu = cpu.own_seconds()
        self._system_cpu = cpu.system_busy_seconds()
        self._backends = cpu.backend_seconds(self._database)
        self._started = time.perf_counter()

    def done(self, result: dict[str, Any], console: Console, title: str) -> None:
        wall = time.perf_counter() - self._started
        server = (cpu.process_seconds(self._server.pid) - self._server_cpu) / wall
        client = (cpu.own_seconds() - self._client_cpu) / wall
        system = (cpu.system_busy_seconds() - self._system_cpu) / wall
        database = cpu.backend_delta(self._backends, cpu.backend_seconds(self._database)) / wall
        result["server_cores"] = server
        result["client_cores"] = client
        result["database_cores"] = database  # PostgreSQL backends of the benchmark database
        # py-spy and anything else running on the machine (a test run, say)
        result["other_cores"] = max(0.0, system - server - client - database)
        if self._recording is not None:
            raw = self._recording.finish()
            if raw is not None:
                spots = hotspots.analyse(raw)
                result["hotspots"] = spots.as_dict() | {"file": raw.name}
                hotspots.print_hotspots(f"{title} (py-spy, {raw.name})", spots)


@contextmanager
def _timed(console: Console, description: str, seconds: float) -> Iterator[Callable[[int], None]]:
    """A progress bar over the phase's duration; the callback counts what was done."""
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[count]:,} {task.fields[unit]}"),
        console=console,
        refresh_per_second=2,
    ) as progress:
        unit = description.rsplit(" ", 1)[-1]
        task = progress.add_task(description.rsplit(" ", 1)[0], total=seconds, count=0, unit=unit)
        started = time.perf_counter()
        count = 0

        def advance(n: int) -> None:
            nonlocal count
            count += n
            progress.update(task, completed=min(seconds, time.perf_counter() - started), count=count)

        yield advance
        progress.update(task, completed=seconds, count=count)


def _generate(console: Console, description: str, count: int, make: Callable[[], bytes]) -> list[bytes]:
    with Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), console=console
    ) as progress:
        task = progress.add_task(description, total=count)
        bodies = []
        for n in range(count):
            bodies.append(make())
            if n % 100 == 0:
                progress.update(task, completed=n)
        progress.update(task, completed=count)
    return bodies


def _errors(outcome: load.Outcome, phase: str) -> list[str]:
    found = [f"{phase}: {n} x {kind}" for kind, n in outcome.errors.items()]
    if outcome.first_error and found:
        found.append(f"{phase}: first: {outcome.first_error}")
    return found


def _phase_batch(
    console: Console, server: Server, key: str, traffic: Traffic, opts: Options, target: Target
) -> dict[str, Any]:
    # Warm-up: connections, caches, the first profiles of the returning customers. It also measures
    # the rate, so that the timed phase gets enough pre-serialised bodies without wasting memory.
    warm_batches = max(opts.clients * 4, math.ceil(opts.warmup * 40_000 / opts.batch_size))
    warm_bodies = _generate(
        console, "warm-up bodies", warm_batches, lambda: traffic.batch_body(opts.batch_size)
    )
    _quiet(console, opts)
    with _timed(console, "phase 1 warm-up events", opts.warmup) as advance:
        warm = http.run(
            load.batch_load(
                opts.client, server.base_url, key, warm_bodies, opts.clients, opts.warmup, advance
            )
        )
    del warm_bodies
    needed = warm.events_per_second * opts.duration * 1.5 / opts.batch_size + opts.clients * 4
    pool_size = int(min(max(needed, opts.clients * 4), MAX_POOL_EVENTS / opts.batch_size))
    console.print(
        f"warm-up: {warm.events_per_second:,.0f} events/s; {pool_size:,} batches of {opts.batch_size} "
        "prepared for the timed run"
    )
    bodies = _generate(console, "batch bodies", pool_size, lambda: traffic.batch_body(opts.batch_size))
    meter = _Meter(server, opts, target, "batch", opts.duration)
    with _timed(console, "phase 1 batch throughput events", opts.duration) as advance:
        run = http.run(
            load.batch_load(opts.client, server.base_url, key, bodies, opts.clients, opts.duration, advance)
        )
    result: dict[str, Any] = {
        "clients": opts.clients,
        "batch_size": opts.batch_size,
        "events_per_second": run.events_per_second,
        "accepted": run.accepted,
        "duplicates": run.duplicates,
        "quarantined": run.quarantined,
        "requests": run.requests,
        "wall_seconds": run.wall_seconds,
        "pool_exhausted": run.pool_exhausted,
        "warmup_events_per_second": warm.events_per_second,
        "latency": load.latency_summary(run.latencies),
        "outcome": run.outcome.as_dict(),
    }
    meter.done(result, console, "phase 1 hotspots")
    errors = _errors(warm.outcome, "warm-up") + _errors(run.outcome, "batch")
    expected = run.outcome.ok * opts.batch_size
    if run.accepted != expected:
        errors.append(f"batch: {expected - run.accepted} events of 200-answered batches not accepted")
    if run.pool_exhausted:
        console.print("[yellow]note:[/yellow] the prepared bodies ran out before the duration ended")
    result["errors"] = errors
    return result


def _phase_track(
    console: Console, server: Server, key: str, traffic: Traffic, opts: Options, target: Target
) -> dict[str, Any]:
    count = int(opts.rate * opts.duration)
    bodies = _generate(console, "track bodies", count, traffic.track_body)
    _quiet(console, opts)
    meter = _Meter(server, opts, target, "track", opts.duration)
    with _timed(console, "phase 2 open-loop /v1/track requests", opts.duration) as advance:
        run = http.run(
            load.open_loop(opts.client, server.base_url, key, "/v1/track", bodies, opts.rate, advance)
        )
    result: dict[str, Any] = {
        "rate": opts.rate,
        "planned": run.planned,
        "sent": run.sent,
        "achieved_rate": run.achieved_rate,
        "wall_seconds": run.wall_seconds,
        "max_start_lag_ms": run.max_start_lag * 1000,
        "latency": load.latency_summary(run.latencies),
        "latency_from_schedule": load.latency_summary(run.from_schedule),
        "outcome": run.outcome.as_dict(),
    }
    meter.done(result, console, "phase 2 hotspots")
    result["errors"] = _errors(run.outcome, "track")
    return result


def _least_disturbed(
    console: Console, opts: Options, name: str, run_phase: Callable[[], dict[str, Any]]
) -> dict[str, Any]:
    """Run a phase; while other processes took CPU during it, run it again (``repeat_if_busy``
    times at most) and keep the least disturbed run. Errors of every run are kept."""
    best: dict[str, Any] | None = None
    errors: list[str] = []
    attempts = 0
    for attempt in range(1, opts.repeat_if_busy + 2):
        attempts = attempt
        result = run_phase()
        errors.extend(f"{e} (run {attempt})" if attempt > 1 else e for e in result["errors"])
        if best is None or result["other_cores"] < best["other_cores"]:
            best = result
        if result["other_cores"] <= BUSY_CORES or attempt > opts.repeat_if_busy:
            break
        console.print(
            f"[yellow]note:[/yellow] other processes kept {result['other_cores']:.2f} cores busy "
            f"during {name}; running it again ({attempt}/{opts.repeat_if_busy})"
        )
    assert best is not None
    best["errors"] = errors
    best["runs"] = attempts
    return best


def _lookup_paths(rng: random.Random, profiles: int, count: int) -> list[str]:
    emails = (seed.seeded_email(rng.randrange(profiles)) for _ in range(count))
    return [f"/api/profiles/lookup?type=email&value={email.replace('@', '%40')}" for email in emails]


def _phase_lookup(
    console: Console, server: Server, token: str, opts: Options, target: Target
) -> dict[str, Any]:
    rng = random.Random(opts.seed + 1)
    warm_paths = _lookup_paths(rng, opts.profiles, int(opts.warmup * MAX_LOOKUPS_PER_SECOND))
    _quiet(console, opts)
    with _timed(console, "phase 3 warm-up lookups", opts.warmup) as advance:
        warm = http.run(
            load.lookup_load(
                opts.client, server.base_url, token, warm_paths, opts.lookup_clients, opts.warmup, advance
            )
        )
    paths = _lookup_paths(rng, opts.profiles, int(opts.duration * MAX_LOOKUPS_PER_SECOND))
    meter = _Meter(server, opts, target, "lookup", opts.duration)
    with _timed(console, "phase 3 profile lookup lookups", opts.duration) as advance:
        run = http.run(
            load.lookup_load(
                opts.client, server.base_url, token, paths, opts.lookup_clients, opts.duration, advance
            )
        )
    result: dict[str, Any] = {
        "clients": opts.lookup_clients,
        "profiles": opts.profiles,
        "requests": len(run.latencies),
        "requests_per_second": run.requests_per_second,
        "wall_seconds": run.wall_seconds,
        "latency": load.latency_summary(run.latencies),
        "outcome": run.outcome.as_dict(),
    }
    meter.done(result, console, "phase 3 hotspots")
    result["errors"] = _errors(warm.outcome, "lookup warm-up") + _errors(run.outcome, "lookup")
    return result


def _seed(console: Console, target: Target, opts: Options) -> seed.SeedResult:
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    ) as progress:
        task = progress.add_task(f"seeding profiles into {target.engine}", total=opts.profiles)
        result = seed.seed_profiles(
            target.url, opts.profiles, SOURCE_NAME, lambda n: progress.advance(task, n)
        )
    console.print(
        f"seeded {result.profiles:,} profiles and {result.identities:,} identities in {result.seconds:.1f} s "
        f"({result.profiles_per_second:,.0f} profiles/s)"
    )
    return result


def _serve(server: Server, samplers: list[RssSampler]) -> RssSampler:
    server.start()
    sampler = RssSampler(server.pid)
    sampler.start()
    samplers.append(sampler)
    return sampler


def _stop(server: Server, sampler: RssSampler | None, log: dict[str, list[str]]) -> None:
    if sampler is not None:
        sampler.stop()
    server.stop()
    for level, lines in server.log_problems().items():
        log.setdefault(level, []).extend(lines)


def run_engine(
    console: Console, engine: str, opts: Options, parent: Path | None, pg_url: str
) -> dict[str, Any]:
    """Every phase on a fresh database of ``engine``; the result record."""
    context = sqlite_target(parent) if engine == "sqlite" else postgres_target(pg_url)
    with context as target:
        console.rule(f"[bold]{engine}[/bold]: {target.description}")
        result: dict[str, Any] = {
            "engine": engine,
            "database": target.description,
            "settings_overrides": settings_overrides(),
        }
        run_cli(target, "migrate")
        key = last_line(run_cli(target, "source", "create", "--name", SOURCE_NAME, "--channel", "web"))
        token = last_line(run_cli(target, "token", "create", "--name", "bench", "--role", "admin"))
        traffic = Traffic(seed=opts.seed)
        samplers: list[RssSampler] = []
        server_log: dict[str, list[str]] = {}
        errors: list[str] = []

        server = Server(target, "server-1.log", opts.server_workers)
        sampler: RssSampler | None = None
        try:
            sampler = _serve(server, samplers)
            sampler.phase("batch")
            result["batch"] = _least_disturbed(
                console, opts, "phase 1", lambda: _phase_batch(console, server, key, traffic, opts, target)
            )
            sampler.phase("track")
            result["track"] = _least_disturbed(
                console, opts, "phase 2", lambda: _phase_track(console, server, key, traffic, opts, target)
            )
        finally:
            _stop(server, sampler, server_log)

        if opts.profiles > 0:
            seeded = _seed(console, target, opts)
            result["seed"] = {
                "profiles": seeded.profiles,
                "identities": seeded.identities,
                "seconds": seeded.seconds,
                "profiles_per_second": seeded.profiles_per_second,
            }
            server = Server(target, "server-2.log", opts.server_workers)
            sampler = None
            try:
                sampler = _serve(server, samplers)
                sampler.phase("lookup")
                result["lookup"] = _least_disturbed(
                    console, opts, "phase 3", lambda: _phase_lookup(console, server, token, opts, target)
                )
            finally:
                _stop(server, sampler, server_log)

        phase_peaks: dict[str, float] = {}
        for s in samplers:
            for phase, peak in s.phase_peaks.items():
                phase_peaks[phase] = max(phase_peaks.get(phase, 0.0), peak / 2**20)
        result["memory"] = {
            "peak_mb": max((s.peak_bytes for s in samplers), default=0) / 2**20,
            "peak_anon_mb": max((s.peak_anon_bytes for s in samplers), default=0) / 2**20,
            "phase_peaks_mb": phase_peaks,
            "samples": sum(s.samples for s in samplers),
        }
        for phase in ("batch", "track", "lookup"):
            errors.extend(result.get(phase, {}).get("errors", []))
        for level in ("ERROR", "CRITICAL"):
            lines = server_log.pop(level, [])
            if lines:
                errors.append(f"server log: {len(lines)} {level} lines, first: {lines[0][:400]}")
        result["transaction_retries"] = {
            "count": len(server_log.get("RETRY", [])),
            "distinct": _distinct(server_log.get("RETRY", [])),
        }
        result["server_warnings"] = {
            "count": len(server_log.get("WARNING", [])),
            "distinct": _distinct(server_log.get("WARNING", [])),
        }
        result["errors"] = errors
        return result


def _distinct(lines: list[str], keep: int = 5) -> list[str]:
    """The most frequent different messages (timestamps and numbers taken out), with counts."""
    counts: dict[str, int] = {}
    for line in lines:
        message = line.split(" ", 2)[-1].split("\\n", 1)[0]  # up to the first (escaped) newline
        message = re.sub(r"\d+", "N", re.sub(r"0x[0-9a-fA-F]+|omnikanal_bench_\w+", "…", message))
        counts[message] = counts.get(message, 0) + 1
    ranked = sorted(counts.items(), key=lambda item: -item[1])[:keep]
    return [f"{n} x {message[:300]}" for message, n in ranked]
