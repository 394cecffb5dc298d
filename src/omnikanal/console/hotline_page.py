"""The hotline view: the hotline's task list, and the caller's history found by phone number."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from omnikanal.console.frame import Ctx, back, form_of, page_of
from omnikanal.errors import Conflict, InvalidInput, NotFound
from omnikanal.profiles.service import TimelineQuery

router = APIRouter(include_in_schema=False)
HotlinePage = Annotated[Ctx, Depends(page_of("hotline"))]


def _caller(ctx: Ctx, phone: str) -> tuple[dict[str, Any] | None, list[dict[str, Any]], str | None]:
    try:
        profile = ctx.hub.profiles.lookup("phone", phone)
    except (NotFound, InvalidInput) as exc:
        return None, [], ctx.error(exc)
    ctx.audit("console.caller", profile["id"])
    events = ctx.hub.profiles.timeline(profile["id"], TimelineQuery(limit=20))["events"]
    return profile, events, None


@router.get("/console/hotline", response_class=HTMLResponse)
def hotline(ctx: HotlinePage, phone: Annotated[str | None, Query(max_length=40)] = None) -> HTMLResponse:
    rows = ctx.hub.settings.console_page_rows
    tasks = [
        x for x in ctx.hub.messaging.tasks("hotline", None, rows, lambda _: None) if x["status"] != "done"
    ]
    caller, history, error = _caller(ctx, phone.strip()) if phone and phone.strip() else (None, [], None)
    return ctx.page(
        "hotline.html",
        title=ctx.t["nav_hotline"],
        current="hotline",
        tasks=tasks,
        phone=phone or "",
        caller=caller,
        history=history,
        error=error,
    )


@router.post("/console/hotline/tasks/{task_id}")
async def task_action(ctx: HotlinePage, task_id: str) -> Response:
    form = await form_of(ctx)
    actor = ctx.principal.actor
    try:
        if ctx.hub.messaging.task_queue(task_id) != "hotline":
            raise NotFound("task_not_found", f"no hotline task {task_id!r}")
        if form.get("action") == "complete":
            await run_in_threadpool(
                ctx.hub.messaging.complete_task, task_id, actor, form.get("outcome") or None
            )
        else:
            await run_in_threadpool(ctx.hub.messaging.claim_task, task_id, actor)
    except (NotFound, Conflict, InvalidInput):
        pass  # taken or finished by a colleague meanwhile: the list shows the current state
    return back("/console/hotline")
