"""The ``omnikanal segments`` commands: segments and computed traits from definition files.

Installed by the command's module (``omnikanal.cli``), which hands in how to get a hub; that
owns settings and error handling.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

HubOpener = Callable[[], AbstractContextManager[Any]]


class Commands:
    def __init__(self, open_hub: HubOpener, console: Console) -> None:
        self.open_hub = open_hub
        self.console = console

    def apply(
        self,
        files_: Annotated[
            list[Path],
            typer.Argument(metavar="FILE...", help="YAML (or .json) definition files", dir_okay=False),
        ],
    ) -> None:
        """Create or update the segments and computed traits of definition files, by name.

        Every file is checked before anything is applied; nothing is deleted.
        """
        from omnikanal.segments import files

        with self.open_hub() as hub:
            documents = [(path, files.read(path)) for path in files_]
            for path, document in documents:
                files.check(hub.segments, document, str(path))
            table = Table("file", "kind", "name", "outcome")
            for path, document in documents:
                for applied in files.apply(hub.segments, document, str(path), f"file:{path.name}"):
                    table.add_row(str(path), applied.kind, applied.name, applied.outcome)
            self.console.print(table)

    def list_(self) -> None:
        """The segments with their member counts."""
        with self.open_hub() as hub:
            table = Table("id", "name", "members", "computed at")
            for segment in hub.segments.all():
                count = str(segment["member_count"])
                table.add_row(segment["id"], segment["name"], count, segment["computed_at"] or "")
            self.console.print(table)


def install(parent: typer.Typer, open_hub: HubOpener, console: Console) -> None:
    app = typer.Typer(help="Segments and computed traits.", no_args_is_help=True)
    parent.add_typer(app, name="segments")
    commands = Commands(open_hub, console)
    app.command("apply")(commands.apply)
    app.command("list")(commands.list_)
