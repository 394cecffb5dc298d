"""Data quality: every source with its event rates, and the quarantined events with their reasons."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse

from omnikanal.console import queries
from omnikanal.console.frame import Ctx, page_of
from omnikanal.db.engine import read_tx

router = APIRouter(include_in_schema=False)
QualityPage = Annotated[Ctx, Depends(page_of("quality"))]


@router.get("/console/quality", response_class=HTMLResponse)
def quality(ctx: QualityPage) -> HTMLResponse:
    hub = ctx.hub
    now = hub.clock.now()
    sources = hub.sources.list()
    with read_tx(hub.engine) as conn:
        rates = queries.source_rates(conn, now - timedelta(days=1), now - timedelta(days=7))
        held = queries.quarantined(conn, hub.settings.console_page_rows)
    # Quarantined payloads hold personal data: reading them is an access like the API's.
    ctx.audit("quarantine.read", None)
    names = {s.id: s.name for s in sources}
    return ctx.page(
        "quality.html",
        title=ctx.t["nav_quality"],
        current="quality",
        sources=[
            {"source": s, "day": rates.get(s.id, (0, 0))[0], "week": rates.get(s.id, (0, 0))[1]}
            for s in sources
        ],
        quarantine=held,
        names=names,
    )
