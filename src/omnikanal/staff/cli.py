"""The ``omnikanal user`` commands: staff users of the console.

Installed by the command's module (``omnikanal.cli``), which hands in how to get a hub; that
owns settings and error handling.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from omnikanal.auth.model import ROLES
from omnikanal.clock import isoformat

HubOpener = Callable[[], AbstractContextManager[Any]]


class Commands:
    def __init__(self, open_hub: HubOpener, console: Console) -> None:
        self.open_hub = open_hub
        self.console = console

    def create(
        self,
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
        with self.open_hub() as hub:
            user = hub.staff.create_user(username, role, password, store)
            where = f", store {user.store_id}" if user.store_id else ""
            self.console.print(f"user {user.username} ({user.role}{where}) created")

    def list_(self) -> None:
        """List the staff users."""
        table = Table("username", "role", "store", "disabled", "created")
        with self.open_hub() as hub:
            for u in hub.staff.users():
                disabled = "yes" if u.disabled else "no"
                table.add_row(u.username, u.role, u.store_id or "", disabled, isoformat(u.created_at) or "")
        self.console.print(table)

    def disable(self, username: Annotated[str, typer.Argument(help="the user to disable")]) -> None:
        """Disable a staff user; their sessions end at once."""
        with self.open_hub() as hub:
            hub.staff.set_disabled(username, True)
            self.console.print(f"user {username} disabled")

    def enable(self, username: Annotated[str, typer.Argument(help="the user to enable again")]) -> None:
        """Let a disabled staff user log in again."""
        with self.open_hub() as hub:
            hub.staff.set_disabled(username, False)
            self.console.print(f"user {username} enabled")


def install(parent: typer.Typer, open_hub: HubOpener, console: Console) -> None:
    app = typer.Typer(help="Staff users of the console.", no_args_is_help=True)
    parent.add_typer(app, name="user")
    commands = Commands(open_hub, console)
    app.command("create")(commands.create)
    app.command("list")(commands.list_)
    app.command("disable")(commands.disable)
    app.command("enable")(commands.enable)
