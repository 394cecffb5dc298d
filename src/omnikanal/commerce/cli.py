"""The ``omnikanal catalogue`` commands: products, variants and prices.

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

    def import_(
        self,
        file: Annotated[Path, typer.Argument(help="a CSV or JSON Lines file", exists=True, dir_okay=False)],
        format: Annotated[
            str | None, typer.Option("--format", help="csv or jsonl (default: from the file name)")
        ] = None,
        errors: Annotated[int, typer.Option(help="how many row errors to print")] = 50,
    ) -> None:
        """Import products; valid rows are imported, failed rows listed with their reason (exit code 1)."""
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        from omnikanal.commerce.importer import FORMATS

        fmt = format or ("jsonl" if file.suffix.lower() in (".jsonl", ".ndjson") else "csv")
        if fmt not in FORMATS:
            self.console.print(f"[red]error[/red]: --format must be one of: {', '.join(FORMATS)}")
            raise typer.Exit(code=2)
        with file.open(encoding="utf-8-sig", newline="") as counting:
            total = max(sum(1 for _ in counting) - (1 if fmt == "csv" else 0), 0)
        with self.open_hub() as hub, file.open(encoding="utf-8-sig", newline="") as handle:
            columns = (TextColumn("importing"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
            with Progress(*columns, console=self.console) as progress:
                task = progress.add_task("rows", total=total)
                report = hub.commerce.importer.run(handle, fmt, lambda n: progress.advance(task, n))
        self.console.print(
            f"{report.rows} rows: {report.imported} imported ({report.created_products} new products), "
            f"{len(report.errors) + report.more_errors} failed"
        )
        if report.errors:
            table = Table("row", "code", "field", "message")
            for error in report.errors[:errors]:
                table.add_row(str(error["row"]), error["code"], error["field"] or "", error["message"])
            self.console.print(table)
            raise typer.Exit(code=1)


def install(parent: typer.Typer, open_hub: HubOpener, console: Console) -> None:
    app = typer.Typer(help="Products, variants and prices.", no_args_is_help=True)
    parent.add_typer(app, name="catalogue")
    app.command("import")(Commands(open_hub, console).import_)
