"""The ``omnikanal recommend`` commands: train (with a progress bar) and show the model in force.

The hub comes from the caller (``omnikanal.cli``), which owns settings and error handling.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

HubFactory = Callable[[], AbstractContextManager[Any]]


class _Commands:
    def __init__(self, hub_factory: HubFactory, console: Console) -> None:
        self.hub_factory = hub_factory
        self.console = console

    def train(
        self,
        window_days: Annotated[
            int | None, typer.Option(min=1, max=3650, help="only the last this many days (default: setting)")
        ] = None,
    ) -> None:
        """Train the recommendation model on the interactions and store it as the newest version."""
        with (
            self.hub_factory() as hub,
            Progress(
                TextColumn("ALS iterations"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=self.console,
            ) as progress,
        ):
            task = progress.add_task("train", total=hub.recommend.params.iterations)

            def step(done: int, total: int) -> None:
                progress.update(task, completed=done, total=total)

            model = hub.recommend.train(window_days=window_days, progress=step)
        self._show(model)

    def status(self) -> None:
        """The model in force: its version, when it was trained, on what, and how long it took."""
        with self.hub_factory() as hub:
            model = hub.recommend.model()
        if model is None:
            self.console.print("no model trained yet: omnikanal recommend train")
            raise typer.Exit(code=1)
        self._show(model)

    def _show(self, model: dict[str, Any]) -> None:
        table = Table(title=f"recommendation model {model['version']} ({model['algorithm']})")
        table.add_column("figure")
        table.add_column("value", justify="right")
        table.add_row("trained at", str(model["trained_at"]))
        for key, value in model["figures"].items():
            table.add_row(key.replace("_", " "), str(value))
        self.console.print(table)
        if not model["figures"].get("customers"):
            self.console.print("no interactions to learn from: answers are empty until some come in")


def recommend_app(hub_factory: HubFactory, console: Console) -> typer.Typer:
    app = typer.Typer(help="Product recommendations (implicit-feedback ALS).", no_args_is_help=True)
    commands = _Commands(hub_factory, console)
    app.command("train")(commands.train)
    app.command("status")(commands.status)
    return app
