"""The ``omnikanal journeys`` commands: timer workers and document checks.

Installed by the command's module (``omnikanal.cli``), which hands in how to get a hub; that
owns settings and error handling.
"""

from __future__ import annotations

import signal
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

HubOpener = Callable[[], AbstractContextManager[Any]]


class Commands:
    def __init__(self, open_hub: HubOpener, console: Console) -> None:
        self.open_hub = open_hub
        self.console = console

    def work(
        self,
        once: Annotated[bool, typer.Option("--once", help="fire what is due now, then stop")] = False,
    ) -> None:
        """Fire due journey timers until stopped (Ctrl-C); run as many of these side by side as needed."""
        import threading

        with self.open_hub() as hub:
            if once:
                self.console.print(f"{hub.journey_worker.run_until_done()} timers fired")
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
            self.console.print(f"{fired} timers fired")

    def validate(
        self,
        file: Annotated[
            Path, typer.Argument(help="a journey document (YAML or JSON)", exists=True, dir_okay=False)
        ],
    ) -> None:
        """Check a journey document against the schema, the rules and this hub's segments and traits."""
        from omnikanal.journeys.model import load_text

        with self.open_hub() as hub:
            document = load_text(
                file.read_bytes(), "application/yaml", hub.settings.journey_max_document_depth
            )
            result = hub.journeys.validate(document)
        for warning in result["warnings"]:
            self.console.print(f"[yellow]warning[/yellow] ({warning['code']}): {warning['message']}")
        self.console.print("valid")


def install(parent: typer.Typer, open_hub: HubOpener, console: Console) -> None:
    app = typer.Typer(help="Journeys: timer workers and document checks.", no_args_is_help=True)
    parent.add_typer(app, name="journeys")
    commands = Commands(open_hub, console)
    app.command("work")(commands.work)
    app.command("validate")(commands.validate)
