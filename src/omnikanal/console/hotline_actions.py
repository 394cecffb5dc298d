"""What a hotline agent does from the hotline page: log a call with its topic and outcome (on the
caller's timeline), turn a call into a service case (the call its first entry), create a customer
for a number nobody has (through identity, as the phone system's webhook does), and take and finish
a call-back task with its outcome (which lands on the customer's timeline). Each goes through the
same service function as the API and comes back to the page with a notice."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from omnikanal.auth.model import Permission
from omnikanal.console.frame import Ctx, PageRefused, back, form_of, page_of, refuse_page
from omnikanal.errors import Conflict, InvalidInput, NotFound
from omnikanal.service.calls import CallNote

router = APIRouter(include_in_schema=False)
HotlinePage = Annotated[Ctx, Depends(page_of("hotline"))]
MAX_OUTCOME = 500
SHOWN_ERRORS = {"topic_required", "invalid_outcome", "invalid_phone", "outcome_required"}


def _page(phone: str | None, done: str | None = None, error: str | None = None) -> Response:
    query = [f"phone={quote(phone)}"] if phone else []
    query += [f"done={done}"] if done else []
    query += [f"error={error}"] if error in SHOWN_ERRORS else []
    return back("/console/hotline" + (f"?{'&'.join(query)}" if query else ""))


def _require(ctx: Ctx, permission: Permission) -> None:
    if not ctx.may(permission):
        raise PageRefused(refuse_page(ctx.request, ctx.lang, 403, "forbidden"))


@router.post("/console/hotline/calls")
async def log_call(ctx: HotlinePage) -> Response:
    _require(ctx, Permission.CASES_WRITE)
    form = await form_of(ctx)
    note = CallNote(
        topic=form.get("topic", ""),
        outcome=form.get("outcome", ""),
        outcome_text=form.get("outcome_text"),
        note=form.get("note"),
    )
    phone = form.get("phone")
    try:
        await run_in_threadpool(
            ctx.hub.service.calls.log, form.get("profile_id", ""), note, ctx.principal.actor
        )
    except InvalidInput as exc:
        return _page(phone, error=exc.code)
    except NotFound:
        return _page(phone, "stale")
    return _page(phone, "logged")


@router.post("/console/hotline/calls/case")
async def call_to_case(ctx: HotlinePage) -> Response:
    _require(ctx, Permission.CASES_WRITE)
    form = await form_of(ctx)
    phone = form.get("phone")
    try:
        await run_in_threadpool(
            ctx.hub.service.calls.to_case,
            form.get("profile_id", ""),
            form.get("message_id", ""),
            ctx.principal.actor,
        )
    except Conflict:
        return _page(phone, "has_case")
    except NotFound:
        return _page(phone, "stale")
    return _page(phone, "case")


@router.post("/console/hotline/callers")
async def create_caller(ctx: HotlinePage) -> Response:
    _require(ctx, Permission.CASES_WRITE)
    form = await form_of(ctx)
    phone = form.get("phone", "")
    try:
        await run_in_threadpool(ctx.hub.service.calls.new_caller, phone, form.get("name"))
    except InvalidInput as exc:
        return _page(phone, error=exc.code)
    return _page(phone, "created")


@router.post("/console/hotline/tasks/{task_id}")
async def task_action(ctx: HotlinePage, task_id: str) -> Response:
    """Take a call-back task, or finish it with its outcome (on the customer's timeline)."""
    _require(ctx, Permission.TASKS_WRITE)
    form = await form_of(ctx)
    actor = ctx.principal.actor
    queue = await run_in_threadpool(ctx.hub.messaging.task_queue, task_id)
    if queue != "hotline":
        raise NotFound("task_not_found", f"no hotline task {task_id!r}")
    try:
        if form.get("action") == "complete":
            outcome = (form.get("outcome") or "").strip()[:MAX_OUTCOME]
            if not outcome:  # a call-back is finished with what came of it
                return _page(None, error="outcome_required")
            await run_in_threadpool(ctx.hub.messaging.complete_task, task_id, actor, outcome)
            done = "task_done"
        else:
            await run_in_threadpool(ctx.hub.messaging.claim_task, task_id, actor)
            done = "task_taken"
    except (Conflict, InvalidInput):
        return _page(None, "stale")  # taken or finished by a colleague meanwhile
    return _page(None, done)
