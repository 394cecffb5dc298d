"""The reports as CSV tables: one writer and one set of rows for the console's download and the
``omnikanal analytics export`` command, so both give the same figures as the API."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from typing import Any

from omnikanal.errors import InvalidInput

REPORTS = ("attribution", "returns", "customers", "paths", "omnichannel", "costs", "own_costs")
RETURNS_FIELDS = (
    "model",
    "key",
    "conversions",
    "revenue",
    "cost",
    "roas",
    "roi",
    "cost_per_conversion",
    "cost_from",
)
PATHS_LIMIT = 100
OMNICHANNEL_DAYS = 14
COSTS_LIMIT = 10_000


def csv_text(rows: list[dict[str, Any]], fields: tuple[str, ...] | None = None) -> str:
    """Rows as CSV with a header (the first row's keys unless given); lists joined by spaces."""
    out = io.StringIO()
    names = list(fields) if fields else list(rows[0]) if rows else []
    if names:
        writer = csv.DictWriter(out, fieldnames=names, extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: " ".join(v) if isinstance(v, list) else v for k, v in row.items()})
    return out.getvalue()


def attribution_rows(answer: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per model and key: the credited conversions, value and share."""
    if "models" not in answer:
        return [{"model": answer["model"], **row} for row in answer["rows"]]
    return [
        {"model": m, "key": row["key"], **row["models"][m]}
        for m in answer["models"]
        for row in answer["rows"]
    ]


def returns_table(answer: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per model and key: revenue net of returns, cost, ROAS, ROI, cost per conversion."""
    return [
        {**{k: row.get(k) for k in RETURNS_FIELDS}, "model": name, "cost_from": row["cost_from"]}
        for name, rows in answer["models"].items()
        for row in rows
    ]


def preference_rows(answer: dict[str, Any]) -> list[dict[str, Any]]:
    """Channel preference per product category, one row per category and channel."""
    return [
        {"category": p["category"], "channel": ch, **cell}
        for p in answer["preference"]
        for ch, cell in p["channels"].items()
    ]


def report_rows(
    service: Any, q: Any, report: str, engine: str | None = None, segment: str | None = None
) -> list[dict[str, Any]]:
    """The rows of one report, from the same service calls the API answers with (channel
    preference of a segment's current members if one is given)."""
    since, until = q.window.since, q.window.until
    makers: dict[str, Callable[[], list[dict[str, Any]]]] = {
        "attribution": lambda: attribution_rows(service.attribution(q, engine)),
        "returns": lambda: returns_table(service.returns(q, engine)),
        "customers": lambda: service.customers(q, engine)["groups"],
        "paths": lambda: service.top_paths(q, PATHS_LIMIT, engine)["top"],
        "omnichannel": lambda: preference_rows(service.omnichannel(q, OMNICHANNEL_DAYS, segment)),
        "costs": lambda: service.list_costs(since, until, COSTS_LIMIT)["costs"],
        "own_costs": lambda: service.own_costs(since, until)["lines"],
    }
    if report not in makers:
        raise InvalidInput("invalid_report", f"report: one of {', '.join(REPORTS)}", "report")
    return makers[report]()


def report_csv(
    service: Any, q: Any, report: str, engine: str | None = None, segment: str | None = None
) -> str:
    rows = report_rows(service, q, report, engine, segment)
    return csv_text(rows, RETURNS_FIELDS if report == "returns" else None)
