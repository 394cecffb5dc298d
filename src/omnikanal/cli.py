"""The ``omnikanal`` command."""

from __future__ import annotations

import logging
import os
import signal
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TaskID, TextColumn
from rich.table import Table

from omnikanal import child_jobs
from omnikanal.analytics import cli as analytics_cli
from omnikanal.auth.model import ROLES
from omnikanal.clock import isoformat
from omnikanal.errors import OmnikanalError
from omnikanal.hub import Hub, build_hub
from omnikanal.matching.cli import matching_app
from omnikanal.profiles.import_cli import import_app
from omnikanal.recommend.cli import recommend_app
from omnikanal.runtime import tune_gc
from omnikanal.settings import load_settings
from omnikanal.sources.model import CHANNELS

app = typer.Typer(
    help="Omnikanal, the omnichannel customer hub.", no_args_is_help=True, pretty_exceptions_enable=False
)
source_app = typer.Typer(
    help="Channel systems that send events (each has a write key).", no_args_is_help=True
)
token_app = typer.Typer(help="API tokens for staff tools and systems.", no_args_is_help=True)
app.add_typer(source_app, name="source")
app.add_typer(token_app, name="token")
catalogue_app = typer.Typer(help="Products, variants and prices.", no_args_is_help=True)
app.add_typer(catalogue_app, name="catalogue")
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
    import uvicorn

    from omnikanal.app import create_app
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
        if workers == 1:
            app_ = create_app(hub, worker=False)
            tune_gc()
            uvicorn.run(
                app_,
                host=bind_host,
                port=bind_port,
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
            host=bind_host,
            port=bind_port,
            log_level="warning",
            access_log=False,
            # X-Forwarded-For is believed only from OMNIKANAL_TRUSTED_PROXIES (web.client_address).
            proxy_headers=False,
        )
    finally:
        if worker is not None:
            worker.stop()
        hub.engine.dispose()


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


@source_app.command("create")
def source_create(
    name: Annotated[str, typer.Option(help="a name for the channel system, e.g. 'webshop'")],
    channel: Annotated[str, typer.Option(help=f"business channel: {', '.join(CHANNELS)}")],
    origin: Annotated[
        list[str] | None,
        typer.Option(help="a page origin that may send from a browser (repeat for more)"),
    ] = None,
    public: Annotated[
        bool | None, typer.Option("--public/--not-public", help="rate limit per client address")
    ] = None,
    ip_policy: Annotated[str | None, typer.Option(help="keep, truncate or drop the IP address")] = None,
) -> None:
    """Create a source; its write key is printed alone on the last line."""
    with _hub() as hub:
        source, key = hub.sources.create(
            name, channel, allowed_origins=origin or [], public=public, ip_policy=ip_policy
        )
        console.print(f"source {source.name} ({source.channel}) created as {source.id}; its write key:")
        print(key)


@source_app.command("list")
def source_list() -> None:
    """List the sources."""
    table = Table("id", "name", "channel", "enabled", "created")
    with _hub() as hub:
        for s in hub.sources.list():
            table.add_row(
                s.id, s.name, s.channel, "yes" if s.enabled else "no", isoformat(s.created_at) or ""
            )
    console.print(table)


@source_app.command("browser")
def source_browser(
    ref: Annotated[str, typer.Argument(help="source id or name")],
    origin: Annotated[
        list[str] | None,
        typer.Option(help="an allowed page origin; the ones given replace the list (repeat for more)"),
    ] = None,
    no_origins: Annotated[bool, typer.Option("--no-origins", help="allow no browser origin")] = False,
    public: Annotated[
        bool | None, typer.Option("--public/--not-public", help="rate limit per client address")
    ] = None,
    ip_policy: Annotated[str | None, typer.Option(help="keep, truncate or drop the IP address")] = None,
) -> None:
    """Show or change what browsers may do with a source: allowed origins, public key, IP policy."""
    with _hub() as hub:
        origins = [] if no_origins else origin
        if origins is not None or public is not None or ip_policy is not None:
            source = hub.sources.set_browser(ref, allowed_origins=origins, public=public, ip_policy=ip_policy)
        else:
            source = hub.sources.get(ref)
        console.print(
            f"source {source.name}: origins {', '.join(source.allowed_origins) or '(none)'}; "
            f"public {'yes' if source.public else 'no'}; ip {source.ip_policy}"
        )


@source_app.command("disable")
def source_disable(ref: Annotated[str, typer.Argument(help="source id or name")]) -> None:
    """Stop accepting events from a source."""
    with _hub() as hub:
        source = hub.sources.set_enabled(ref, False)
        console.print(f"source {source.name} disabled")


