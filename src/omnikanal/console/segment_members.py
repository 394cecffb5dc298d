"""A segment's members, one page at a time with their names; all of them as CSV; and deleting the
segment behind a confirmation step. Through the segments service, audited as the API's reads are."""

from __future__ import annotations

import csv
import io
import itertools
from collections.abc import Iterator
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query
from fastapi.responses import HTMLResponse, Response, StreamingResponse
from starlette.concurrency import run_in_threadpool

from omnikanal.auth.model import Permission
from omnikanal.clock import isoformat
from omnikanal.console import queries
from omnikanal.console.frame import Ctx, PageRefused, back, form_of, page_of, refuse_page
from omnikanal.db.engine import read_tx
from omnikanal.errors import NotFound

router = APIRouter(include_in_schema=False)
SegmentsPage = Annotated[Ctx, Depends(page_of("segments"))]
CSV_CHUNK = 500  # members whose names are read together for the CSV


def _segment(ctx: Ctx, segment_id: str) -> dict[str, Any]:
    try:
        return ctx.hub.segments.get(segment_id)
    except NotFound:
        raise PageRefused(refuse_page(ctx.request, ctx.lang, 404, "not_found")) from None


def _people(ctx: Ctx, profile_ids: list[str]) -> dict[str, dict[str, Any]]:
    with read_tx(ctx.hub.engine) as conn:
        return {hit["id"]: hit for hit in queries.summaries(conn, profile_ids)}


@router.get("/console/segments/{segment_id}/members", response_class=HTMLResponse)
def members(
    ctx: SegmentsPage, segment_id: str, cursor: Annotated[str | None, Query(max_length=40)] = None
) -> HTMLResponse:
    found = _segment(ctx, segment_id)
    page = ctx.hub.segments.members(segment_id, ctx.hub.settings.console_page_rows, cursor)
    ctx.audit("segment.members", None)
    people = _people(ctx, [m["profile_id"] for m in page["members"]])
    rows = [{**m, **people.get(m["profile_id"], {"name": "–", "email": None})} for m in page["members"]]
    return ctx.page(
        "segment_members.html",
        title=f"{ctx.t['sg_members']}: {found['name']}",
        current="segments",
        segment=found,
        rows=rows,
        cursor=cursor,
        next_cursor=page["next_cursor"],
        may_write=ctx.may(Permission.SEGMENTS_WRITE),
    )


@router.get("/console/segments/{segment_id}/members.csv")
def members_csv(ctx: SegmentsPage, segment_id: str) -> StreamingResponse:
    """Every member with name and email, for a mailing outside the hub."""
    _segment(ctx, segment_id)
    found = ctx.hub.segments.iter_members(segment_id)
    ctx.audit("segment.export", None)

    def lines() -> Iterator[str]:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(["profile_id", "name", "email", "entered_at"])
        chunk: list[tuple[str, Any]] = []
        for item in itertools.chain(found, [None]):
            if item is not None:
                chunk.append(item)
            if len(chunk) >= CSV_CHUNK or (item is None and chunk):
                people = _people(ctx, [pid for pid, _ in chunk])
                for pid, entered in chunk:
                    person = people.get(pid, {})
                    name, email = person.get("name", ""), person.get("email") or ""
                    writer.writerow([pid, name, email, isoformat(entered)])
                chunk = []
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue()

    return StreamingResponse(
        lines(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="segment-{segment_id}.csv"'},
    )


def _refuse_readers(ctx: Ctx) -> None:
    if not ctx.may(Permission.SEGMENTS_WRITE):
        raise PageRefused(refuse_page(ctx.request, ctx.lang, 403, "forbidden"))


@router.get("/console/segments/{segment_id}/delete", response_class=HTMLResponse)
def confirm_delete(ctx: SegmentsPage, segment_id: str) -> HTMLResponse:
    _refuse_readers(ctx)
    found = _segment(ctx, segment_id)
    return ctx.page("segment_delete.html", title=ctx.t["sg_delete_title"], current="segments", segment=found)


@router.post("/console/segments/{segment_id}/delete")
async def delete(ctx: SegmentsPage, segment_id: str) -> Response:
    _refuse_readers(ctx)
    await form_of(ctx)
    found = await run_in_threadpool(_segment, ctx, segment_id)
    left = await run_in_threadpool(ctx.hub.segments.delete, segment_id)
    done = ctx.t["sg_deleted"].format(name=found["name"], count=left)
    return back(f"/console/segments?done={quote(done)}")
