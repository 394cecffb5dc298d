"""The analysis page for management: attribution models side by side, costs and returns per key,
multichannel against single-channel customers, the most common paths; the returns as CSV.

A read model over the analytics capability's public service only (no tables of its own)."""

from __future__ import annotations

import csv
import io
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import HTMLResponse, Response

from omnikanal.analytics.model import DIMENSIONS, MODELS
from omnikanal.console.frame import Ctx, page_of
from omnikanal.errors import InvalidInput

router = APIRouter(include_in_schema=False)
AnalyticsPage = Annotated[Ctx, Depends(page_of("analytics"))]
Text = Annotated[str | None, Query(max_length=40)]
CSV_FIELDS = (
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
) -> HTMLResponse:
    params = _params(since, until, dimension)
    chosen = model if model in MODELS else "last_non_direct"
    context: dict[str, Any] = {"params": params, "model": chosen, "models": MODELS, "dimensions": DIMENSIONS}
    try:
        q = _ask(ctx, params)
        service = ctx.hub.analytics
        context["attribution"] = service.attribution(q)
        context["returns"] = service.returns(q)["models"][chosen]
        context["groups"] = service.customers(q)["groups"]
        context["paths"] = service.top_paths(q, 10)["top"]
        context["error"] = None
    except InvalidInput as exc:
        context["error"] = exc.message
    return ctx.page("analytics.html", title=ctx.t["nav_analytics"], current="analytics", **context)


@router.get("/console/analytics.csv")
def analytics_csv(
    ctx: AnalyticsPage, since: Text = None, until: Text = None, dimension: Text = None
) -> Response:
    """Costs and returns of every model, one row per model and key."""
    q = _ask(ctx, _params(since, until, dimension))
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_FIELDS)
    writer.writeheader()
    for name, rows in ctx.hub.analytics.returns(q)["models"].items():
        for row in rows:
            values = {k: row.get(k) for k in CSV_FIELDS if k != "model"}
            writer.writerow({**values, "model": name, "cost_from": " ".join(row["cost_from"])})
    headers = {"Content-Disposition": 'attachment; filename="analytics.csv"'}
    return Response(out.getvalue(), media_type="text/csv", headers=headers)
