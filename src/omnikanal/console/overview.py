"""The overview: events and active customers per channel per day, the share of customers who use
more than one channel, messages sent and opened, revenue per channel; drawn with plotly.js."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse

from omnikanal.console import queries
from omnikanal.console.frame import Ctx, page_of
from omnikanal.db.engine import read_tx

router = APIRouter(include_in_schema=False)
OverviewPage = Annotated[Ctx, Depends(page_of("overview"))]

_LAYOUT: dict[str, Any] = {
    "margin": {"l": 50, "r": 10, "t": 10, "b": 40},
    "xaxis": {"type": "category", "tickangle": -45, "nticks": 12},
    "height": 320,
    "legend": {"orientation": "h"},
    "font": {"family": "system-ui, sans-serif"},
}


def _lines(rows: dict[str, dict[str, int]], days: list[str]) -> dict[str, Any]:
    traces = [
        {
            "type": "scatter",
            "mode": "lines+markers",
            "name": channel,
            "x": days,
            "y": [per.get(d, 0) for d in days],
        }
        for channel, per in sorted(rows.items())
    ]
    return {"data": traces, "layout": _LAYOUT}


def figures(ctx: Ctx) -> dict[str, Any]:
    hub, t = ctx.hub, ctx.t
    since = hub.clock.now() - timedelta(days=hub.settings.console_overview_days)
    with read_tx(hub.engine) as conn:
        activity = queries.activity(conn, since)
        single, multi = queries.channel_mix(conn, since)
        message_days = queries.message_days(conn, since)
        revenue = queries.revenue(conn, since)
    # Every day of the window, so a quiet day shows as zero rather than as a gap.
    today = hub.clock.now().date()
    days = [
        (today - timedelta(days=n)).isoformat() for n in range(hub.settings.console_overview_days, -1, -1)
    ]
    events: dict[str, dict[str, int]] = {}
    active: dict[str, dict[str, int]] = {}
    for day, channel, count, customers in activity:
        events.setdefault(channel, {})[day] = count
        active.setdefault(channel, {})[day] = customers
    sent: dict[str, int] = {}
    opened: dict[str, int] = {}
    for day, status, count in message_days:
        (sent if status == "sent" else opened)[day] = count
    charts = {
        "events": _lines(events, days),
        "active": _lines(active, days),
        "multichannel": {
            "data": [
                {
                    "type": "pie",
                    "labels": [t["single_channel"], t["multi_channel"]],
                    "values": [single, multi],
                    "hole": 0.45,
                }
            ],
            "layout": {k: v for k, v in _LAYOUT.items() if k != "xaxis"},
        },
        "messages": {
            "data": [
                {"type": "bar", "name": t["sent"], "x": days, "y": [sent.get(d, 0) for d in days]},
                {"type": "bar", "name": t["opened"], "x": days, "y": [opened.get(d, 0) for d in days]},
            ],
            "layout": {**_LAYOUT, "barmode": "group"},
        },
        "revenue": {
            "data": [
                {
                    "type": "bar",
                    "x": [c for c, _ in revenue],
                    "y": [round(cents / 100, 2) for _, cents in revenue],
                }
            ],
            "layout": _LAYOUT,
        },
    }
    customers = single + multi
    summary = {
        "events": sum(n for _, _, n, _ in activity),
        "customers": customers,
        "multi_share": round(100 * multi / customers, 1) if customers else 0.0,
        "sent": sum(sent.values()),
        "opened": sum(opened.values()),
        "revenue": round(sum(c for _, c in revenue) / 100, 2),
        "days": hub.settings.console_overview_days,
    }
    return {"charts": charts, "summary": summary}


@router.get("/console", response_class=HTMLResponse)
def overview(ctx: OverviewPage) -> HTMLResponse:
    return ctx.page("overview.html", title=ctx.t["nav_overview"], current="overview", **figures(ctx))
