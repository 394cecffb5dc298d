"""One engine from start to end: fresh database, server, definitions, the phases, cleanup.

Phases on the first server: per load mix a burst of batches (phase 1), the processors' lag right
after it, /v1/track open loop at once (phase 2, while the worker digests the burst) and the time the
worker takes to catch up; then the lag phase (batches at a fixed rate, the lag sampled). On a second
server, after profiles were seeded with the server stopped: profile lookups (phase 3).
"""

from __future__ import annotations

import itertools
import math
import random
import re
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from bench import cpu, definitions, hotspots, http, load, seed
from bench.events import MIXES, Traffic
from bench.report import RESULTS
from bench.server import (
    BenchError,
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
APP_SOURCE_NAME = "bench-app"  # a second channel, so that customers are seen on two
APP_SHARE = 4  # every 4th batch client of phase 1 sends through the app source
BUSY_CORES = 0.25  # other processes' CPU use above which a phase counts as disturbed
FIRST_SECONDS = 10.0  # phase 2's figures are also given for its first seconds after the burst
CATCH_UP_POLL = 0.5  # seconds between looks at the lag while the worker catches up


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
    definitions: str = "demo"  # definitions.KINDS
    mixes: tuple[str, ...] = ("live",)  # events.MIXES, one phase 1 (and 2) each, one after the other
    lag_rate: float = 2_000.0  # events/s of the lag phase (0 skips it)
    lag_interval: float = 0.1  # seconds between samples of the lag
    catch_up_limit: float = 300.0  # seconds to wait at most for the worker to catch up


def _ours(server: Server, target: Target) -> Callable[[], float]:
    """CPU seconds so far of what the benchmark runs: its server and worker, their database
    backends, and itself; not "other" when the machine is checked for quiet."""

    def seconds() -> float:
        tree = sum(cpu.role_seconds(server.pid).values())
        return tree + sum(cpu.backend_seconds(target.database_name).values()) + cpu.own_seconds()

    return seconds


def _quiet(console: Console, opts: Options, ours: Callable[[], float]) -> None:
    """Give other work on the machine (a test run, say) up to ``wait_quiet`` seconds to finish; the
    benchmark's own server, worker and database backends are not waited for."""
    if opts.wait_quiet <= 0:
        return
    busy, waited = cpu.wait_until_quiet(opts.wait_quiet, BUSY_CORES, ours)
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
        self._recordings: dict[str, hotspots.Recording] = {}
        if opts.py_spy:
            RESULTS.mkdir(parents=True, exist_ok=True)
            # the serving process and the worker (not API children of --server-workers)
            pids = {cpu.SERVER: server.pid}
            for worker in cpu.roles(server.pid)[cpu.WORKER][:1]:
                pids[cpu.WORKER] = worker.pid
            for role, pid in pids.items():
                name = f"{engine}-{opts.stamp}-{phase}-{role}-{opts.py_spy}"
                out, run = RESULTS / f"{name}.pyspy.txt", 2
                while out.exists():  # a phase run again because the machine was busy
                    out, run = RESULTS / f"{name}-run{run}.pyspy.txt", run + 1
                self._recordings[role] = hotspots.Recording(pid, out, seconds, opts.py_spy)
        self._tree_cpu = cpu.role_seconds(server.pid)
        self._client_cpu = cpu.own_seconds()
        self._system_cpu = cpu.system_busy_seconds()
        self._backends = cpu.backend_seconds(self._database)
        self._started = time.perf_counter()

    def done(self, result: dict[str, Any], console: Console, title: str) -> None:
        wall = time.perf_counter() - self._started
        tree = cpu.role_seconds(self._server.pid)
        server = (tree[cpu.SERVER] - self._tree_cpu[cpu.SERVER]) / wall
        # a worker restarted during the phase takes its CPU seconds with it: never below 0
        worker = max(0.0, tree[cpu.WORKER] - self._tree_cpu[cpu.WORKER]) / wall
        client = (cpu.own_seconds() - self._client_cpu) / wall
        system = (cpu.system_busy_seconds() - self._system_cpu) / wall
        database = cpu.backend_delta(self._backends, cpu.backend_seconds(self._database)) / wall
        result["server_cores"] = server  # the serving process (and API children)
        result["worker_cores"] = worker  # the omnikanal worker child
        result["client_cores"] = client
        result["database_cores"] = database  # PostgreSQL backends of the benchmark database
        # py-spy and anything else running on the machine (a test run, say)
        result["other_cores"] = max(0.0, system - server - worker - client - database)
        for role, recording in self._recordings.items():
            raw = recording.finish()
            if raw is not None:
                spots = hotspots.analyse(raw)
                key = "hotspots" if role == cpu.SERVER else f"{role}_hotspots"
                result[key] = spots.as_dict() | {"file": raw.name}
                hotspots.print_hotspots(f"{title}, {role} (py-spy, {raw.name})", spots)


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
    console: Console,
    server: Server,
    keys: Sequence[str],
    traffic: Traffic,
    opts: Options,
    target: Target,
    mix: str,
) -> dict[str, Any]:
    # Warm-up: connections, caches, the first profiles of the returning customers. It also measures
    # the rate, so that the timed phase gets enough pre-serialised bodies without wasting memory.
    warm_batches = max(opts.clients * 4, math.ceil(opts.warmup * 40_000 / opts.batch_size))
    warm_bodies = _generate(
        console, "warm-up bodies", warm_batches, lambda: traffic.batch_body(opts.batch_size)
    )
    _quiet(console, opts, _ours(server, target))
    with _timed(console, f"phase 1 warm-up ({mix}) events", opts.warmup) as advance:
        warm = http.run(
            load.batch_load(
                opts.client, server.base_url, keys, warm_bodies, opts.clients, opts.warmup, advance
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
    meter = _Meter(server, opts, target, f"batch-{mix}", opts.duration)
    with _timed(console, f"phase 1 batch throughput, {mix} mix: events", opts.duration) as advance:
        run = http.run(
            load.batch_load(opts.client, server.base_url, keys, bodies, opts.clients, opts.duration, advance)
        )
    ended = time.perf_counter()
    result: dict[str, Any] = {
        "mix": mix,
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
    meter.done(result, console, f"phase 1 ({mix}) hotspots")
    result["ended"] = ended  # perf_counter of the burst's end; taken out before the record is written
    errors = _errors(warm.outcome, f"warm-up {mix}") + _errors(run.outcome, f"batch {mix}")
    expected = run.outcome.ok * opts.batch_size
    if run.accepted != expected:
        errors.append(f"batch {mix}: {expected - run.accepted} events of 200-answered batches not accepted")
    if run.pool_exhausted:
        console.print("[yellow]note:[/yellow] the prepared bodies ran out before the duration ended")
    result["errors"] = errors
    return result


def _phase_track(
    console: Console,
    server: Server,
    key: str,
    bodies: list[bytes],
    opts: Options,
    target: Target,
    mix: str,
    burst_ended: float,
) -> dict[str, Any]:
    """Right after the burst, without waiting for the machine (or the worker) to go quiet."""
    meter = _Meter(server, opts, target, f"track-{mix}", opts.duration)
    started_after = time.perf_counter() - burst_ended
    title = f"phase 2 open-loop /v1/track after the {mix} burst: requests"
    with _timed(console, title, opts.duration) as advance:
        run = http.run(
            load.open_loop(opts.client, server.base_url, key, "/v1/track", bodies, opts.rate, advance)
        )
    result: dict[str, Any] = {
        "mix": mix,
        "rate": opts.rate,
        "planned": run.planned,
        "sent": run.sent,
        "achieved_rate": run.achieved_rate,
        "wall_seconds": run.wall_seconds,
        "started_after_burst_seconds": started_after,
        "max_start_lag_ms": run.max_start_lag * 1000,
        "latency": load.latency_summary(run.latencies),
        "latency_from_schedule": load.latency_summary(run.from_schedule),
        "outcome": run.outcome.as_dict(),
    }
    if opts.duration > FIRST_SECONDS:
        first, first_sched = run.within(FIRST_SECONDS)
        result["first_seconds"] = FIRST_SECONDS
        result["latency_first"] = load.latency_summary(first)
        result["latency_first_from_schedule"] = load.latency_summary(first_sched)
    meter.done(result, console, f"phase 2 ({mix}) hotspots")
    result["errors"] = _errors(run.outcome, f"track {mix}")
    return result


def _lag_now(server: Server, token: str) -> load.LagSample:
    answer = httpx.get(
        f"{server.base_url}/api/operations/log", headers={"Authorization": f"Bearer {token}"}, timeout=30.0
    )
    if answer.status_code != 200:
        raise BenchError(f"GET /api/operations/log answered {answer.status_code}: {answer.text[:300]}")
    return load.lag_sample(answer.content, 0.0)


def _lag_dict(sample: load.LagSample) -> dict[str, Any]:
    return {
        "behind": sample.behind,
        "oldest_seconds": sample.oldest_seconds,
        "processors": {
            name: {"behind": behind, "oldest_seconds": oldest}
            for name, (behind, oldest) in sample.per_processor.items()
        },
    }


def _print_lag(console: Console, title: str, sample: load.LagSample) -> None:
    shown = ", ".join(
        f"{name} {behind:,} behind" + (f" (oldest {oldest:.1f} s)" if oldest is not None else "")
        for name, (behind, oldest) in sample.per_processor.items()
    )
    console.print(f"{title}: {shown or 'no processors'}")


def _catch_up(
    console: Console, server: Server, token: str, limit: float, since: float, first: load.LagSample | None
) -> dict[str, Any]:
    """Look at the lag every CATCH_UP_POLL s until no processor is behind (``limit`` s at most);
    the seconds from ``since`` (a perf_counter) until then, and the peak seen."""
    peak_behind = first.behind if first else 0
    peak_oldest = first.oldest_seconds if first else 0.0
    deadline = time.perf_counter() + limit
    polls = 0
    sample = first
    with Progress(TextColumn("{task.description}"), TimeElapsedColumn(), console=console) as progress:
        task = progress.add_task("waiting for the worker to catch up", total=None)
        while True:
            sample = _lag_now(server, token)
            polls += 1
            peak_behind = max(peak_behind, sample.behind)
            peak_oldest = max(peak_oldest, sample.oldest_seconds)
            progress.update(task, description=f"waiting for the worker to catch up: {sample.behind:,} behind")
            if sample.behind == 0 or time.perf_counter() >= deadline:
                break
            time.sleep(CATCH_UP_POLL)
    done = time.perf_counter()
    result = {
        "caught_up": sample.behind == 0,
        # nothing behind at the first look: caught up at some moment before it, not measured when
        "at_first_look": sample.behind == 0 and polls == 1,
        "seconds": done - since,
        "limit_seconds": limit,
        "peak_behind": peak_behind,
        "peak_oldest_seconds": peak_oldest,
        "polls": polls,
        "last": _lag_dict(sample),
    }
    if not result["caught_up"]:
        _print_lag(console, f"[yellow]not caught up within {limit:.0f} s[/yellow]", sample)
    return result


def _settle(console: Console, server: Server, token: str, opts: Options, wait: bool, phase: str) -> bool:
    """Before a phase: wait for the worker to catch up (``catch_up_limit`` s at most), unless the
    last wait already ran out (``wait`` false), so that a worker that cannot keep up costs the
    limit once per run, not before every phase. Whether nothing is behind as the phase starts."""
    if wait:
        caught = _catch_up(console, server, token, opts.catch_up_limit, time.perf_counter(), None)
        return bool(caught["caught_up"])
    now = _lag_now(server, token)
    if now.behind:
        console.print(
            f"[yellow]note:[/yellow] {phase} starts with {now.behind:,} events behind (oldest "
            f"{now.oldest_seconds:.0f} s): its lag figures include that backlog"
        )
    return now.behind == 0


def _burst(
    console: Console,
    server: Server,
    key: str,
    burst_keys: Sequence[str],
    token: str,
    mix: str,
    opts: Options,
    target: Target,
    wait: bool,
) -> dict[str, Any]:
    """Phase 1 with one mix, the lag right after it, phase 2 at once, then the catch-up."""
    traffic = Traffic.of(MIXES[mix], opts.seed)
    # phase 2's bodies are made now: it starts the moment the burst ends
    track_bodies = _generate(console, "track bodies", int(opts.rate * opts.duration), traffic.track_body)
    settled = _settle(console, server, token, opts, wait, f"phase 1 ({mix})")
    ended = 0.0

    def burst() -> dict[str, Any]:
        nonlocal ended
        result = _phase_batch(console, server, burst_keys, traffic, opts, target, mix)
        ended = result.pop("ended")
        return result

    def settle() -> None:  # a burst run again starts, as the first, with nothing behind
        _catch_up(console, server, token, opts.catch_up_limit, time.perf_counter(), None)

    batch = _least_disturbed(console, opts, f"phase 1 ({mix})", burst, settle)
    after = _lag_now(server, token)
    track = _phase_track(console, server, key, track_bodies, opts, target, mix, ended)
    _print_lag(console, f"lag right after the {mix} burst (sampled)", after)
    caught = _catch_up(console, server, token, opts.catch_up_limit, ended, after)
    state = "caught up" if caught["caught_up"] else "[yellow]not caught up[/yellow]"
    within = "within " if caught["at_first_look"] else ""
    console.print(
        f"{mix}: {state} {within}{caught['seconds']:.1f} s after the burst ended; "
        f"peak behind {caught['peak_behind']:,} (sampled)"
    )
    return {
        "mix": mix,
        "description": MIXES[mix].description,
        "caught_up_before": settled,
        "batch": batch,
        "lag_after_burst": _lag_dict(after),
        "track": track,
        "catch_up": caught,
    }


def _phase_lag(
    console: Console, server: Server, key: str, token: str, opts: Options, target: Target, wait: bool
) -> dict[str, Any]:
    """/v1/batch open loop at ``lag_rate`` events/s (live mix) while the lag is sampled."""
    traffic = Traffic.of(MIXES["live"], opts.seed + 2)
    rate = opts.lag_rate / opts.batch_size
    bodies = _generate(
        console, "lag bodies", max(1, int(rate * opts.duration)), lambda: traffic.batch_body(opts.batch_size)
    )
    settled = _settle(console, server, token, opts, wait, "the lag phase")
    _quiet(console, opts, _ours(server, target))
    meter = _Meter(server, opts, target, "lag", opts.duration)
    title = f"lag phase: /v1/batch at {opts.lag_rate:,.0f} events/s, lag sampled: requests"
    with _timed(console, title, opts.duration) as advance:
        run, samples, sampling = http.run(
            load.lag_load(
                opts.client,
                server.base_url,
                key,
                token,
                bodies,
                rate,
                opts.batch_size,
                opts.lag_interval,
                advance,
            )
        )
    oldest = sorted(s.oldest_seconds for s in samples)
    per: dict[str, dict[str, float]] = {}
    for sample in samples:
        for name, (behind, age) in sample.per_processor.items():
            seen = per.setdefault(name, {"max_behind": 0, "max_oldest_seconds": 0.0})
            seen["max_behind"] = max(seen["max_behind"], behind)
            seen["max_oldest_seconds"] = max(seen["max_oldest_seconds"], age or 0.0)
    gaps = [b.at - a.at for a, b in itertools.pairwise(samples)]
    result: dict[str, Any] = {
        "events_per_second": opts.lag_rate,
        "batch_size": opts.batch_size,
        "achieved_events_per_second": run.achieved_rate * opts.batch_size,
        "wall_seconds": run.wall_seconds,
        "caught_up_before": settled,
        "latency": load.latency_summary(run.latencies),
        "samples": len(samples),
        "sample_interval_seconds": opts.lag_interval,
        "mean_sample_gap_seconds": sum(gaps) / len(gaps) if gaps else None,
        "oldest_p50_seconds": load.percentile(oldest, 50),
        "oldest_p99_seconds": load.percentile(oldest, 99),
        "oldest_max_seconds": oldest[-1] if oldest else 0.0,
        "max_behind": max((s.behind for s in samples), default=0),
        "processors": per,
        "outcome": run.outcome.as_dict(),
        "sampling": sampling.as_dict(),
    }
    meter.done(result, console, "lag phase hotspots")
    result["errors"] = _errors(run.outcome, "lag phase") + _errors(sampling, "lag sampling")
    if not samples:
        result["errors"].append("lag phase: no sample of the lag was taken")
    return result


def _least_disturbed(
    console: Console,
    opts: Options,
    name: str,
    run_phase: Callable[[], dict[str, Any]],
    between: Callable[[], None] | None = None,
) -> dict[str, Any]:
    """Run a phase; while other processes took CPU during it, run it again (``repeat_if_busy``
    times at most, ``between`` before each) and keep the least disturbed run. Errors of every run
    are kept."""
    best: dict[str, Any] | None = None
    errors: list[str] = []
    attempts = 0
    for attempt in range(1, opts.repeat_if_busy + 2):
        attempts = attempt
        if attempt > 1 and between is not None:
            between()
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
    _quiet(console, opts, _ours(server, target))
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


def _serve(
    console: Console, server: Server, samplers: list[RssSampler], times: dict[str, float]
) -> RssSampler:
    began = time.perf_counter()
    server.start()
    took = time.perf_counter() - began
    times["start_seconds"] = max(times.get("start_seconds", 0.0), took)
    console.print(f"server up in {took:.1f} s (answering /health)")
    sampler = RssSampler(server.pid)
    sampler.start()
    samplers.append(sampler)
    return sampler


def _stop(
    console: Console,
    server: Server,
    sampler: RssSampler | None,
    log: dict[str, list[str]],
    times: dict[str, float],
) -> None:
    if sampler is not None:
        sampler.stop()
    began = time.perf_counter()
    server.stop()  # the server stops its worker, which first finishes its round
    took = time.perf_counter() - began
    times["stop_seconds"] = max(times.get("stop_seconds", 0.0), took)
    console.print(f"server and worker stopped in {took:.1f} s")
    for level, lines in server.log_problems().items():
        log.setdefault(level, []).extend(lines)


def run_engine(
    console: Console, engine: str, opts: Options, parent: Path | None, pg_url: str
) -> dict[str, Any]:
    """Every phase on a fresh database of ``engine``; the result record."""
    context = sqlite_target(parent) if engine == "sqlite" else postgres_target(pg_url)
    began = time.perf_counter()
    with context as target:
        console.rule(f"[bold]{engine}[/bold]: {target.description}")
        result: dict[str, Any] = {
            "engine": engine,
            "database": target.description,
            "settings_overrides": settings_overrides(),
        }
        run_cli(target, "migrate")
        key = last_line(run_cli(target, "source", "create", "--name", SOURCE_NAME, "--channel", "web"))
        app = ("source", "create", "--name", APP_SOURCE_NAME, "--channel", "app")
        app_key = last_line(run_cli(target, *app))
        # phase 1's clients: most send as the web shop, every APP_SHARE-th as the app
        burst_keys = [app_key if i % APP_SHARE == APP_SHARE - 1 else key for i in range(opts.clients)]
        token = last_line(run_cli(target, "token", "create", "--name", "bench", "--role", "admin"))
        samplers: list[RssSampler] = []
        server_log: dict[str, list[str]] = {}
        errors: list[str] = []
        times: dict[str, float] = {}

        server = Server(target, "server-1.log", opts.server_workers)
        sampler: RssSampler | None = None
        try:
            sampler = _serve(console, server, samplers, times)
            sampler.phase("definitions")
            made = definitions.create(server.base_url, token, opts.definitions, opts.seed)
            result["definitions"] = {"kind": opts.definitions, "active": made}
            if made:
                console.print(f"definitions active ({opts.definitions}):")
                for line in made:
                    console.print(f"  - {line}")
            else:
                console.print("definitions: none (--definitions none): the processors have nothing to do")
            result["mixes"] = {}
            wait = True  # for the worker before a phase, until a catch-up ran out of time
            for mix in opts.mixes:
                sampler.phase(f"burst {mix}")
                run = _burst(console, server, key, burst_keys, token, mix, opts, target, wait)
                result["mixes"][mix] = run
                wait = wait and run["catch_up"]["caught_up"]
            if opts.lag_rate > 0:
                sampler.phase("lag")
                result["lag"] = _phase_lag(console, server, key, token, opts, target, wait)
            if made:
                result["definitions"]["effects"] = definitions.effects(server.base_url, token)
        finally:
            _stop(console, server, sampler, server_log, times)

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
                sampler = _serve(console, server, samplers, times)
                sampler.phase("lookup")
                result["lookup"] = _least_disturbed(
                    console, opts, "phase 3", lambda: _phase_lookup(console, server, token, opts, target)
                )
            finally:
                _stop(console, server, sampler, server_log, times)

        result["memory"] = _memory(samplers)
        for mix in result["mixes"].values():
            errors.extend(mix["batch"]["errors"] + mix["track"]["errors"])
        for phase in ("lag", "lookup"):
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
        times["total_seconds"] = time.perf_counter() - began
        result["times"] = times
        return result


def _memory(samplers: list[RssSampler]) -> dict[str, Any]:
    """Peaks over every server started: the tree's sum, and per role (server, worker)."""
    mb = 2**20
    phase_peaks: dict[str, float] = {}
    roles: dict[str, dict[str, Any]] = {}
    for s in samplers:
        for phase, peak in s.phase_peaks.items():
            phase_peaks[phase] = max(phase_peaks.get(phase, 0.0), peak / mb)
        for role, peak in s.role_peaks.items():
            seen = roles.setdefault(role, {"peak_mb": 0.0, "peak_anon_mb": 0.0, "phase_peaks_mb": {}})
            seen["peak_mb"] = max(seen["peak_mb"], peak / mb)
            seen["peak_anon_mb"] = max(seen["peak_anon_mb"], s.role_anon_peaks.get(role, 0) / mb)
            for phase, value in s.role_phase_peaks.get(role, {}).items():
                seen["phase_peaks_mb"][phase] = max(seen["phase_peaks_mb"].get(phase, 0.0), value / mb)
    return {
        "peak_mb": max((s.peak_bytes for s in samplers), default=0) / mb,
        "peak_anon_mb": max((s.peak_anon_bytes for s in samplers), default=0) / mb,
        "phase_peaks_mb": phase_peaks,
        "roles": roles,
        "samples": sum(s.samples for s in samplers),
    }


def _distinct(lines: list[str], keep: int = 5) -> list[str]:
    """The most frequent different messages (timestamps and numbers taken out), with counts."""
    counts: dict[str, int] = {}
    for line in lines:
        message = line.split(" ", 2)[-1].split("\\n", 1)[0]  # up to the first (escaped) newline
        message = re.sub(r"\d+", "N", re.sub(r"0x[0-9a-fA-F]+|omnikanal_bench_\w+", "…", message))
        counts[message] = counts.get(message, 0) + 1
    ranked = sorted(counts.items(), key=lambda item: -item[1])[:keep]
    return [f"{n} x {message[:300]}" for message, n in ranked]
