"""The ``omnikanal token`` commands: API tokens for staff tools and systems.

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
        name: Annotated[str, typer.Option(help="who or what uses the token")],
        role: Annotated[str, typer.Option(help=f"one of: {', '.join(ROLES)}")],
        store: Annotated[
            str | None, typer.Option(help="tie the token to one store (location id): a till system")
        ] = None,
    ) -> None:
        """Create an API token; it is printed alone on the last line."""
        with self.open_hub() as hub:
            token, secret = hub.tokens.create(name, role, store)
            self.console.print(f"token {token.name} ({token.role}) created as {token.id}:")
            print(secret)

    def list_(self) -> None:
        """List API tokens (never their secrets)."""
        table = Table("id", "name", "role", "created", "revoked")
        with self.open_hub() as hub:
            for t in hub.tokens.list():
                table.add_row(
                    t.id, t.name, t.role, isoformat(t.created_at) or "", isoformat(t.revoked_at) or ""
                )
        self.console.print(table)

    def revoke(self, ref: Annotated[str, typer.Argument(help="token id or name")]) -> None:
        """Revoke an API token."""
        with self.open_hub() as hub:
            hub.tokens.revoke(ref)
            self.console.print(f"token {ref} revoked")


def install(parent: typer.Typer, open_hub: HubOpener, console: Console) -> None:
    app = typer.Typer(help="API tokens for staff tools and systems.", no_args_is_help=True)
    parent.add_typer(app, name="token")
    commands = Commands(open_hub, console)
    app.command("create")(commands.create)
    app.command("list")(commands.list_)
    app.command("revoke")(commands.revoke)
