"""The ``omnikanal retention`` commands: remove data past its configured maximum age.

Installed by the command's module (``omnikanal.cli``), which hands in how to get a hub; that
owns settings and error handling.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TaskID, TextColumn

HubOpener = Callable[[], AbstractContextManager[Any]]


class Commands:
    def __init__(self, open_hub: HubOpener, console: Console) -> None:
        self.open_hub = open_hub
        self.console = console

    def run(self) -> None:
        """Remove old events (per OMNIKANAL_RETENTION_DAYS) and long-inactive anonymous profiles now."""
        with (
            self.open_hub() as hub,
            Progress(
                SpinnerColumn(),
                TextColumn("{task.description}"),
                TextColumn("{task.completed} removed"),
                console=self.console,
            ) as progress,
        ):
            tasks: dict[str, TaskID] = {}

            def report(what: str, removed: int) -> None:
                if what not in tasks:
                    tasks[what] = progress.add_task(what, total=None)
                progress.update(tasks[what], advance=removed)

            result = hub.retention.run(report)
        for key, count in result.events_removed.items():
            self.console.print(f"events ({key}): {count} removed")
        self.console.print(f"anonymous profiles: {result.profiles_removed} removed")


def install(parent: typer.Typer, open_hub: HubOpener, console: Console) -> None:
    app = typer.Typer(help="Retention: remove data past its configured maximum age.", no_args_is_help=True)
    parent.add_typer(app, name="retention")
    app.command("run")(Commands(open_hub, console).run)
