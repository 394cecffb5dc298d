"""The ``omnikanal`` command."""

from __future__ import annotations

import logging
import os
import signal
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from omnikanal import child_jobs
from omnikanal.analytics import cli as analytics_cli
from omnikanal.auth import cli as auth_cli
from omnikanal.commerce import cli as commerce_cli
from omnikanal.errors import OmnikanalError
from omnikanal.hub import Hub, build_hub
from omnikanal.journeys import cli as journeys_cli
from omnikanal.matching.cli import matching_app
from omnikanal.privacy import cli as privacy_cli
from omnikanal.profiles.import_cli import import_app
from omnikanal.recommend.cli import recommend_app
from omnikanal.runtime import tune_gc
from omnikanal.segments import cli as segments_cli
from omnikanal.settings import load_settings
from omnikanal.sources import cli as sources_cli
from omnikanal.staff import cli as staff_cli

app = typer.Typer(
    help="Omnikanal, the omnichannel customer hub.", no_args_is_help=True, pretty_exceptions_enable=False
)
console = Console()


@contextmanager
def _hub() -> Iterator[Hub]:
    """The hub for one command; a domain error ends the command with its message and exit code 2."""
    hub = build_hub(load_settings())
    try:
        yield hub
    except OmnikanalError as exc:
        console.print(f"[red]error[/red] ({exc.code}): {exc.message}")
        raise typer.Exit(code=2) from None
    finally:
        hub.engine.dispose()


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="address to listen on")] = None,
    port: Annotated[int | None, typer.Option(help="port to listen on")] = None,
    workers: Annotated[
        int,
        typer.Option(min=1, max=64, help="processes serving the API on this port"),
    ] = 1,
    no_worker: Annotated[
        bool,
        typer.Option(
            "--no-worker",
            help="serve the API only; the event-log processors, dispatcher, timers and scheduled jobs "
            "run in `omnikanal worker` processes elsewhere (several machines on PostgreSQL)",
        ),
    ] = False,
) -> None:
    """Run the API, and (unless --no-worker) one worker process beside it for everything that follows
    from what was stored. One command on one machine; `serve --no-worker` N times and `worker` M
    times against PostgreSQL on several."""
    from omnikanal.worker_process import WorkerProcess

    settings = load_settings()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    hub = build_hub(settings)
    bind_host, bind_port = host or settings.host, port or settings.port
    shape = "API only" if no_worker else "API and a worker process"
    console.print(
        f"Omnikanal on http://{bind_host}:{bind_port} ({hub.engine.dialect.name}, {workers} API "
        f"process(es), {shape})"
    )
    worker = (
        None if no_worker else WorkerProcess(args=("--parent", str(os.getpid())), nice=settings.worker_nice)
    )
    if worker is not None:
        # uvicorn raises a SIGTERM again once it has shut down; with the default handler that would
        # end this process before the worker is stopped (the worker also ends when it sees its
        # parent gone, should this process be killed)
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        worker.start()
    try:
        _serve_api(hub, bind_host, bind_port, workers)
    finally:
        if worker is not None:
            worker.stop()
        hub.engine.dispose()


def _serve_api(hub: Hub, host: str, port: int, workers: int) -> None:
    """The API until stopped: in this process (one worker), else in uvicorn's worker processes."""
    import uvicorn

    from omnikanal.app import create_app

    if workers == 1:
        app_ = create_app(hub, worker=False)
        tune_gc()
        uvicorn.run(
            app_,
            host=host,
            port=port,
            log_level="warning",
            access_log=False,
            proxy_headers=False,
        )
        return
    hub.engine.dispose()  # migrated; each API process opens its own
    uvicorn.run(
        "omnikanal.app:app_from_environment",
        factory=True,
        workers=workers,
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
        # X-Forwarded-For is believed only from OMNIKANAL_TRUSTED_PROXIES (web.client_address).
        proxy_headers=False,
    )


