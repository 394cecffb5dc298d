"""CPU accounting: the server, the benchmark itself, and whatever else runs on the machine.

The figures are only as good as the machine is quiet: on a shared machine other processes (a test
run, say) take CPU from the server, so each phase reports how many cores they kept busy.
"""

from __future__ import annotations

import resource
import time
from contextlib import suppress

import psutil


def process_seconds(pid: int) -> float:
    """User plus system CPU time of a process and its children so far."""
    try:
        proc = psutil.Process(pid)
        total = sum(proc.cpu_times()[:2])
        for child in proc.children(recursive=True):
            with suppress(psutil.Error):
                total += sum(child.cpu_times()[:2])
        return float(total)
    except psutil.Error:
        return 0.0


def own_seconds() -> float:
    """CPU time of this benchmark process (all its threads)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def system_busy_seconds() -> float:
    """CPU seconds the whole machine spent not idle, summed over its CPUs."""
    times = psutil.cpu_times()
    idle = times.idle + getattr(times, "iowait", 0.0)
    return float(sum(times) - idle - getattr(times, "guest", 0.0) - getattr(times, "guest_nice", 0.0))


def busy_cores(seconds: float = 1.0) -> float:
    """How many cores the machine keeps busy, measured over ``seconds``."""
    before, started = system_busy_seconds(), time.perf_counter()
    time.sleep(seconds)
    return (system_busy_seconds() - before) / (time.perf_counter() - started)


def wait_until_quiet(max_wait: float, threshold: float = 0.25) -> tuple[float, float]:
    """Wait (at most ``max_wait`` s) until other work keeps under ``threshold`` cores busy.

    Returns the busy cores last measured and the seconds waited.
    """
    started = time.monotonic()
    busy = busy_cores()
    while busy > threshold and time.monotonic() - started < max_wait:
        busy = busy_cores()
    return busy, time.monotonic() - started


def backend_seconds(database: str | None) -> dict[int, float]:
    """CPU seconds per PostgreSQL backend serving ``database`` (found by its process title)."""
    found: dict[int, float] = {}
    if not database:
        return found
    for proc in psutil.process_iter(["cmdline"]):
        with suppress(psutil.Error):
            title = " ".join(proc.info["cmdline"] or ())
            if title.startswith("postgres:") and f" {database} " in f"{title} ":
                found[proc.pid] = float(sum(proc.cpu_times()[:2]))
    return found


def backend_delta(before: dict[int, float], after: dict[int, float]) -> float:
    return sum(max(0.0, seconds - before.get(pid, 0.0)) for pid, seconds in after.items())
