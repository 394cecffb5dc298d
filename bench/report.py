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

# From the issues (13: the spine under load); they are set for SQLite (the one-machine default, the
# processors on with the demo's definitions). PostgreSQL has none yet.
TARGETS: dict[str, dict[str, tuple[str, float]]] = {
    "sqlite": {
        "batch_live_events_per_second": (">=", 20_000),
        "batch_history_events_per_second": (">=", 12_000),
        "track_p99_ms": ("<=", 15),  # also in the first 10 s after a 15 s burst
        "lag_p99_seconds": ("<=", 1),  # at 2,000 events/s
        "lookup_p99_ms": ("<=", 5),
        "server_rss_mb": ("<=", 300),
        "worker_rss_mb": ("<=", 300),
        "worker_job_rss_mb": ("<=", 300),
    }
}
LAG_TARGET_RATE = 2_000.0  # events/s at which the lag target is set


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


CORES = "CPU cores busy: server / worker / bench / db / other"


def _cores(phase: dict[str, Any]) -> str:
    db = f"{phase['database_cores']:.2f}" if phase.get("database_cores") else "-"
    other = phase["other_cores"]
    shown = f"[red]{other:.2f}[/red]" if other > 0.25 else f"{other:.2f}"
    runs = phase.get("runs", 1)
    note = f" (best of {runs} runs)" if runs > 1 else ""
    return (
        f"{phase['server_cores']:.2f} / {phase.get('worker_cores', 0.0):.2f} / {phase['client_cores']:.2f} / "
        f"{db} / {shown}{note}"
    )


def _age(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds:.1f} s"


def _lag_line(lag: dict[str, Any]) -> str:
    """'segments 1,234 (12.0 s), journeys 0 (-)': behind and the oldest waiting event's age."""
    parts = [f"{name} {p['behind']:,} ({_age(p['oldest_seconds'])})" for name, p in lag["processors"].items()]
    return ", ".join(parts) or "-"


def _phases(result: dict[str, Any]) -> list[dict[str, Any]]:
    """Every timed phase's record (for the 'other processes were busy' note)."""
    found = [m[k] for m in (result.get("mixes") or {}).values() for k in ("batch", "track")]
    return found + [result[k] for k in ("lag", "lookup") if result.get(k)]


