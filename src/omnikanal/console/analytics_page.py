"""The analysis page for management: attribution models side by side, costs and returns per key,
multichannel against single-channel customers, the most common paths; the returns as CSV.

A read model over the analytics capability's public service only (no tables of its own)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import HTMLResponse, Response

from omnikanal.analytics.export import csv_text, report_csv, report_rows
from omnikanal.analytics.model import DIMENSIONS, MODELS
from omnikanal.console.analytics_charts import sankey
from omnikanal.console.frame import Ctx, page_of
from omnikanal.errors import InvalidInput

router = APIRouter(include_in_schema=False)
AnalyticsPage = Annotated[Ctx, Depends(page_of("analytics"))]
Text = Annotated[str | None, Query(max_length=40)]
Segment = Annotated[str | None, Query(max_length=200)]
FUNNEL = ("Product Viewed", "Product Added", "Order Completed")


def _params(since: str | None, until: str | None, dimension: str | None) -> dict[str, Any]:
    chosen = dimension if dimension in DIMENSIONS else "channel"
    return {"since": since or None, "until": until or None, "dimension": chosen}


def _ask(ctx: Ctx, params: dict[str, Any]) -> Any:
    return ctx.hub.analytics.ask(model="all", **{k: v for k, v in params.items() if v})


@router.get("/console/analytics", response_class=HTMLResponse)
def analytics(
    ctx: AnalyticsPage,
    since: Text = None,
    until: Text = None,
    dimension: Text = None,
    model: Text = None,
    segment: Segment = None,
) -> HTMLResponse:
    params = _params(since, until, dimension)
    chosen = model if model in MODELS else "last_non_direct"
    segments, picked = _segments(ctx, segment)
    context: dict[str, Any] = {"params": params, "model": chosen, "models": MODELS, "dimensions": DIMENSIONS}
    context.update(segments=segments, segment=picked)
    try:
        q = _ask(ctx, params)
        service = ctx.hub.analytics
        context["attribution"] = service.attribution(q)
        context["returns"] = service.returns(q)["models"][chosen]
        context["groups"] = service.customers(q)["groups"]
        context["paths"] = service.top_paths(q, 20)["top"]
        context["sankey"] = sankey(context["paths"], ctx.t["an_purchase"])
        context["own_costs"] = service.own_costs(q.window.since, q.window.until)
        context["lifetime"] = service.lifetime_value(q, 365)
        context["omni"] = service.omnichannel(q, 14, picked)
        context["funnel"] = service.funnel(q, FUNNEL)["steps"]
        context["error"] = None
    except InvalidInput as exc:
        context["error"] = ctx.error(exc)
    return ctx.page("analytics.html", title=ctx.t["nav_analytics"], current="analytics", **context)


def _segments(ctx: Ctx, segment: str | None) -> tuple[list[dict[str, Any]], str | None]:
    """The segments to pick from (the segments service's list), and the picked one if it is among
    them (none: everyone)."""
    segments = [{"id": s["id"], "name": s["name"]} for s in ctx.hub.segments.all()]
    return segments, segment if any(s["id"] == segment for s in segments) else None


# the page's other tables: the export's report of the same rows, or lifetime value
TABLES = {"paths": "paths", "own_costs": "own_costs", "preference": "omnichannel"}


def _other_table(ctx: Ctx, q: Any, table: str, segment: str | None) -> list[dict[str, Any]]:
    service = ctx.hub.analytics
    if table == "lifetime_value":
        return service.lifetime_value(q, 365)["rows"]  # type: ignore[no-any-return]
    if table in TABLES:
        return report_rows(service, q, TABLES[table], segment=_segments(ctx, segment)[1])
    raise InvalidInput(
        "invalid_table", "table: returns, paths, own_costs, lifetime_value or preference", "table"
    )


@router.get("/console/analytics.csv")
def analytics_csv(
    ctx: AnalyticsPage,
    since: Text = None,
    until: Text = None,
    dimension: Text = None,
    table: Text = None,
    segment: Segment = None,
) -> Response:
    """Costs and returns of every model, one row per model and key; or another of the page's
    tables (``table``; channel preference of a ``segment``'s members if given)."""
    q = _ask(ctx, _params(since, until, dimension))
    if table and table != "returns":
        headers = {"Content-Disposition": f'attachment; filename="analytics-{table}.csv"'}
        return Response(
            csv_text(_other_table(ctx, q, table, segment)), media_type="text/csv", headers=headers
        )
    headers = {"Content-Disposition": 'attachment; filename="analytics.csv"'}
    return Response(report_csv(ctx.hub.analytics, q, "returns"), media_type="text/csv", headers=headers)
