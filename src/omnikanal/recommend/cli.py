"""The ``omnikanal recommend`` commands: train (with a progress bar; the channel scores are
refreshed after it), show the model in force, evaluate, and refresh the channel scores alone.

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
            figures = hub.recommend_channels.refresh()
        self._show(model)
        self._show_channels(figures)

    def channels(self) -> None:
        """Refresh every customer's next-best-channel scores and the channels' population rates."""
        with self.hub_factory() as hub:
            figures = hub.recommend_channels.refresh()
        self._show_channels(figures)

    def _show_channels(self, figures: dict[str, Any]) -> None:
        self.console.print(
            f"channel scores of {figures['customers']:,} customers from {figures['messages']:,} messages"
        )
        table = Table(title="population rates (the prior of every score)")
        for column in ("channel", "messages", "acted on", "rate"):
            table.add_column(column, justify="left" if column == "channel" else "right")
        for channel, rate in figures["rates"].items():
            messages, reactions = figures["channels"].get(channel, (0, 0))
            table.add_row(channel, f"{messages:,}", f"{reactions:,}", f"{rate:.1%}")
        self.console.print(table)

    def status(self) -> None:
        """The model in force: its version, when it was trained, on what, and how long it took."""
        with self.hub_factory() as hub:
            model = hub.recommend.model()
        if model is None:
            self.console.print("no model trained yet: omnikanal recommend train")
            raise typer.Exit(code=1)
        self._show(model)

    def evaluate(
        self,
        generated: Annotated[
            int | None,
            typer.Option(
                min=1000, max=5_000_000, help="evaluate on a generated history of this many interactions"
            ),
        ] = None,
    ) -> None:
        """Time-based split (80/20): NDCG@10, recall@10 and coverage of the model and two baselines;
        before it, next best channel against the fixed order (a replay of the messages)."""
        from omnikanal.recommend import generate

        with self.hub_factory() as hub:
            rows = categories = None
            label = "the hub's interactions"
            if generated is not None:
                shop = generate.catalogue(max(200, generated // 500))
                rows = generate.history(generated, max(100, generated // 10), shop)
                categories = dict(shop.categories)
                label = f"a generated history of {len(rows):,} interactions"
            with self.console.status("training on the earlier 80 %"):
                scores = hub.recommend.evaluate(rows=rows, categories=categories)
            order = hub.settings.messaging_auto_fallback
            replay = hub.recommend_channels.evaluate(order)
            self._show_replay(replay, "the hub's messages")
            if generated is not None:
                sent = generate.messages(min(5000, max(100, generated // 100)))
                replay = hub.recommend_channels.evaluate(order, sent)
                self._show_replay(replay, f"{len(sent):,} generated messages")
        if not scores:
            self.console.print("nothing to evaluate: no customer has interactions before the split")
            raise typer.Exit(code=1)
        table = Table(title=f"offline evaluation on {label} (customers: {scores[0].customers:,})")
        for column in ("method", "NDCG@10", "recall@10", "coverage"):
            table.add_column(column, justify="left" if column == "method" else "right")
        for s in scores:
            table.add_row(s.method, f"{s.ndcg:.4f}", f"{s.recall:.4f}", f"{s.coverage:.1%}")
        self.console.print(table)

    def _show_replay(self, replay: Any, label: str) -> None:
        if not replay.occasions:
            self.console.print(
                f"next best channel ({label}): no message acted on by a customer with two channels yet"
            )
            return
        self.console.print(f"next best channel: replay of {replay.occasions:,} messages acted on ({label})")
        table = Table(title="how often the channel chosen was the one acted on")
        for column in ("method", "hit rate"):
            table.add_column(column, justify="left" if column == "method" else "right")
        table.add_row("next best channel", f"{replay.model_hits / replay.occasions:.1%}")
        table.add_row("fixed order", f"{replay.baseline_hits / replay.occasions:.1%}")
        self.console.print(table)

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
    app.command("evaluate")(commands.evaluate)
    app.command("channels")(commands.channels)
    return app
