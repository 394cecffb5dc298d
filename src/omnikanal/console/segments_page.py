"""Segments: the list with member counts, and editing a condition with a live count preview (the
page's script calls POST /api/segments/preview with the session's CSRF token)."""

from __future__ import annotations

import json
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from omnikanal.auth.model import Permission
from omnikanal.console.frame import Ctx, PageRefused, back, form_of, page_of, refuse_page
from omnikanal.errors import Conflict, InvalidInput, NotFound

router = APIRouter(include_in_schema=False)
SegmentsPage = Annotated[Ctx, Depends(page_of("segments"))]

EXAMPLE: dict[str, Any] = {
    "all": [
        {"event": {"name": "Product Viewed", "within_days": 14, "min": 3}},
        {"channels": {"min": 2, "within_days": 14}},
    ]
}


@router.get("/console/segments", response_class=HTMLResponse)
def segments(ctx: SegmentsPage) -> HTMLResponse:
    return ctx.page(
        "segments.html",
        title=ctx.t["nav_segments"],
        current="segments",
        segments=ctx.hub.segments.all(),
        may_write=ctx.may(Permission.SEGMENTS_WRITE),
    )


def _edit(
    ctx: Ctx, segment: dict[str, Any] | None, error: str | None, status_code: int = 200
) -> HTMLResponse:
    condition = segment["condition"] if segment else EXAMPLE
    return ctx.page(
        "segment.html",
        status_code,
        title=segment["name"] if segment else ctx.t["new_segment"],
        current="segments",
        segment=segment,
        condition=condition
        if isinstance(condition, str)
        else json.dumps(condition, indent=2, ensure_ascii=False),
        may_write=ctx.may(Permission.SEGMENTS_WRITE),
        error=error,
    )


@router.get("/console/segments/new", response_class=HTMLResponse)
def new_segment(ctx: SegmentsPage) -> HTMLResponse:
    if not ctx.may(Permission.SEGMENTS_WRITE):
        return refuse_page(ctx.request, ctx.lang, 403, "forbidden")
    return _edit(ctx, None, None)


@router.get("/console/segments/{segment_id}", response_class=HTMLResponse)
def segment(
    ctx: SegmentsPage, segment_id: str, error: Annotated[str | None, Query(max_length=500)] = None
) -> HTMLResponse:
    try:
        found = ctx.hub.segments.get(segment_id)
    except NotFound:
        return refuse_page(ctx.request, ctx.lang, 404, "not_found")
    return _edit(ctx, found, error)


@router.post("/console/segments")
async def save_segment(ctx: SegmentsPage) -> Response:
    if not ctx.may(Permission.SEGMENTS_WRITE):
        raise PageRefused(refuse_page(ctx.request, ctx.lang, 403, "forbidden"))
    form = await form_of(ctx)
    segment_id = form.get("id") or None
    name = form.get("name", "").strip()
    description = form.get("description", "").strip() or None
    try:
        try:
            condition = json.loads(form.get("condition", ""))
        except json.JSONDecodeError as exc:
            raise InvalidInput("invalid_json", f"condition: not JSON ({exc.msg})", "condition") from None
        if not name or len(name) > 200:
            raise InvalidInput("invalid_name", "name must be 1 to 200 characters", "name")
        actor = ctx.principal.actor
        if segment_id:
            saved = await run_in_threadpool(ctx.hub.segments.update, segment_id, name, description, condition)
        else:
            saved = await run_in_threadpool(ctx.hub.segments.create, name, description, condition, actor)
    except (InvalidInput, Conflict, NotFound) as exc:
        if segment_id:
            return back(f"/console/segments/{quote(segment_id)}?error={quote(exc.message)}")
        draft = {"id": None, "name": name, "description": description, "condition": form.get("condition")}
        return _edit(ctx, draft, exc.message, 400)
    return back(f"/console/segments/{quote(saved['id'])}")
