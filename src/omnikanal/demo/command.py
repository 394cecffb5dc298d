"""``omnikanal demo``: build the demo retailer once (through the HTTP APIs of the hub started here),
create a staff user per role, then serve the console and print how to log in."""

from __future__ import annotations

import json
import os
import secrets
import time
from collections.abc import Callable
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from omnikanal.app import create_app
from omnikanal.demo.builder import Built, DemoBuilder, demo_client
from omnikanal.demo.journeys import SOURCES
from omnikanal.demo.server import ThreadServer
from omnikanal.demo.smtp_sink import SmtpSink
from omnikanal.errors import NotFound
from omnikanal.hub import Hub, build_hub
from omnikanal.settings import load_settings
from omnikanal.worker_process import WorkerProcess

LOGINS_FILE = "demo-logins.txt"
# One user per role; the store user works in the first Berlin store.
DEMO_USERS: tuple[tuple[str, str, str | None], ...] = (
    ("demo-admin", "admin", None),
    ("demo-marketing", "marketing", None),
    ("demo-service", "service", None),
    ("demo-store", "store", "berlin-mitte"),
    ("demo-privacy", "privacy", None),
)


def has_demo(hub: Hub) -> bool:
    try:
        hub.sources.get(next(iter(SOURCES)))
    except NotFound:
        return False
    return True


def make_users(hub: Hub, logins: Path) -> None:
    lines = []
    for username, role, store in DEMO_USERS:
        password = secrets.token_urlsafe(12)
        hub.staff.create_user(username, role, password, store)
        lines.append(f"{username}\t{password}\t{role}{f' ({store})' if store else ''}")
    logins.write_text("\n".join(lines) + "\n", encoding="utf-8")
    logins.chmod(0o600)


def run_demo(
    console: Console, *, customers: int, seed: int, host: str | None, port: int | None, serve: bool
) -> Built | None:
    sink = None
    overrides: dict[str, object] = {"messaging_quiet_hours": {}}  # the demo shows its messages at once
    if not os.environ.get("OMNIKANAL_SMTP_URL"):
        sink = SmtpSink()
        sink.start()
        overrides["smtp_url"] = sink.url
    settings = load_settings(**overrides)
    hub = build_hub(settings)
    # The worker role in a process of its own beside the API, as under `omnikanal serve`; it reads
    # its settings from the environment, so it gets the demo's overrides there.
    worker = WorkerProcess(
        env={**os.environ, **{f"OMNIKANAL_{k.upper()}": _env(v) for k, v in overrides.items()}}
    )
    server = ThreadServer(
        create_app(hub, worker=False), host or settings.host, port if port is not None else settings.port
    )
    server.start()
    worker.start()
    logins = settings.data_dir / LOGINS_FILE
    built: Built | None = None
    try:
        if has_demo(hub):
            console.print("The database holds the demo retailer already; building skipped.")
            _tell(console, server.url, logins)
        else:
            # The console is served and the users exist before the first customer is sent: a newcomer
            # can log in at once and watch the retailer fill up while the build runs.
            if not logins.exists():
                make_users(hub, logins)
            _tell(console, server.url, logins)
            console.print("Building the demo retailer now; the console shows it as it arrives.\n")
            built = _build(console, hub, server.url, customers, seed)
        if serve:
            console.print("Serving; stop with Ctrl-C.")
            server.wait()
    finally:
        server.stop()
        worker.stop()
        if sink is not None:
            sink.stop()
        hub.engine.dispose()
    return built


def _env(value: object) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _build(console: Console, hub: Hub, url: str, customers: int, seed: int) -> Built:
    token = hub.tokens.create("demo-builder", "admin")[1]
    started = time.monotonic()
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console) as progress, demo_client(url) as client:

        def step(description: str, total: int) -> Callable[[int], None]:
            task = progress.add_task(description, total=total)
            return lambda n: progress.advance(task, n)

        built = DemoBuilder(client, token, seed, customers, hub.clock.now()).run(step)
    hub.tokens.revoke("demo-builder")
    console.print(
        f"Demo retailer built in {time.monotonic() - started:.0f} s: {built.customers} customers, "
        f"{built.events} events, {built.reservations} reservations, {built.orders} click & collect orders, "
        f"{built.messages} messages and tasks."
    )
    return built


def _tell(console: Console, url: str, logins: Path) -> None:
    console.print(f"\n[bold]Console:[/bold] {url}/console")
    if logins.exists():
        console.print(f"Log in as (from {logins}):")
        console.print(logins.read_text(encoding="utf-8"), markup=False, highlight=False)
    else:
        console.print(
            "No demo logins on file; create a user with: omnikanal user create --username NAME --role admin"
        )
