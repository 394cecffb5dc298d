"""The machine, the summary table with the targets, and the JSON record in bench/results/."""

from __future__ import annotations

import os
import platform
import sqlite3
import subprocess
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
import psutil
from rich.console import Console
from rich.table import Table

RESULTS = Path(__file__).parent / "results"

# From the issue; they are set for SQLite (the one-machine default). PostgreSQL has none yet.
TARGETS: dict[str, dict[str, tuple[str, float]]] = {
    "sqlite": {
        "batch_events_per_second": (">=", 20_000),
        "track_p99_ms": ("<=", 10),
        "lookup_p99_ms": ("<=", 5),
        "peak_rss_mb": ("<=", 300),
    }
}


def machine() -> dict[str, Any]:
    model = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "cpu_model": model,
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "sqlite": sqlite3.sqlite_version,
        "commit": _git_commit(),
    }


def _git_commit() -> str | None:
    try:
        root = Path(__file__).resolve().parent.parent
        head = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no", "src"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
        return f"{head}{' + uncommitted changes in src/' if dirty else ''}"
    except (OSError, subprocess.SubprocessError):
        return None


def describe_machine(info: dict[str, Any]) -> str:
    return (
        f"{info['cpus']} CPUs ({info['cpu_model']}), {info['memory_gb']} GB RAM, Python {info['python']}, "
        f"SQLite {info['sqlite']}, {info['platform']}, commit {info['commit'] or '?'}"
    )


def _verdict(engine: str, key: str, value: float | None) -> tuple[str, str]:
    target = TARGETS.get(engine, {}).get(key)
    if target is None or value is None:
        return "-", ""
    op, limit = target
    met = value >= limit if op == ">=" else value <= limit
    shown = f"{op} {limit:,.0f}" if limit >= 100 else f"{op} {limit:g}"
    return shown, "[green]met[/green]" if met else "[red]missed[/red]"


def _ms(value: float) -> str:
    return f"{value:.1f}" if value >= 10 else f"{value:.2f}"


def _cores(phase: dict[str, Any]) -> str:
    db = f"{phase['database_cores']:.2f}" if phase.get("database_cores") else "-"
    other = phase["other_cores"]
    shown = f"[red]{other:.2f}[/red]" if other > 0.25 else f"{other:.2f}"
    runs = phase.get("runs", 1)
    note = f" (best of {runs} runs)" if runs > 1 else ""
    return f"{phase['server_cores']:.2f} / {phase['client_cores']:.2f} / {db} / {shown}{note}"


def print_summary(console: Console, result: dict[str, Any]) -> None:
    engine = result["engine"]
    table = Table(title=f"Omnikanal on {engine}: {result['database']}", title_justify="left")
    table.add_column("phase")
    table.add_column("figure")
    table.add_column("value", justify="right")
    table.add_column("target", justify="right")
    table.add_column("")

    def row(phase: str, figure: str, value: str, key: str | None = None, raw: float | None = None) -> None:
        target, verdict = _verdict(engine, key, raw) if key else ("", "")
        table.add_row(phase, figure, value, target, verdict)

    batch = result.get("batch")
    if batch:
        row(
            "1 batch",
            f"events/s ({batch['clients']} clients x {batch['batch_size']}-event batches)",
            f"{batch['events_per_second']:,.0f}",
            "batch_events_per_second",
            batch["events_per_second"],
        )
        lat = batch["latency"]
        row(
            "",
            "request p50 / p95 / p99 ms",
            f"{_ms(lat['p50_ms'])} / {_ms(lat['p95_ms'])} / {_ms(lat['p99_ms'])}",
        )
        row(
            "",
            "accepted events, requests, wall s",
            f"{batch['accepted']:,}, {batch['requests']:,}, {batch['wall_seconds']:.1f}",
        )
        row("", "CPU cores busy: server / bench / db / other", _cores(batch))
    track = result.get("track")
    if track:
        lat = track["latency"]
        row(
            "2 track",
            f"open loop at {track['rate']:.0f} req/s: achieved req/s",
            f"{track['achieved_rate']:.1f}",
        )
        row("", "p50 / p95 ms", f"{_ms(lat['p50_ms'])} / {_ms(lat['p95_ms'])}")
        row("", "p99 ms", _ms(lat["p99_ms"]), "track_p99_ms", lat["p99_ms"])
        row("", "max ms", _ms(lat["max_ms"]))
        sched = track["latency_from_schedule"]
        row("", "p99 / max ms counted from the due time", f"{_ms(sched['p99_ms'])} / {_ms(sched['max_ms'])}")
        row("", "CPU cores busy: server / bench / db / other", _cores(track))
    seed = result.get("seed")
    if seed:
        row(
            "3 seed",
            f"{seed['profiles']:,} profiles + {seed['identities']:,} identities",
            f"{seed['seconds']:.1f} s ({seed['profiles_per_second']:,.0f} profiles/s)",
        )
    lookup = result.get("lookup")
    if lookup:
        lat = lookup["latency"]
        row(
            "3 lookup",
            f"{lookup['clients']} clients, closed loop: req/s",
            f"{lookup['requests_per_second']:,.0f}",
        )
        row("", "p50 ms", _ms(lat["p50_ms"]))
        row("", "p99 ms", _ms(lat["p99_ms"]), "lookup_p99_ms", lat["p99_ms"])
        row("", "p95 / max ms", f"{_ms(lat['p95_ms'])} / {_ms(lat['max_ms'])}")
        row("", "CPU cores busy: server / bench / db / other", _cores(lookup))
    memory = result.get("memory")
    if memory:
        row("all", "server peak RSS MB", f"{memory['peak_mb']:.0f}", "peak_rss_mb", memory["peak_mb"])
        row("", "peak anonymous memory (heap, no file maps) MB", f"{memory.get('peak_anon_mb', 0):.0f}")
        per_phase = ", ".join(f"{k} {v:.0f}" for k, v in memory["phase_peaks_mb"].items())
        row("", "peak RSS MB per phase", per_phase)
    errors = result.get("errors") or []
    console.print(table)
    retries = result.get("transaction_retries") or {}
    if retries.get("count"):
        console.print(f"[yellow]server log: {retries['count']} transaction retries[/yellow]")
        for line in retries["distinct"]:
            console.print(f"  - {line}")
    warnings = result.get("server_warnings") or {}
    if warnings.get("count"):
        console.print(f"[yellow]server log: {warnings['count']} warnings[/yellow]")
        for line in warnings["distinct"]:
            console.print(f"  - {line}")
    busy = max((result.get(p) or {}).get("other_cores", 0.0) for p in ("batch", "track", "lookup"))
    if busy > 0.25:
        console.print(
            f"[yellow]note:[/yellow] other processes kept up to {busy:.2f} cores busy during a phase; "
            "those figures understate the server (see 'other' above)"
        )
    if errors:
        console.print("[red]errors:[/red]")
        for error in errors:
            console.print(f"  - {error}")
    else:
        console.print("no errors: every response was 200 and every event accepted")


def stamp() -> str:
    return datetime.now().strftime("%Y%m%dT%H%M%S")


def write_json(result: dict[str, Any], when: str) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{result['engine']}-{when}.json"
    path.write_bytes(orjson.dumps(result, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS))
    return path
