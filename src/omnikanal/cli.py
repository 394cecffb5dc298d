"""The ``omnikanal`` command."""

from __future__ import annotations

import gc
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TaskID, TextColumn
from rich.table import Table

from omnikanal.auth.model import ROLES
from omnikanal.clock import isoformat
from omnikanal.errors import OmnikanalError
from omnikanal.hub import Hub, build_hub
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
        typer.Option(min=1, max=64, help="processes serving the API (each with its own background workers)"),
    ] = 1,
) -> None:
    """Run the API and the background workers (one process, or --workers processes on one port)."""
    import uvicorn

    from omnikanal.app import create_app

    settings = load_settings()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    hub = build_hub(settings)
    bind_host, bind_port = host or settings.host, port or settings.port
    console.print(
        f"Omnikanal on http://{bind_host}:{bind_port} ({hub.engine.dialect.name}, {workers} process(es))"
    )
    if workers == 1:
        app_ = create_app(hub)
        tune_gc()
        uvicorn.run(
            app_, host=bind_host, port=bind_port, log_level="warning", access_log=False, proxy_headers=False
        )
        hub.engine.dispose()
        return
    hub.engine.dispose()  # migrated; each worker process opens its own
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
) -> None:
    """Create a source; its write key is printed alone on the last line."""
    with _hub() as hub:
        source, key = hub.sources.create(name, channel)
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
    import signal
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


def tune_gc() -> None:
    """Keep the collector's full passes off the request path of a long-running server.

    Everything alive after start-up (modules, SQLAlchemy's caches) is moved out of the collector's
    view, and young objects are collected less eagerly: a full pass over hundreds of thousands of
    objects otherwise stalls a request for tens of milliseconds.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 20, 50)


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
