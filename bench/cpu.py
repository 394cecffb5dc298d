"""CPU accounting: the server, its worker, the benchmark itself, and whatever else runs on the machine.

The figures are only as good as the machine is quiet: on a shared machine other processes (a test
run, say) take CPU from the server, so each phase reports how many cores they kept busy.

``omnikanal serve`` starts ``omnikanal worker`` as a child process (the event-log processors,
dispatcher, timers and jobs); with ``--workers N`` uvicorn adds API processes as children too. The
process tree is split by role: the worker child and its descendants are "worker", the rest "server".
"""

from __future__ import annotations

import resource
import time
from collections.abc import Callable
from contextlib import suppress

import psutil

SERVER, WORKER = "server", "worker"
# A child the worker starts for one scheduled job (``omnikanal run-job``, see omnikanal/child_jobs.py):
# its CPU counts to the worker; its memory is a process of its own and is shown apart.
JOB = "worker job"


def is_worker(proc: psutil.Process) -> bool:
    """The ``omnikanal worker`` child (``python -m omnikanal worker --parent N``)."""
    with suppress(psutil.Error):
        args = proc.cmdline()
        return any(a == "worker" and i > 0 and args[i - 1].endswith("omnikanal") for i, a in enumerate(args))
    return False


def is_job(proc: psutil.Process) -> bool:
    with suppress(psutil.Error):
        return "run-job" in proc.cmdline()
    return False


def memory_roles(pid: int) -> dict[str, list[psutil.Process]]:
    """As ``roles``, with the worker's job children in a role of their own."""
    found = roles(pid)
    jobs = [proc for proc in found[WORKER] if is_job(proc)]
    found[WORKER] = [proc for proc in found[WORKER] if proc not in jobs]
    found[JOB] = jobs
    return found


def roles(pid: int) -> dict[str, list[psutil.Process]]:
    """The processes of the server's tree by role: ``server`` (the serving process and API children)
    and ``worker`` (worker children and their descendants)."""
    found: dict[str, list[psutil.Process]] = {SERVER: [], WORKER: []}
    try:
        root = psutil.Process(pid)
    except psutil.Error:
        return found
    found[SERVER].append(root)
    workers: set[int] = set()
    with suppress(psutil.Error):
        for child in root.children(recursive=True):
            with suppress(psutil.Error):
                if is_worker(child) or child.ppid() in workers:
                    workers.add(child.pid)
                    found[WORKER].append(child)
                else:
                    found[SERVER].append(child)
    return found


def role_seconds(pid: int) -> dict[str, float]:
    """User plus system CPU time so far of the server's tree, by role (see ``roles``)."""
    out = {SERVER: 0.0, WORKER: 0.0}
    for role, procs in roles(pid).items():
        for proc in procs:
            with suppress(psutil.Error):
                out[role] += float(sum(proc.cpu_times()[:2]))
    return out


def process_seconds(pid: int) -> float:
    """User plus system CPU time of a process and its children so far."""
    return sum(role_seconds(pid).values())


def own_seconds() -> float:
    """CPU time of this benchmark process (all its threads)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def system_busy_seconds() -> float:
    """CPU seconds the whole machine spent not idle, summed over its CPUs."""
    times = psutil.cpu_times()
    idle = times.idle + getattr(times, "iowait", 0.0)
    return float(sum(times) - idle - getattr(times, "guest", 0.0) - getattr(times, "guest_nice", 0.0))


def busy_cores(seconds: float = 1.0, ours: Callable[[], float] | None = None) -> float:
    """How many cores the machine keeps busy, measured over ``seconds``, not counting the CPU
    seconds ``ours`` reports (the benchmark's own server, worker and database backends)."""
    mine = ours or (lambda: 0.0)
    before, own, started = system_busy_seconds(), mine(), time.perf_counter()
    time.sleep(seconds)
    busy = (system_busy_seconds() - before) - (mine() - own)
    return max(0.0, busy) / (time.perf_counter() - started)


def wait_until_quiet(
    max_wait: float, threshold: float = 0.25, ours: Callable[[], float] | None = None
) -> tuple[float, float]:
    """Wait (at most ``max_wait`` s) until other work keeps under ``threshold`` cores busy; the
    benchmark's own processes (``ours``: a worker still catching up, say) do not count.

    Returns the busy cores last measured and the seconds waited.
    """
    started = time.monotonic()
    busy = busy_cores(ours=ours)
    while busy > threshold and time.monotonic() - started < max_wait:
        busy = busy_cores(ours=ours)
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
