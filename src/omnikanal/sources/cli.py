"""The ``omnikanal source`` commands: channel systems that send events, and their write keys.

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

from omnikanal.clock import isoformat
from omnikanal.sources.model import CHANNELS

HubOpener = Callable[[], AbstractContextManager[Any]]
SourceRef = Annotated[str, typer.Argument(help="source id or name")]
Public = Annotated[bool | None, typer.Option("--public/--not-public", help="rate limit per client address")]
IpPolicy = Annotated[str | None, typer.Option(help="keep, truncate or drop the IP address")]


class Commands:
    def __init__(self, open_hub: HubOpener, console: Console) -> None:
        self.open_hub = open_hub
        self.console = console

    def create(
        self,
        name: Annotated[str, typer.Option(help="a name for the channel system, e.g. 'webshop'")],
        channel: Annotated[str, typer.Option(help=f"business channel: {', '.join(CHANNELS)}")],
        origin: Annotated[
            list[str] | None,
            typer.Option(help="a page origin that may send from a browser (repeat for more)"),
        ] = None,
        public: Public = None,
        ip_policy: IpPolicy = None,
    ) -> None:
        """Create a source; its write key is printed alone on the last line."""
        with self.open_hub() as hub:
            source, key = hub.sources.create(
                name, channel, allowed_origins=origin or [], public=public, ip_policy=ip_policy
            )
            self.console.print(
                f"source {source.name} ({source.channel}) created as {source.id}; its write key:"
            )
            print(key)

    def list_(self) -> None:
        """List the sources."""
        table = Table("id", "name", "channel", "enabled", "created")
        with self.open_hub() as hub:
            for s in hub.sources.list():
                table.add_row(
                    s.id, s.name, s.channel, "yes" if s.enabled else "no", isoformat(s.created_at) or ""
                )
        self.console.print(table)

    def browser(
        self,
        ref: SourceRef,
        origin: Annotated[
            list[str] | None,
            typer.Option(help="an allowed page origin; the ones given replace the list (repeat for more)"),
        ] = None,
        no_origins: Annotated[bool, typer.Option("--no-origins", help="allow no browser origin")] = False,
        public: Public = None,
        ip_policy: IpPolicy = None,
    ) -> None:
        """Show or change what browsers may do with a source: allowed origins, public key, IP policy."""
        with self.open_hub() as hub:
            origins = [] if no_origins else origin
            if origins is not None or public is not None or ip_policy is not None:
                source = hub.sources.set_browser(
                    ref, allowed_origins=origins, public=public, ip_policy=ip_policy
                )
            else:
                source = hub.sources.get(ref)
            self.console.print(
                f"source {source.name}: origins {', '.join(source.allowed_origins) or '(none)'}; "
                f"public {'yes' if source.public else 'no'}; ip {source.ip_policy}"
            )

    def disable(self, ref: SourceRef) -> None:
        """Stop accepting events from a source."""
        with self.open_hub() as hub:
            source = hub.sources.set_enabled(ref, False)
            self.console.print(f"source {source.name} disabled")

    def enable(self, ref: SourceRef) -> None:
        """Accept events from a source again."""
        with self.open_hub() as hub:
            source = hub.sources.set_enabled(ref, True)
            self.console.print(f"source {source.name} enabled")

    def rotate_key(self, ref: SourceRef) -> None:
        """Give a source a new write key (printed alone on the last line); the old one stops working."""
        with self.open_hub() as hub:
            source, key = hub.sources.rotate_key(ref)
            self.console.print(f"new write key for {source.name}:")
            print(key)


def install(parent: typer.Typer, open_hub: HubOpener, console: Console) -> None:
    app = typer.Typer(help="Channel systems that send events (each has a write key).", no_args_is_help=True)
    parent.add_typer(app, name="source")
    commands = Commands(open_hub, console)
    app.command("create")(commands.create)
    app.command("list")(commands.list_)
    app.command("browser")(commands.browser)
    app.command("disable")(commands.disable)
    app.command("enable")(commands.enable)
    app.command("rotate-key")(commands.rotate_key)