def print_summary(console: Console, result: dict[str, Any]) -> None:
    engine = result["engine"]
    table = Table(title=f"Omnikanal on {engine}: {result['database']}", title_justify="left")
    table.add_column("phase")
    table.add_column("figure")
    table.add_column("value", justify="right")
    table.add_column("target", justify="right")
    table.add_column("")

    defined = result.get("definitions") or {}
    if defined:
        active = defined.get("active") or []
        console.print(f"definitions ({defined.get('kind')}): {len(active)} active" + (": " if active else ""))
        for line in active:
            console.print(f"  - {line}")
        done = defined.get("effects")
        if done:
            members = ", ".join(f"{name} {n:,}" for name, n in done["segments"].items() if n is not None)
            console.print(f"  segment members at the end of the load: {members or '-'}")
            for name, j in done["journeys"].items():
                counts = f"{j['entered']:,} entered, {j['active']:,} inside, {j['exited']:,} left"
                console.print(f"  journey {name}: {counts}")

    def row(phase: str, figure: str, value: str, key: str | None = None, raw: float | None = None) -> None:
        target, verdict = _verdict(engine, key, raw) if key else ("", "")
        table.add_row(phase, figure, value, target, verdict)

    for mix, run in (result.get("mixes") or {}).items():
        batch = run["batch"]
        row(
            f"1 batch, {mix}",
            f"events/s ({batch['clients']} clients x {batch['batch_size']}-event batches)",
            f"{batch['events_per_second']:,.0f}",
            f"batch_{mix}_events_per_second",
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
        row("", CORES, _cores(batch))
        row("", "lag right after: behind (oldest), sampled", _lag_line(run["lag_after_burst"]))
        track = run["track"]
        lat = track["latency"]
        row(
            f"2 track, after {mix}",
            f"open loop at {track['rate']:.0f} req/s, from "
            f"{track['started_after_burst_seconds'] * 1000:.0f} ms after the burst: achieved req/s",
            f"{track['achieved_rate']:.1f}",
        )
        row("", "p50 / p95 ms", f"{_ms(lat['p50_ms'])} / {_ms(lat['p95_ms'])}")
        row(
            "",
            "p99 ms (whole phase)",
            _ms(lat["p99_ms"]),
            "track_p99_ms",
            lat["p99_ms"],
        )
        first = track.get("latency_first")
        if first:
            row(
                "",
                f"p50 / p99 ms in the first {track['first_seconds']:.0f} s",
                f"{_ms(first['p50_ms'])} / {_ms(first['p99_ms'])}",
                "track_p99_ms",
                first["p99_ms"],
            )
        row("", "max ms", _ms(lat["max_ms"]))
        sched = track["latency_from_schedule"]
        row("", "p99 / max ms counted from the due time", f"{_ms(sched['p99_ms'])} / {_ms(sched['max_ms'])}")
        row("", CORES, _cores(track))
        caught = run["catch_up"]
        if not caught["caught_up"]:
            row("", "worker NOT caught up within (s)", f"{caught['limit_seconds']:.0f}")
        elif caught.get("at_first_look"):  # nothing behind when first looked at, after phase 2
            row("", "worker caught up, s after the burst ended", f"<= {caught['seconds']:.1f}")
        else:
            row("", "worker caught up, s after the burst ended", f"{caught['seconds']:.1f}")
        row("", "peak events behind (sampled)", f"{caught['peak_behind']:,}")
    lag = result.get("lag")
    if lag:
        rate = lag["events_per_second"]
        at_target = rate >= LAG_TARGET_RATE
        row(
            "lag",
            f"/v1/batch open loop at {rate:,.0f} events/s: achieved events/s",
            f"{lag['achieved_events_per_second']:,.0f}",
        )
        row(
            "",
            f"oldest unprocessed event, p50 / max s ({lag['samples']:,} samples, every "
            f"{lag['sample_interval_seconds'] * 1000:.0f} ms)",
            f"{lag['oldest_p50_seconds']:.2f} / {lag['oldest_max_seconds']:.2f}",
        )
        row(
            "",
            "oldest unprocessed event p99 s (sampled)"
            + ("" if at_target else f" [target is at {LAG_TARGET_RATE:,.0f} events/s]"),
            f"{lag['oldest_p99_seconds']:.2f}",
            "lag_p99_seconds" if at_target else None,
            lag["oldest_p99_seconds"],
        )
        row("", "max events behind (sampled)", f"{lag['max_behind']:,}")
        per = ", ".join(
            f"{name} {p['max_behind']:,} / {p['max_oldest_seconds']:.2f} s"
            for name, p in lag["processors"].items()
        )
        row("", "per processor: max behind / max oldest", per or "-")
        lat = lag["latency"]
        row("", "request p50 / p99 ms", f"{_ms(lat['p50_ms'])} / {_ms(lat['p99_ms'])}")
        row("", CORES, _cores(lag))
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
        row("", CORES, _cores(lookup))
    memory = result.get("memory")
    if memory:
        first = True
        for role in ("server", "worker", "worker job"):
            peaks = memory.get("roles", {}).get(role)
            if not peaks:
                continue
            row(
                "all" if first else "",
                f"{role} process peak RSS MB (anonymous: heap, no file maps)",
                f"{peaks['peak_mb']:.0f} ({peaks['peak_anon_mb']:.0f})",
                f"{role.replace(' ', '_')}_rss_mb",
                peaks["peak_mb"],
            )
            first = False
            per_phase = ", ".join(f"{k} {v:.0f}" for k, v in peaks["phase_peaks_mb"].items())
            row("", f"{role} peak RSS MB per phase", per_phase)
        row(
            "all" if first else "",
            "server + worker (+ job) peak RSS MB (anonymous)",
            f"{memory['peak_mb']:.0f} ({memory.get('peak_anon_mb', 0):.0f})",
        )
    errors = result.get("errors") or []
    console.print(table)
    times = result.get("times")
    if times:
        console.print(
            f"{engine} took {times['total_seconds']:.0f} s; the slowest server start "
            f"{times['start_seconds']:.1f} s, the slowest stop (server and worker) "
            f"{times['stop_seconds']:.1f} s"
        )
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
    busy = max((p.get("other_cores", 0.0) for p in _phases(result)), default=0.0)
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
