"""The ``omnikanal analytics`` commands: refresh the columnar copy, import costs, attribution, export.

Installed by the command's module (``omnikanal.cli``), which hands in how to get a hub; this module
knows only the analytics service.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from omnikanal.analytics.export import REPORTS, report_csv
from omnikanal.analytics.service import ENGINES, Analytics
from omnikanal.errors import InvalidInput, NotFound

HubOpener = Callable[[], AbstractContextManager[Any]]


class Commands:
    """The commands, bound to how the command's module opens a hub and prints."""

    def __init__(self, open_hub: HubOpener, console: Console) -> None:
        self._open_hub = open_hub
        self._console = console

    def refresh(self) -> None:
        """Re-key merged profiles and append new touchpoints to the columnar copy (Parquet)."""
        with self._open_hub() as hub:
            analytics: Analytics = hub.analytics
            columns = (TextColumn("copying touchpoints"), BarColumn(), MofNCompleteColumn())
            with Progress(*columns, console=self._console) as progress:
                task = progress.add_task("rows", total=analytics.behind_total())
                result = analytics.refresh(lambda n: progress.advance(task, n))
        self._console.print(
            f"{result['appended']} touchpoints appended, {result['rekeyed']} re-keyed; "
            f"copy up to event {result['last_seq']}"
        )

    def import_costs(
        self,
        file: Annotated[Path, typer.Argument(help="a CSV file of media spend", exists=True, dir_okay=False)],
        errors: Annotated[int, typer.Option(help="how many row errors to print")] = 50,
    ) -> None:
        """Import media spend; valid rows are kept, failed rows listed by line and field (exit code 1)."""
        text = file.read_text(encoding="utf-8-sig")
        total = max(sum(1 for line in text.splitlines() if line.strip()) - 1, 0)
        with self._open_hub() as hub:
            analytics: Analytics = hub.analytics
            columns = (TextColumn("importing"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
            with Progress(*columns, console=self._console) as progress:
                task = progress.add_task("rows", total=total)
                report = analytics.import_costs(
                    text, f"import:{file.name}", lambda n: progress.advance(task, n)
                )
                progress.update(task, completed=total)
        self._console.print(
            f"{report['rows']} rows: {report['imported']} imported, {len(report['errors'])} failed"
        )
        if report["errors"]:
            table = Table("line", "field", "message")
            for error in report["errors"][:errors]:
                table.add_row(str(error["line"]), error["field"], error["message"])
            self._console.print(table)
            raise typer.Exit(code=1)

    def attribution(
        self,
        model: Annotated[str, typer.Option(help="all or one model")] = "all",
        dimension: Annotated[str, typer.Option(help="channel, source, medium or campaign")] = "channel",
        since: Annotated[str | None, typer.Option(help="ISO 8601 date or time")] = None,
        until: Annotated[str | None, typer.Option(help="ISO 8601 date or time")] = None,
        lookback: Annotated[str | None, typer.Option(help="ISO 8601 duration, e.g. P30D")] = None,
        engine: Annotated[str | None, typer.Option(help="duckdb or database")] = None,
        backend: Annotated[
            str | None, typer.Option(help="duckdb or spark: what computes over the columnar copy")
        ] = None,
    ) -> None:
        """Conversions credited per key, every model side by side (shares of conversions)."""
        params = {"since": since, "until": until, "lookback": lookback}
        with self._open_hub() as hub:
            analytics: Analytics = hub.analytics
            q = analytics.ask(model=model, dimension=dimension, **{k: v for k, v in params.items() if v})
            answer = analytics.attribution(q, engine, backend)
        models = answer.get("models") or [answer["model"]]
        table = Table(dimension, *models)
        for row in answer["rows"]:
            shares = [row["models"][m]["share"] for m in models] if "models" in row else [row["share"]]
            table.add_row(row["key"], *(f"{s:.1%}" for s in shares))
        self._console.print(table)
        self._console.print(
            f"{answer['conversions']} conversions, value {answer['value']} {answer['currency']}"
        )

    def export(
        self,
        output: Annotated[Path, typer.Option(help="the CSV file; a folder for every report")],
        report: Annotated[str | None, typer.Option(help=f"one of {', '.join(REPORTS)}; default all")] = None,
        model: Annotated[str, typer.Option(help="all or one model")] = "all",
        dimension: Annotated[str, typer.Option(help="channel, source, medium or campaign")] = "channel",
        since: Annotated[str | None, typer.Option(help="ISO 8601 date or time")] = None,
        until: Annotated[str | None, typer.Option(help="ISO 8601 date or time")] = None,
        lookback: Annotated[str | None, typer.Option(help="ISO 8601 duration, e.g. P30D")] = None,
        conversion: Annotated[str | None, typer.Option(help="the conversion event")] = None,
        segment: Annotated[
            str | None, typer.Option(help="a segment's id: omnichannel of its current members")
        ] = None,
        engine: Annotated[str | None, typer.Option(help="duckdb or database")] = None,
    ) -> None:
        """Write reports as CSV, the same figures as the API and the console's downloads."""
        if report is not None and report not in REPORTS:
            _bad_option(self._console, "report", f"one of {', '.join(REPORTS)}")
        names = [report] if report else list(REPORTS)
        if report is None and output.exists() and not output.is_dir():
            _bad_option(self._console, "output", "a folder for every report (--report for one file)")
        if report is None or output.is_dir():
            output.mkdir(parents=True, exist_ok=True)
            targets = [output / f"{name}.csv" for name in names]
        else:
            targets = [output]
        if engine is not None and engine not in ENGINES:
            _bad_option(self._console, "engine", f"one of {', '.join(ENGINES)}")
        params = {"since": since, "until": until, "lookback": lookback, "conversion": conversion}
        with self._open_hub() as hub:
            try:
                self._write(
                    hub.analytics,
                    names,
                    targets,
                    (engine, segment),
                    model=model,
                    dimension=dimension,
                    **params,
                )
            except (InvalidInput, NotFound) as exc:
                _bad_option(self._console, exc.field or "report", exc.message.split(": ", 1)[-1])
        for target in targets:
            self._console.print(f"wrote {target}")

    def _write(
        self,
        analytics: Analytics,
        names: list[str],
        targets: list[Path],
        on: tuple[str | None, str | None],
        **params: Any,
    ) -> None:
        q = analytics.ask(**{k: v for k, v in params.items() if v})
        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
        with Progress(*columns, console=self._console) as progress:
            task = progress.add_task("exporting", total=len(names))
            for name, target in zip(names, targets, strict=True):
                progress.update(task, description=f"exporting {name}")
                target.write_text(report_csv(analytics, q, name, *on), encoding="utf-8")
                progress.advance(task)


def _bad_option(console: Console, field: str, message: str) -> NoReturn:
    """A bad value ends the command with the option's name and exit code 2."""
    console.print(f"[red]error[/red]: --{field.replace('_', '-')}: {message}")
    raise typer.Exit(code=2)


def install(parent: typer.Typer, open_hub: HubOpener, console: Console) -> None:
    app = typer.Typer(help="Attribution, media costs and returns.", no_args_is_help=True)
    parent.add_typer(app, name="analytics")
    commands = Commands(open_hub, console)
    app.command("refresh")(commands.refresh)
    app.command("import-costs")(commands.import_costs)
    app.command("attribution")(commands.attribution)
    app.command("export")(commands.export)
