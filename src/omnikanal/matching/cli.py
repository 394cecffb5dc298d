"""The ``omnikanal matching`` commands: train, run (every profile once), evaluate (labelled data).

The hub comes from the caller (``omnikanal.cli``), which owns settings and error handling.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from omnikanal.matching.generate import generate
from omnikanal.settings import load_settings

HubFactory = Callable[[], AbstractContextManager[Any]]
Backend = Annotated[
    str | None,
    typer.Option(
        help="duckdb (in-process) or spark (Splink's Spark backend); default: OMNIKANAL_MATCHING_BACKEND"
    ),
]


class _Commands:
    def __init__(self, hub_factory: HubFactory, console: Console) -> None:
        self.hub_factory = hub_factory
        self.console = console

    def train(
        self,
        model_file: Annotated[
            Path | None, typer.Option(help="keep this model file (JSON) instead of training", dir_okay=False)
        ] = None,
        backend: Backend = None,
    ) -> None:
        """Estimate the model from the hub's profiles (no labels needed), or keep a model file."""
        with self.hub_factory() as hub:
            if model_file is not None:
                try:
                    document = json.loads(model_file.read_text(encoding="utf-8"))
                except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
                    self.console.print(f"[red]error[/red] (model_file): not a JSON model: {exc}")
                    raise typer.Exit(code=2) from None
                self.console.print(f"model {hub.matching.import_model(document)} kept")
                return
            with self.console.status("building cards"):
                hub.matching.refresh_all()
            with self.console.status("training"):
                result = hub.matching.train(backend)
        self.console.print(
            f"model {result['id']} trained on {result['records']} profiles "
            f"(Splink {result['splink_version']})"
        )

    def run(self, backend: Backend = None) -> None:
        """Compare every profile once; returns when its merges are committed (reviews are not merges)."""
        with self.hub_factory() as hub:
            total = hub.matching.live_profiles()
            with Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=self.console,
            ) as progress:
                task = progress.add_task("profiles", total=total)
                report = hub.matching.run_all(lambda n: progress.advance(task, n), backend)
        table = Table("what", "count")
        for key, value in report.as_dict().items():
            if key != "refusals":
                table.add_row(key, str(value))
        for reason, count in sorted(report.refusals.items()):
            table.add_row(f"refused: {reason}", str(count))
        self.console.print(table)

    def evaluate(
        self,
        records: Annotated[int, typer.Option(min=100, max=1_000_000, help="generated records")] = 5000,
        seed: Annotated[int, typer.Option(help="seed of the generator")] = 7,
        labelled: Annotated[
            Path | None,
            typer.Option(help="a labelled CSV (record_id, person_id, traits) instead", dir_okay=False),
        ] = None,
    ) -> None:
        """Precision, recall and F1 (pairs and clusters) at the configured thresholds."""
        # imported here: it brings Splink, which no other command of the CLI (serve, worker) needs
        from omnikanal.matching.evaluate import evaluate as run_evaluation
        from omnikanal.matching.evaluate import read_labelled

        settings = load_settings()
        if labelled is not None:
            try:
                data = read_labelled(labelled.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, ValueError) as exc:
                self.console.print(f"[red]error[/red] (labelled): {exc}")
                raise typer.Exit(code=2) from None
        else:
            data = generate(records, seed=seed)
        thresholds = sorted({settings.matching_review_threshold, settings.matching_merge_threshold})
        with self.console.status(f"training and scoring {len(data)} records"):
            scores = run_evaluation(data, thresholds, settings.default_phone_region)
        table = Table(
            "threshold", "pairs", "true", "precision", "recall", "F1", "cluster P", "cluster R", "cluster F1"
        )
        for s in scores:
            table.add_row(
                f"{s.threshold:g}",
                str(s.predicted),
                str(s.true_pairs),
                f"{s.precision:.3f}",
                f"{s.recall:.3f}",
                f"{s.f1:.3f}",
                f"{s.cluster_precision:.3f}",
                f"{s.cluster_recall:.3f}",
                f"{s.cluster_f1:.3f}",
            )
        self.console.print(table)


def matching_app(
    hub_factory: HubFactory, console: Console, help: str = "Probabilistic identity matching (Splink)."
) -> typer.Typer:
    app = typer.Typer(help=help, no_args_is_help=True)
    commands = _Commands(hub_factory, console)
    app.command("train")(commands.train)
    app.command("run")(commands.run)
    app.command("match", help="Compare every profile once (the same as run).")(commands.run)
    app.command("evaluate")(commands.evaluate)
    return app
