"""``omnikanal import customers FILE``: a customer file through the same path as tracked events.

The hub comes from the caller (``omnikanal.cli``), which owns settings and error handling.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from omnikanal.errors import NotFound, OmnikanalError
from omnikanal.profiles.customer_import import Row, decode, read_rows

HubFactory = Callable[[], AbstractContextManager[Any]]
# Events per ingest call: one transaction each, as a /v1/batch request of Segment's size.
CHUNK = 500


def import_app(hub_factory: HubFactory, console: Console) -> typer.Typer:
    app = typer.Typer(help="Import records from files.", no_args_is_help=True)

    @app.command("customers")
    def customers(
        file: Annotated[
            Path, typer.Argument(help="a CSV file, one customer a row", exists=True, dir_okay=False)
        ],
        source: Annotated[
            str, typer.Option(help="the source the records come from (made, channel erp, if missing)")
        ] = "customer-import",
        encoding: Annotated[str | None, typer.Option(help="utf-8 (default), cp1252 or latin-1")] = None,
        errors: Annotated[int, typer.Option(min=0, help="how many row errors to print")] = 50,
    ) -> None:
        """Import customers (names, birthday, address, email, phone, store, customer number); each row
        becomes an identify event. Valid rows are imported, failed rows listed with their reason (exit
        code 1); matching then compares them with every profile."""
        try:
            rows = list(read_rows(decode(file.read_bytes(), encoding)))
        except OmnikanalError as exc:
            console.print(f"[red]error[/red] ({exc.field}): {exc.message}")
            raise typer.Exit(code=2) from None
        with hub_factory() as hub:
            try:
                origin = hub.sources.get(source)
            except NotFound:
                origin = hub.sources.create(source, "erp")[0]
            failed = [
                (row.number, "invalid_row", row.field, row.problem or "") for row in rows if not row.event
            ]
            good = [row for row in rows if row.event]
            imported = duplicates = 0
            columns = (TextColumn("importing"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
            with Progress(*columns, console=console) as progress:
                task = progress.add_task("rows", total=len(rows))
                progress.advance(task, len(failed))
                for start in range(0, len(good), CHUNK):
                    chunk = good[start : start + CHUNK]
                    result = hub.ingest.ingest(origin, [row.event for row in chunk])
                    imported += result.accepted
                    duplicates += result.duplicates
                    failed.extend(_quarantined(chunk, result.quarantined))
                    progress.advance(task, len(chunk))
        console.print(
            f"{len(rows)} rows: {imported} imported, {duplicates} already imported, {len(failed)} failed "
            f"(source {origin.name})"
        )
        if failed:
            table = Table("row", "code", "field", "message")
            for number, code, field, message in sorted(failed)[:errors]:
                table.add_row(str(number), code, field or "", message)
            console.print(table)
            raise typer.Exit(code=1)

    return app


def _quarantined(chunk: list[Row], quarantined: list[Any]) -> list[tuple[int, str, str | None, str]]:
    return [(chunk[q.index].number, q.code, q.field, q.message) for q in quarantined]
