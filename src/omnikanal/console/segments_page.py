"""Segments: the list with member counts, and the segment builder: a form over the condition language
(one rule a row) with a live count, the same condition as JSON beside it for what the form cannot
hold. Saving and counting go through the segments service, as the API's do."""

from __future__ import annotations

import contextlib
import json
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from omnikanal.auth.model import Permission
from omnikanal.console.frame import Ctx, PageRefused, back, form_of, page_of, refuse_page
from omnikanal.console.segment_form import (
    CONSENT_STATUSES,
    KINDS,
    OPS,
    Builder,
    NotForm,
    builder_of,
    builder_of_form,
    condition_of,
)
from omnikanal.errors import Conflict, InvalidInput, NotFound

router = APIRouter(include_in_schema=False)
SegmentsPage = Annotated[Ctx, Depends(page_of("segments"))]
Message = Annotated[str | None, Query(max_length=500)]

EXAMPLE: dict[str, Any] = {
    "all": [
        {"event": {"name": "Product Viewed", "within_days": 14, "min": 3}},
        {"channels": {"min": 2, "within_days": 14}},
    ]
}


@router.get("/console/segments", response_class=HTMLResponse)
def segments(ctx: SegmentsPage, done: Message = None) -> HTMLResponse:
    return ctx.page(
        "segments.html",
        title=ctx.t["nav_segments"],
        current="segments",
        segments=ctx.hub.segments.all(),
        may_write=ctx.may(Permission.SEGMENTS_WRITE),
        done=done,
    )


def _builder(condition: Any) -> Builder | None:
    try:
        return builder_of(condition)
    except (NotForm, KeyError, TypeError, AttributeError):
        return None


def _edit(
    ctx: Ctx,
    segment: dict[str, Any] | None,
    error: str | None,
    status_code: int = 200,
    *,
    builder: Builder | None = None,
    count: int | None = None,
    done: str | None = None,
) -> HTMLResponse:
    condition = segment["condition"] if segment else EXAMPLE
    if builder is None and not isinstance(condition, str):
        builder = _builder(condition)
    return ctx.page(
        "segment.html",
        status_code,
        title=segment["name"] if segment and segment.get("name") else ctx.t["new_segment"],
        current="segments",
        segment=segment,
        condition=condition
        if isinstance(condition, str)
        else json.dumps(condition, indent=2, ensure_ascii=False),
        builder=builder,
        rows=builder.padded() if builder else [],
        kinds=KINDS,
        ops=OPS,
        consent_statuses=CONSENT_STATUSES,
        may_write=ctx.may(Permission.SEGMENTS_WRITE),
        error=error,
        count=count,
        done=done,
    )


@router.get("/console/segments/new", response_class=HTMLResponse)
def new_segment(ctx: SegmentsPage) -> HTMLResponse:
    if not ctx.may(Permission.SEGMENTS_WRITE):
        return refuse_page(ctx.request, ctx.lang, 403, "forbidden")
    return _edit(ctx, None, None)


@router.get("/console/segments/{segment_id}", response_class=HTMLResponse)
def segment(ctx: SegmentsPage, segment_id: str, error: Message = None, done: Message = None) -> HTMLResponse:
    try:
        found = ctx.hub.segments.get(segment_id)
    except NotFound:
        return refuse_page(ctx.request, ctx.lang, 404, "not_found")
    return _edit(ctx, found, error, done=done)


def _condition(form: dict[str, str]) -> tuple[Any, Builder | None]:
    """The posted condition: from the form's rows, or from the JSON box when that was saved."""
    if form.get("source") == "form":
        builder = builder_of_form(form)
        try:
            return condition_of(builder), builder
        except NotForm as exc:
            raise InvalidInput("invalid_condition", f"condition: {exc}", "condition") from None
    try:
        return json.loads(form.get("condition", "")), None
    except json.JSONDecodeError as exc:
        raise InvalidInput("invalid_json", f"condition: not JSON ({exc.msg})", "condition") from None


@router.post("/console/segments/count")
async def count(ctx: SegmentsPage) -> JSONResponse:
    """The live count of the builder's current rules (and their JSON), without saving anything."""
    form = await form_of(ctx)
    try:
        condition, _ = _condition(form)
        preview = await run_in_threadpool(ctx.hub.segments.preview, condition)
    except InvalidInput as exc:
        return JSONResponse({"error": ctx.error(exc), "field": exc.field}, status_code=400)
    return JSONResponse(
        {
            "count": preview["count"],
            "text": ctx.t["sg_count_result"].format(count=preview["count"]),
            "condition": json.dumps(condition, indent=2, ensure_ascii=False),
        }
    )


@router.post("/console/segments")
async def save_segment(ctx: SegmentsPage) -> Response:
    if not ctx.may(Permission.SEGMENTS_WRITE):
        raise PageRefused(refuse_page(ctx.request, ctx.lang, 403, "forbidden"))
    form = await form_of(ctx)
    segment_id = form.get("id") or None
    name = form.get("name", "").strip()
    description = form.get("description", "").strip() or None
    builder: Builder | None = None
    try:
        condition, builder = _condition(form)
        if form.get("action") == "count":  # the count without a script: the page again, with it
            preview = await run_in_threadpool(ctx.hub.segments.preview, condition)
            draft = {"id": segment_id, "name": name, "description": description, "condition": condition}
            return _edit(ctx, draft, None, builder=builder or _builder(condition), count=preview["count"])
        if not name or len(name) > 200:
            raise InvalidInput("invalid_name", ctx.t["sg_name_missing"], "name")
        actor = ctx.principal.actor
        if segment_id:
            saved = await run_in_threadpool(ctx.hub.segments.update, segment_id, name, description, condition)
        else:
            saved = await run_in_threadpool(ctx.hub.segments.create, name, description, condition, actor)
    except (InvalidInput, Conflict, NotFound) as exc:
        raw = form.get("condition") if builder is None else None
        draft = {"id": segment_id, "name": name, "description": description, "condition": raw or EXAMPLE}
        if builder is not None:
            with contextlib.suppress(NotForm):
                draft["condition"] = condition_of(builder)
        return _edit(ctx, draft, ctx.error(exc), 400, builder=builder)
    return back(f"/console/segments/{quote(saved['id'])}?done={quote(ctx.t['sg_saved'])}")