@app.command()
def worker(
    status_seconds: Annotated[
        float, typer.Option(min=0, help="log the processors' lag this often (0: never)")
    ] = 60.0,
    parent: Annotated[
        int | None, typer.Option(help="stop when the process with this id ends (set by omnikanal serve)")
    ] = None,
) -> None:
    """Run the worker role until stopped (SIGTERM or Ctrl-C): the event-log processors, the
    dispatcher, journey timers and scheduled jobs. Run as many side by side as needed; they share
    work only through the database (row claims, the processors' cursors)."""
    import threading

    settings = load_settings()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    hub = build_hub(settings)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    hub.start(api=False, worker=True, heavy_jobs=False)
    children = child_jobs.ChildJobs(settings)
    children.start()
    tune_gc()
    log = logging.getLogger("omnikanal.worker")
    log.info("worker started (%s)", hub.engine.dialect.name)
    next_status = time.monotonic() + status_seconds
    try:
        while not stop.wait(1.0):
            if parent is not None and os.getppid() != parent:
                log.warning("the serving process %s is gone; stopping", parent)
                break
            if not status_seconds or time.monotonic() < next_status:
                continue
            next_status = time.monotonic() + status_seconds
            for item in hub.eventlog.lag([p.name for p in hub.processors]):
                if item.behind:
                    log.info(
                        "%s is %d events behind (oldest %.1f s)",
                        item.consumer,
                        item.behind,
                        item.oldest_seconds or 0,
                    )
    finally:
        children.stop()
        hub.close()
        log.info("worker stopped")


@app.command()
def lag() -> None:
    """How far each event-log processor is behind: events waiting, and the age of the oldest."""
    table = Table("processor", "events behind", "oldest waiting")
    with _hub() as hub:
        for item in hub.eventlog.lag([p.name for p in hub.processors]):
            oldest = "-" if item.oldest_seconds is None else f"{item.oldest_seconds:.1f} s"
            table.add_row(item.consumer, f"{item.behind:,}", oldest)
    console.print(table)


@app.command()
def migrate() -> None:
    """Bring the database schema to the newest version."""
    from omnikanal.db.migrate import current_revision

    hub = build_hub(load_settings(), migrate=True)
    console.print(f"database at revision {current_revision(hub.engine)} ({hub.engine.dialect.name})")
    hub.engine.dispose()


# Each capability installs its own commands, in the order the help lists them.
sources_cli.install(app, _hub, console)
auth_cli.install(app, _hub, console)
commerce_cli.install(app, _hub, console)
privacy_cli.install(app, _hub, console)
analytics_cli.install(app, _hub, console)
child_jobs.install(app, _hub)
segments_cli.install(app, _hub, console)
journeys_cli.install(app, _hub, console)

app.add_typer(matching_app(lambda: _hub(), console), name="matching")
# the issue's and the design notes' name for the same commands: identity train / match / evaluate
app.add_typer(
    matching_app(lambda: _hub(), console, "Probabilistic identity (Splink): the matching commands."),
    name="identity",
)
app.add_typer(import_app(lambda: _hub(), console), name="import")
app.add_typer(recommend_app(lambda: _hub(), console), name="recommend")
staff_cli.install(app, _hub, console)


def main() -> None:
    app()


@app.command()
def demo(
    customers: Annotated[
        int, typer.Option(min=10, max=1_000_000, help="how many customers to make")
    ] = 10_000,
    seed: Annotated[int, typer.Option(help="the same seed makes the same retailer")] = 7,
    host: Annotated[str | None, typer.Option(help="address to listen on")] = None,
    port: Annotated[int | None, typer.Option(help="port to listen on (0: any free port)")] = None,
    serve: Annotated[bool, typer.Option(help="go on serving the console after building")] = True,
) -> None:
    """Build a demo DIY retailer through the hub's APIs (once), then serve the console."""
    from omnikanal.demo.command import run_demo

    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    run_demo(console, customers=customers, seed=seed, host=host, port=port, serve=serve)