@source_app.command("enable")
def source_enable(ref: Annotated[str, typer.Argument(help="source id or name")]) -> None:
    """Accept events from a source again."""
    with _hub() as hub:
        source = hub.sources.set_enabled(ref, True)
        console.print(f"source {source.name} enabled")


@source_app.command("rotate-key")
def source_rotate_key(ref: Annotated[str, typer.Argument(help="source id or name")]) -> None:
    """Give a source a new write key (printed alone on the last line); the old one stops working."""
    with _hub() as hub:
        source, key = hub.sources.rotate_key(ref)
        console.print(f"new write key for {source.name}:")
        print(key)


@token_app.command("create")
def token_create(
    name: Annotated[str, typer.Option(help="who or what uses the token")],
    role: Annotated[str, typer.Option(help=f"one of: {', '.join(ROLES)}")],
    store: Annotated[
        str | None, typer.Option(help="tie the token to one store (location id): a till system")
    ] = None,
) -> None:
    """Create an API token; it is printed alone on the last line."""
    with _hub() as hub:
        token, secret = hub.tokens.create(name, role, store)
        console.print(f"token {token.name} ({token.role}) created as {token.id}:")
        print(secret)


@token_app.command("list")
def token_list() -> None:
    """List API tokens (never their secrets)."""
    table = Table("id", "name", "role", "created", "revoked")
    with _hub() as hub:
        for t in hub.tokens.list():
            table.add_row(t.id, t.name, t.role, isoformat(t.created_at) or "", isoformat(t.revoked_at) or "")
    console.print(table)


@token_app.command("revoke")
def token_revoke(ref: Annotated[str, typer.Argument(help="token id or name")]) -> None:
    """Revoke an API token."""
    with _hub() as hub:
        hub.tokens.revoke(ref)
        console.print(f"token {ref} revoked")


retention_app = typer.Typer(
    help="Retention: remove data past its configured maximum age.", no_args_is_help=True
)
app.add_typer(retention_app, name="retention")


@retention_app.command("run")
def retention_run() -> None:
    """Remove old events (per OMNIKANAL_RETENTION_DAYS) and long-inactive anonymous profiles now."""
    with (
        _hub() as hub,
        Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            TextColumn("{task.completed} removed"),
            console=console,
        ) as progress,
    ):
        tasks: dict[str, TaskID] = {}

        def report(what: str, removed: int) -> None:
            if what not in tasks:
                tasks[what] = progress.add_task(what, total=None)
            progress.update(tasks[what], advance=removed)

        result = hub.retention.run(report)
    for key, count in result.events_removed.items():
        console.print(f"events ({key}): {count} removed")
    console.print(f"anonymous profiles: {result.profiles_removed} removed")


