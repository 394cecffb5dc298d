"""``python -m bench``: run the benchmarks against a real server and print the figures."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from rich.console import Console

from bench.definitions import KINDS
from bench.events import MIXES
from bench.report import describe_machine, machine, print_summary, stamp, write_json
from bench.run import Options, run_engine
from bench.server import BenchError, postgres_unreachable, settings_overrides

DEFAULT_PG_URL = os.environ.get(
    "OMNIKANAL_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Benchmarks of a real Omnikanal server (API and worker process) on 127.0.0.1, with "
        "the demo's definitions active: (1) a burst of /v1/batch per load mix, the processors' lag "
        "after it, (2) /v1/track latency at an open-loop rate right after the burst, and how long the "
        "worker takes to catch up, (lag) batches at a fixed rate with the lag sampled, (3) profile "
        "lookup latency with N profiles. Prints figures next to the targets and writes them to "
        "bench/results/<engine>-<time>.json.",
    )
    parser.add_argument("--engine", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--duration", type=float, default=15.0, help="seconds per timed phase (default 15)")
    parser.add_argument(
        "--profiles", type=int, default=1_000_000, help="profiles seeded for the lookup phase (0 skips it)"
    )
    parser.add_argument("--quick", action="store_true", help="a short smoke run: 3 s phases, 10,000 profiles")
    parser.add_argument("--clients", type=int, default=8, help="concurrent batch clients (default 8)")
    parser.add_argument("--batch-size", type=int, default=100, help="events per batch (default 100)")
    parser.add_argument(
        "--rate", type=float, default=200.0, help="/v1/track requests per second (default 200)"
    )
    parser.add_argument("--lookup-clients", type=int, default=4, help="concurrent lookup clients (default 4)")
    parser.add_argument(
        "--warmup", type=float, default=3.0, help="untimed warm-up seconds before phases 1, 3"
    )
    parser.add_argument("--seed", type=int, default=1, help="random seed of the generated traffic")
    parser.add_argument(
        "--definitions",
        choices=KINDS,
        default="demo",
        help="what is defined before the load: 'demo' (the demo retailer's computed trait and segments, "
        "and two journeys; default) or 'none'",
    )
    parser.add_argument(
        "--mix",
        choices=(*MIXES, "both"),
        default="live",
        help="traffic of phase 1: 'live' (30 %% new anonymous visitors; default), 'history' (an import: "
        "95 %% customers never seen), or 'both' (phases 1 and 2 once per mix, one after the other on the "
        "same server and database)",
    )
    parser.add_argument(
        "--lag-rate",
        type=float,
        default=2_000.0,
        help="events/s of the lag phase, sent as batches of --batch-size (default 2,000; 0 skips the phase)",
    )
    parser.add_argument(
        "--lag-interval",
        type=float,
        default=0.1,
        help="seconds between samples of GET /api/operations/log in the lag phase (default 0.1)",
    )
    parser.add_argument(
        "--catch-up-limit",
        type=float,
        default=300.0,
        help="seconds to wait at most for the worker to catch up after a burst (default 300; --quick 30)",
    )
    parser.add_argument(
        "--postgres-url",
        default=DEFAULT_PG_URL,
        help="a local PostgreSQL server to create (and drop) a fresh database on "
        "(default: $OMNIKANAL_TEST_POSTGRES_URL or postgres@127.0.0.1:5432)",
    )
    parser.add_argument(
        "--data-dir", type=Path, default=None, help="where the SQLite temp folder goes (default: system temp)"
    )
    parser.add_argument(
        "--wait-quiet",
        type=float,
        default=60.0,
        help="before each phase, wait up to this many seconds for other processes to go quiet (default 60)",
    )
    parser.add_argument(
        "--repeat-if-busy",
        type=int,
        default=2,
        help="run a phase again (at most this many times) while other processes took CPU during it, "
        "and report the least disturbed run (default 2)",
    )
    parser.add_argument(
        "--server-workers",
        type=int,
        default=None,
        help="pass --workers N to 'omnikanal serve' (several API processes; default: the server's own)",
    )
    parser.add_argument(
        "--client",
        choices=("lean", "httpx"),
        default="lean",
        help="HTTP client of the load generator: 'lean' (asyncio streams, little CPU; default) or 'httpx'",
    )
    parser.add_argument(
        "--py-spy",
        nargs="?",
        const="cpu",
        choices=("cpu", "gil", "native"),
        help="profile the server in each timed phase with py-spy (pip install py-spy; perturbs the figures): "
        "'cpu' (the default) samples every running thread, 'gil' only the one holding the GIL, 'native' "
        "adds C frames; the collapsed stacks go to bench/results/",
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.duration = min(args.duration, 3.0)
        args.warmup = min(args.warmup, 1.0)
        args.profiles = min(args.profiles, 10_000)
        args.wait_quiet = min(args.wait_quiet, 2.0)
        args.repeat_if_busy = 0
        args.catch_up_limit = min(args.catch_up_limit, 30.0)
    if args.server_workers is not None and args.server_workers < 1:
        parser.error("--server-workers must be at least 1")
    for name in ("duration", "rate", "clients", "batch_size", "lookup_clients"):
        if getattr(args, name) <= 0:
            parser.error(f"--{name.replace('_', '-')} must be positive")
    if not 0 < args.duration <= 3600 or not 0 <= args.warmup <= 600:
        parser.error("--duration must be at most 3600 s and --warmup at most 600 s")
    if args.profiles < 0:
        parser.error("--profiles cannot be negative")
    if args.lag_rate < 0 or not 0.02 <= args.lag_interval <= 10 or not 0 < args.catch_up_limit <= 3600:
        parser.error("--lag-rate cannot be negative, --lag-interval is 0.02-10 s, --catch-up-limit 0-3600 s")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    console = Console(width=None if sys.stdout.isatty() else 120)
    info = machine()
    when = stamp()
    opts = Options(
        duration=args.duration,
        warmup=args.warmup,
        profiles=args.profiles,
        clients=args.clients,
        batch_size=args.batch_size,
        rate=args.rate,
        lookup_clients=args.lookup_clients,
        seed=args.seed,
        py_spy=args.py_spy,
        wait_quiet=args.wait_quiet,
        repeat_if_busy=max(0, args.repeat_if_busy),
        client=args.client,
        server_workers=args.server_workers,
        stamp=when,
        definitions=args.definitions,
        mixes=tuple(MIXES) if args.mix == "both" else (args.mix,),
        lag_rate=args.lag_rate,
        lag_interval=args.lag_interval,
        catch_up_limit=args.catch_up_limit,
    )
    console.print(f"machine: {describe_machine(info)}")
    console.print(
        "note: the load generator and the server share this machine's CPUs, so the server gets less "
        "than all of them; the 'CPU cores busy' rows show the split."
    )
    client = "httpx.AsyncClient" if args.client == "httpx" else "lean asyncio HTTP/1.1 client"
    workers = f" --workers {args.server_workers}" if args.server_workers else ""
    console.print(
        f"load generator: {client}, keep-alive; server: omnikanal serve{workers} on 127.0.0.1 "
        "(the API, and an omnikanal worker process beside it)"
    )
    for mix in opts.mixes:
        console.print(f"mix {mix}: {MIXES[mix].description}")
    overrides = settings_overrides()
    if overrides:
        console.print(f"server settings from the environment: {overrides}")

    engines = ["sqlite", "postgresql"] if args.engine == "both" else [args.engine]
    status = 0
    for engine in engines:
        if engine == "postgresql":
            reason = postgres_unreachable(args.postgres_url)
            if reason:
                console.print(f"[yellow]skipping PostgreSQL[/yellow]: {reason}")
                if args.engine == "postgresql":
                    status = 1
                continue
        try:
            result = run_engine(console, engine, opts, args.data_dir, args.postgres_url)
        except BenchError as exc:
            console.print(f"[red]{engine} failed:[/red] {exc}")
            status = 1
            continue
        except Exception:
            console.print(
                f"[red]{engine} failed[/red] (the server was stopped, the temporary database removed):"
            )
            console.print_exception(max_frames=8)
            status = 1
            continue
        except KeyboardInterrupt:
            console.print("[red]interrupted[/red]; the server was stopped and the temporary database removed")
            return 130
        result["machine"] = info
        result["options"] = {k: v for k, v in vars(opts).items() if k != "stamp"}
        print_summary(console, result)
        path = write_json(result, when)
        console.print(
            f"written to {path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path}"
        )
        if result["errors"]:
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
