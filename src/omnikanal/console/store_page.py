"""The store view: scan a barcode (typed, or with the camera where the browser has BarcodeDetector),
the store's reservations and pick-ups of the day, and the store's tasks. A store user always works
their own store; an administrator picks one."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import HTMLResponse

from omnikanal.auth.model import Permission
from omnikanal.console import queries
from omnikanal.console.frame import Ctx, page_of
from omnikanal.db.engine import read_tx
from omnikanal.errors import InvalidInput, NotFound

router = APIRouter(include_in_schema=False)
StorePage = Annotated[Ctx, Depends(page_of("store"))]


def _day_lists(ctx: Ctx, store_id: str) -> dict[str, Any]:
    hub = ctx.hub
    rows = hub.settings.console_page_rows
    today = hub.clock.now().date().isoformat()
    reservations = hub.commerce.reservations.find(store_id, None, "active", rows)
    with read_tx(hub.engine) as conn:
        pickups = queries.pickups(conn, store_id, rows)
        people = sorted({x["profile_id"] for x in [*reservations, *pickups] if x.get("profile_id")})
        names = {x["id"]: x["name"] for x in queries.summaries(conn, people)}
    tasks = (
        hub.messaging.tasks(f"store:{store_id}", None, rows, lambda _: None)
        if ctx.may(Permission.TASKS_READ)
        else []
    )
    return {
        "reservations": reservations,
        "pickups": pickups,
        "tasks": tasks,
        "today": today,
        "names": names,
    }


@router.get("/console/store", response_class=HTMLResponse)
def store_view(
    ctx: StorePage,
    gtin: Annotated[str | None, Query(max_length=40)] = None,
    store: Annotated[str | None, Query(max_length=100)] = None,
    done: Annotated[str | None, Query(pattern="^(handed_over|cancelled|task_taken|task_done|stale)$")] = None,
) -> HTMLResponse:
    principal = ctx.principal
    stores = [x for x in ctx.hub.commerce.catalogue.locations("store") if principal.may_see_store(x["id"])]
    store_id = principal.store_id or store or (stores[0]["id"] if stores else None)
    if store_id not in {x["id"] for x in stores}:
        store_id = stores[0]["id"] if stores else None
    scanned: dict[str, Any] | None = None
    error: str | None = None
    if gtin and store_id:
        try:
            scanned = ctx.hub.commerce.scan.scan(gtin.strip(), store_id, None)
        except (NotFound, InvalidInput) as exc:
            error = ctx.error(exc)
    lists = (
        _day_lists(ctx, store_id)
        if store_id
        else {"reservations": [], "pickups": [], "tasks": [], "names": {}}
    )
    return ctx.page(
        "store.html",
        title=ctx.t["nav_store"],
        current="store",
        stores=stores,
        store_id=store_id,
        may_choose=principal.store_id is None,
        gtin=gtin or "",
        scanned=scanned,
        error=error,
        done=done,
        **lists,
    )