@catalogue_app.command("import")
def catalogue_import(
    file: Annotated[Path, typer.Argument(help="a CSV or JSON Lines file", exists=True, dir_okay=False)],
    format: Annotated[
        str | None, typer.Option("--format", help="csv or jsonl (default: from the file name)")
    ] = None,
    errors: Annotated[int, typer.Option(help="how many row errors to print")] = 50,
) -> None:
    """Import products; valid rows are imported, failed rows listed with their reason (exit code 1)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from omnikanal.commerce.importer import FORMATS

    fmt = format or ("jsonl" if file.suffix.lower() in (".jsonl", ".ndjson") else "csv")
    if fmt not in FORMATS:
        console.print(f"[red]error[/red]: --format must be one of: {', '.join(FORMATS)}")
        raise typer.Exit(code=2)
    with file.open(encoding="utf-8-sig", newline="") as counting:
        total = max(sum(1 for _ in counting) - (1 if fmt == "csv" else 0), 0)
    with _hub() as hub, file.open(encoding="utf-8-sig", newline="") as handle:
        columns = (TextColumn("importing"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
        with Progress(*columns, console=console) as progress:
            task = progress.add_task("rows", total=total)
            report = hub.commerce.importer.run(handle, fmt, lambda n: progress.advance(task, n))
    console.print(
        f"{report.rows} rows: {report.imported} imported ({report.created_products} new products), "
        f"{len(report.errors) + report.more_errors} failed"
    )
    if report.errors:
        table = Table("row", "code", "field", "message")
        for error in report.errors[:errors]:
            table.add_row(str(error["row"]), error["code"], error["field"] or "", error["message"])
        console.print(table)
        raise typer.Exit(code=1)


analytics_cli.install(app, _hub, console)
child_jobs.install(app, _hub)

segments_app = typer.Typer(help="Segments and computed traits.", no_args_is_help=True)
app.add_typer(segments_app, name="segments")


@segments_app.command("apply")
def segments_apply(
    files_: Annotated[
        list[Path], typer.Argument(metavar="FILE...", help="YAML (or .json) definition files", dir_okay=False)
    ],
) -> None:
    """Create or update the segments and computed traits of definition files, by name.

    Every file is checked before anything is applied; nothing is deleted.
    """
    from omnikanal.segments import files

    with _hub() as hub:
        documents = [(path, files.read(path)) for path in files_]
        for path, document in documents:
            files.check(hub.segments, document, str(path))
        table = Table("file", "kind", "name", "outcome")
        for path, document in documents:
            for applied in files.apply(hub.segments, document, str(path), f"file:{path.name}"):
                table.add_row(str(path), applied.kind, applied.name, applied.outcome)
        console.print(table)


@segments_app.command("list")
def segments_list() -> None:
    """The segments with their member counts."""
    with _hub() as hub:
        table = Table("id", "name", "members", "computed at")
        for segment in hub.segments.all():
            count = str(segment["member_count"])
            table.add_row(segment["id"], segment["name"], count, segment["computed_at"] or "")
        console.print(table)


journeys_app = typer.Typer(help="Journeys: timer workers and document checks.", no_args_is_help=True)
app.add_typer(journeys_app, name="journeys")


@journeys_app.command("work")
def journeys_work(
    once: Annotated[bool, typer.Option("--once", help="fire what is due now, then stop")] = False,
) -> None:
    """Fire due journey timers until stopped (Ctrl-C); run as many of these side by side as needed."""
    import threading

    with _hub() as hub:
        if once:
            console.print(f"{hub.journey_worker.run_until_done()} timers fired")
            return
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        poll = hub.settings.journey_worker_poll_seconds or 0.5
        fired = 0
        try:
            while not stop.is_set():
                done = hub.journey_worker.run_once()
                fired += done
                if done == 0:
                    stop.wait(poll)
        except KeyboardInterrupt:
            pass
        console.print(f"{fired} timers fired")


@journeys_app.command("validate")
def journeys_validate(
    file: Annotated[
        Path, typer.Argument(help="a journey document (YAML or JSON)", exists=True, dir_okay=False)
    ],
) -> None:
    """Check a journey document against the schema, the rules and this hub's segments and traits."""
    from omnikanal.journeys.model import load_text

    with _hub() as hub:
        document = load_text(file.read_bytes(), "application/yaml", hub.settings.journey_max_document_depth)
        result = hub.journeys.validate(document)
    for warning in result["warnings"]:
        console.print(f"[yellow]warning[/yellow] ({warning['code']}): {warning['message']}")
    console.print("valid")


app.add_typer(matching_app(lambda: _hub(), console), name="matching")
# the issue's and the design notes' name for the same commands: identity train / match / evaluate
app.add_typer(
    matching_app(lambda: _hub(), console, "Probabilistic identity (Splink): the matching commands."),
    name="identity",
)
app.add_typer(import_app(lambda: _hub(), console), name="import")
app.add_typer(recommend_app(lambda: _hub(), console), name="recommend")


def main() -> None:
    app()


user_app = typer.Typer(help="Staff users of the console.", no_args_is_help=True)
app.add_typer(user_app, name="user")


@user_app.command("create")
def user_create(
    username: Annotated[str, typer.Option(help="the login name (lower-case letters, digits, . _ -)")],
    role: Annotated[str, typer.Option(help=f"one of: {', '.join(ROLES)}")],
    store: Annotated[str | None, typer.Option(help="the store (location id) of a store user")] = None,
    password: Annotated[
        str | None, typer.Option(help="the password; asked for with a hidden prompt when absent")
    ] = None,
) -> None:
    """Create a staff user who can log in to the console at /console."""
    if password is None:
        password = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    with _hub() as hub:
        user = hub.staff.create_user(username, role, password, store)
        where = f", store {user.store_id}" if user.store_id else ""
        console.print(f"user {user.username} ({user.role}{where}) created")


@user_app.command("list")
def user_list() -> None:
    """List the staff users."""
    table = Table("username", "role", "store", "disabled", "created")
    with _hub() as hub:
        for u in hub.staff.users():
            disabled = "yes" if u.disabled else "no"
            table.add_row(u.username, u.role, u.store_id or "", disabled, isoformat(u.created_at) or "")
    console.print(table)


@user_app.command("disable")
def user_disable(username: Annotated[str, typer.Argument(help="the user to disable")]) -> None:
    """Disable a staff user; their sessions end at once."""
    with _hub() as hub:
        hub.staff.set_disabled(username, True)
        console.print(f"user {username} disabled")


@user_app.command("enable")
def user_enable(username: Annotated[str, typer.Argument(help="the user to enable again")]) -> None:
    """Let a disabled staff user log in again."""
    with _hub() as hub:
        hub.staff.set_disabled(username, False)
        console.print(f"user {username} enabled")


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
