"""The overview: events and active customers per channel per day, the share of customers who use
more than one channel, messages sent and opened, revenue per channel; drawn with plotly.js."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import HTMLResponse

from omnikanal.clock import isoformat
from omnikanal.console import queries
from omnikanal.console.chart_tables import table
from omnikanal.console.formats import CHART_SEPARATORS
from omnikanal.console.frame import Ctx, page_of
from omnikanal.db.engine import read_tx

if TYPE_CHECKING:  # the composition root, as a type only: routers do not import it
    from omnikanal.hub import Hub

log = logging.getLogger(__name__)

router = APIRouter(include_in_schema=False)
OverviewPage = Annotated[Ctx, Depends(page_of("overview"))]

_LAYOUT: dict[str, Any] = {
    "margin": {"l": 50, "r": 10, "t": 10, "b": 110},
    "xaxis": {"type": "category", "tickangle": -45, "nticks": 12},
    "height": 360,
    # Below the rotated day labels of the x axis.
    "legend": {"orientation": "h", "y": -0.45},
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


@dataclass(frozen=True)
class Aggregates:
    """The overview's numbers, in no language: what the cache keeps."""

    activity: list[tuple[str, str, int, int]]
    mix: tuple[int, int]
    message_days: list[tuple[str, str, int]]
    revenue: list[tuple[str, int]]
    at: datetime


def aggregates(hub: Hub) -> Aggregates:
    now = hub.clock.now()
    since = now - timedelta(days=hub.settings.console_overview_days)
    with read_tx(hub.engine) as conn:
        return Aggregates(
            queries.activity(conn, since),
            queries.channel_mix(conn, since),
            queries.message_days(conn, since),
            queries.revenue(conn, since),
            now,
        )


class OverviewCache:
    """The aggregates scan every event of the window, which takes longer than a page may. They are
    kept for ``console_overview_cache_seconds``; an older copy is served while a background thread
    computes the next one, so only the very first request of a process waits for the scan."""

    def __init__(self, hub: Hub) -> None:
        self._hub = hub
        self._lock = threading.Lock()
        self._value: Aggregates | None = None
        self._computed = 0.0
        self._refreshing = False

    def get(self) -> Aggregates:
        ttl = self._hub.settings.console_overview_cache_seconds
        with self._lock:
            value, age = self._value, time.monotonic() - self._computed
            stale = value is not None and age >= ttl and not self._refreshing
            if stale:
                self._refreshing = True
        if value is None or ttl <= 0:
            return self._compute()
        if stale:
            threading.Thread(target=self._refresh, name="console-overview", daemon=True).start()
        return value

    @property
    def ready(self) -> bool:
        """Whether figures are at hand (a request would not wait for the scan)."""
        with self._lock:
            return self._value is not None

    def warm(self) -> None:
        """Compute the figures in the background now (at start-up), so that not even the first
        request of the process waits for the scan."""
        with self._lock:
            if self._value is not None or self._refreshing:
                return
            self._refreshing = True
        threading.Thread(target=self._refresh, name="console-overview", daemon=True).start()

    def _compute(self) -> Aggregates:
        value = aggregates(self._hub)
        with self._lock:
            self._value, self._computed = value, time.monotonic()
        return value

    def _refresh(self) -> None:
        try:
            self._compute()
        except Exception:  # the next request tries again; the page keeps the older figures
            log.exception("the overview's figures could not be computed")
        finally:
            with self._lock:
                self._refreshing = False


def cache_of(request: Request, hub: Hub) -> OverviewCache:
    return _cache(request.app, hub)


def _cache(app: FastAPI, hub: Hub) -> OverviewCache:
    cache: OverviewCache | None = getattr(app.state, "console_overview", None)
    if cache is None:
        cache = OverviewCache(hub)
        app.state.console_overview = cache
    return cache


def warm(app: FastAPI, hub: Hub) -> None:
    """Start computing the overview's figures (a serving process calls this when it starts)."""
    if hub.settings.console_overview_cache_seconds > 0:
        _cache(app, hub).warm()


def figures(ctx: Ctx, numbers: Aggregates) -> dict[str, Any]:
    hub, t = ctx.hub, ctx.t
    activity, (single, multi) = numbers.activity, numbers.mix
    message_days, revenue = numbers.message_days, numbers.revenue
    # Every day of the window, so a quiet day shows as zero rather than as a gap.
    today = numbers.at.date()
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
        "multi_share": multi / customers if customers else 0.0,
        "sent": sum(sent.values()),
        "opened": sum(opened.values()),
        "revenue": round(sum(c for _, c in revenue) / 100, 2),
        "days": hub.settings.console_overview_days,
        "at": isoformat(numbers.at),
    }
    separators = CHART_SEPARATORS.get(ctx.lang, CHART_SEPARATORS["de"])
    for chart in charts.values():
        chart["layout"] = {**chart["layout"], "separators": separators}
    heads = {"multichannel": ("", t["customers"]), "revenue": (t["channel"], t["chart_revenue"])}
    tables = {key: table(chart, *heads.get(key, (t["day"], ""))) for key, chart in charts.items()}
    return {"charts": charts, "tables": tables, "summary": summary}


@router.get("/console", response_class=HTMLResponse)
def overview(ctx: OverviewPage) -> HTMLResponse:
    numbers = cache_of(ctx.request, ctx.hub).get()
    return ctx.page("overview.html", title=ctx.t["nav_overview"], current="overview", **figures(ctx, numbers))
