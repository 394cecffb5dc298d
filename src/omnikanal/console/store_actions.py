"""What store staff do from the store page's rows: hand over a click & collect order, cancel a
reservation, take and finish a store task. Each goes through the same service as the API and so
lands on the customer's timeline; each checks first that the row belongs to a store the user works."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from omnikanal.auth.model import Permission
from omnikanal.commerce.model import StatusChange
from omnikanal.console.frame import Ctx, back, form_of, page_of
from omnikanal.errors import Conflict, Forbidden, InvalidInput, NotFound

router = APIRouter(include_in_schema=False)
StorePage = Annotated[Ctx, Depends(page_of("store"))]

# The outcome a store task is closed with, kept short as the hotline's.
MAX_OUTCOME = 500


def _page(store_id: str, done: str) -> str:
    return f"/console/store?store={store_id}&done={done}"


def _own(ctx: Ctx, store_id: str | None, permission: Permission) -> str:
    """The row's store, if this user works it and holds the permission; else the request is refused."""
    if store_id is None or not ctx.principal.may_see_store(store_id):
        raise Forbidden("other_store", "this row belongs to another store")
    if not ctx.may(permission):
        raise Forbidden("forbidden", f"needs {permission.value}")
    return store_id


@router.post("/console/store/pickups/{order_id}")
async def hand_over(ctx: StorePage, order_id: str) -> Response:
    """The customer collects a click & collect order at the counter: the order is picked up."""
    await form_of(ctx)
    order = await run_in_threadpool(ctx.hub.commerce.orders.get, order_id)
    store_id = _own(ctx, order.get("fulfilment_location_id"), Permission.COMMERCE_WRITE)
    try:
        await run_in_threadpool(
            ctx.hub.commerce.orders.change_status,
            order_id,
            StatusChange(status="picked_up", channel="store"),
            ctx.principal.actor,
        )
    except (Conflict, InvalidInput):
        return back(_page(store_id, "stale"))  # handed over or cancelled meanwhile
    return back(_page(store_id, "handed_over"))


@router.post("/console/store/reservations/{reservation_id}/cancel")
async def cancel_reservation(ctx: StorePage, reservation_id: str) -> Response:
    await form_of(ctx)
    reservation = await run_in_threadpool(ctx.hub.commerce.reservations.get, reservation_id)
    store_id = _own(ctx, reservation.get("location_id"), Permission.COMMERCE_WRITE)
    try:
        await run_in_threadpool(
            ctx.hub.commerce.reservations.cancel, reservation_id, ctx.principal.actor, "store"
        )
    except Conflict:
        return back(_page(store_id, "stale"))
    return back(_page(store_id, "cancelled"))


@router.post("/console/store/tasks/{task_id}")
async def task_action(ctx: StorePage, task_id: str) -> Response:
    """Take a store task, or finish it with its outcome."""
    form = await form_of(ctx)
    queue = await run_in_threadpool(ctx.hub.messaging.task_queue, task_id)
    if not queue.startswith("store:"):
        raise NotFound("task_not_found", f"no store task {task_id!r}")
    store_id = _own(ctx, queue.removeprefix("store:"), Permission.TASKS_WRITE)
    actor = ctx.principal.actor
    try:
        if form.get("action") == "complete":
            outcome = (form.get("outcome") or "").strip()[:MAX_OUTCOME] or None
            await run_in_threadpool(ctx.hub.messaging.complete_task, task_id, actor, outcome)
            done = "task_done"
        else:
            await run_in_threadpool(ctx.hub.messaging.claim_task, task_id, actor)
            done = "task_taken"
    except (Conflict, InvalidInput):
        return back(_page(store_id, "stale"))  # taken or finished by a colleague meanwhile
    return back(_page(store_id, done))
