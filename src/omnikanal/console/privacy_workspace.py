"""The privacy officer's workspace: the queue of data-subject requests with their legal deadline
(one month, Art. 12(3) GDPR), a request's page with its action, the erasure behind a confirmation
step with a receipt afterwards, and a finished export to read or download.

Everything goes through the privacy service, as the API does; the same audit entries are written."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from urllib.parse import quote

import orjson
from fastapi import APIRouter, Depends, Query
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from omnikanal.auth.model import Permission
from omnikanal.console import queries
from omnikanal.console.customers import SEARCH_TYPES
from omnikanal.console.export_labels import AREAS
from omnikanal.console.frame import Ctx, PageRefused, back, form_of, page_of, refuse_page
from omnikanal.console.privacy_export import readable
from omnikanal.db.engine import read_tx
from omnikanal.errors import Conflict, Forbidden, InvalidInput, NotFound
from omnikanal.privacy.model import RequestStatus, RequestType

router = APIRouter(include_in_schema=False)
PrivacyPage = Annotated[Ctx, Depends(page_of("privacy"))]
Choice = Annotated[str | None, Query(max_length=20)]
# The word typed to confirm an erasure, per language (either is accepted: staff switch languages).
ERASE_WORDS = frozenset({"LÖSCHEN", "ERASE"})


def _deadline(due_at: str | None, status: str, now: datetime) -> dict[str, Any]:
    """Days left until the deadline (negative: overdue), for open requests only."""
    if not due_at or status != RequestStatus.RECEIVED:
        return {"days": None, "overdue": False}
    due = datetime.fromisoformat(due_at.replace("Z", "+00:00"))
    days = (due.date() - now.date()).days
    return {"days": days, "overdue": days < 0}


def _names(ctx: Ctx, profile_ids: list[str], action: str) -> dict[str, str]:
    """Names of the people on the page; showing one is a read of their data, so it is recorded."""
    ids = sorted({pid for pid in profile_ids if pid})
    with read_tx(ctx.hub.engine) as conn:
        found = {hit["id"]: hit["name"] for hit in queries.summaries(conn, ids)}
    for pid in ids:
        ctx.audit(action, pid)
    return found


def _rows(ctx: Ctx, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    now = ctx.hub.clock.now()
    names = _names(ctx, [i["profile_id"] for i in items], "console.privacy.queue")
    return [
        {
            **item,
            "name": names.get(item["profile_id"]) if item["profile_id"] else None,
            "deadline": _deadline(item["due_at"], item["status"], now),
        }
        for item in items
    ]


@router.get("/console/privacy", response_class=HTMLResponse)
def queue(
    ctx: PrivacyPage,
    status: Choice = "received",
    type: Choice = None,
    error: Annotated[str | None, Query(max_length=300)] = None,
) -> HTMLResponse:
    chosen_status = status if status in set(RequestStatus) else None
    chosen_type = type if type in set(RequestType) else None
    limit = ctx.hub.settings.console_page_rows
    items = ctx.hub.privacy.find(chosen_status, chosen_type, limit)
    rows = _rows(ctx, items)
    return ctx.page(
        "privacy_queue.html",
        title=ctx.t["pw_queue"],
        current="privacy",
        rows=rows,
        status=chosen_status or "",
        type=chosen_type or "",
        statuses=[s.value for s in RequestStatus],
        types=[t.value for t in RequestType],
        overdue=sum(1 for r in rows if r["deadline"]["overdue"]),
        may_file=ctx.may(Permission.PRIVACY_FILE),
        error=error,
    )


def person_by_identifier(ctx: Ctx, text: str) -> str | None:
    for identifier_type in SEARCH_TYPES:
        try:
            return str(ctx.hub.profiles.lookup(identifier_type, text)["id"])
        except (NotFound, InvalidInput):
            continue
    return None


@router.post("/console/privacy/requests")
async def file_request(ctx: PrivacyPage) -> Response:
    """Record a request that came by letter or email, for the person with that identifier."""
    form = await form_of(ctx)
    try:
        kind = RequestType(form.get("type", ""))
    except ValueError:
        return back(f"/console/privacy?error={quote(ctx.t['pw_type'])}")
    if not ctx.may(Permission.PRIVACY_ERASE if kind is RequestType.ERASURE else Permission.PRIVACY_FILE):
        raise PageRefused(refuse_page(ctx.request, ctx.lang, 403, "forbidden"))
    profile_id = await run_in_threadpool(person_by_identifier, ctx, form.get("identifier", "").strip()[:320])
    if profile_id is None:
        return back(f"/console/privacy?error={quote(ctx.t['pw_person_unknown'])}")
    filed = await run_in_threadpool(
        lambda: ctx.hub.privacy.file(
            kind, profile_id=profile_id, origin="console", requested_by=ctx.principal.actor
        )
    )
    ctx.audit(f"privacy.{kind.value}", filed["profile_id"])
    return back(f"/console/privacy/requests/{quote(filed['id'])}")


def _request(ctx: Ctx, request_id: str) -> dict[str, Any]:
    try:
        return ctx.hub.privacy.get(request_id)
    except NotFound:
        raise PageRefused(refuse_page(ctx.request, ctx.lang, 404, "not_found")) from None


@router.get("/console/privacy/requests/{request_id}", response_class=HTMLResponse)
def request_page(
    ctx: PrivacyPage, request_id: str, error: Annotated[str | None, Query(max_length=300)] = None
) -> HTMLResponse:
    item = _request(ctx, request_id)
    names = _names(ctx, [item["profile_id"]], "console.privacy.request") if item["profile_id"] else {}
    return ctx.page(
        "privacy_request.html",
        title=f"{ctx.t['pw_request']}: {ctx.t['pw_type_' + item['type']]}",
        current="privacy",
        item=item,
        name=names.get(item["profile_id"] or ""),
        deadline=_deadline(item["due_at"], item["status"], ctx.hub.clock.now()),
        may_erase=ctx.may(Permission.PRIVACY_ERASE),
        error=error,
    )


@router.get("/console/privacy/requests/{request_id}/erase", response_class=HTMLResponse)
def confirm_erasure(
    ctx: PrivacyPage, request_id: str, error: Annotated[str | None, Query(max_length=20)] = None
) -> Response:
    """The confirmation step: what goes, that it cannot be undone, identity checked, word typed."""
    if not ctx.may(Permission.PRIVACY_ERASE):
        return refuse_page(ctx.request, ctx.lang, 403, "forbidden")
    item = _request(ctx, request_id)
    if item["type"] != RequestType.ERASURE or item["status"] != RequestStatus.RECEIVED:
        return back(f"/console/privacy/requests/{quote(request_id)}")
    names = _names(ctx, [item["profile_id"]], "console.privacy.request")
    return ctx.page(
        "privacy_erase.html",
        title=ctx.t["pw_confirm_title"],
        current="privacy",
        item=item,
        name=names.get(item["profile_id"] or ""),
        missing=bool(error),
    )


@router.post("/console/privacy/requests/{request_id}/run")
async def run_request(ctx: PrivacyPage, request_id: str) -> Response:
    form = await form_of(ctx)
    may_erase = ctx.may(Permission.PRIVACY_ERASE)
    here = f"/console/privacy/requests/{quote(request_id)}"
    item = await run_in_threadpool(_request, ctx, request_id)
    if item["type"] == RequestType.ERASURE:
        if not may_erase:
            raise PageRefused(refuse_page(ctx.request, ctx.lang, 403, "forbidden"))
        confirmed = form.get("identity") == "checked" and form.get("word", "").strip().upper() in ERASE_WORDS
        if not confirmed:
            return back(f"{here}/erase?error=confirm")
    try:
        done = await run_in_threadpool(
            ctx.hub.privacy.run, request_id, ctx.principal.actor, may_erase=may_erase
        )
    except (Conflict, InvalidInput, Forbidden, NotFound) as exc:
        return back(f"{here}?error={quote(ctx.error(exc))}")
    if done["type"] == RequestType.ERASURE:
        return back(f"{here}/receipt")
    return back(here)


@router.get("/console/privacy/requests/{request_id}/receipt", response_class=HTMLResponse)
def receipt(ctx: PrivacyPage, request_id: str) -> HTMLResponse:
    """What the erasure removed, by area, for the file and for the person's answer."""
    item = _request(ctx, request_id)
    if item["type"] != RequestType.ERASURE or item["status"] != RequestStatus.COMPLETED:
        return refuse_page(ctx.request, ctx.lang, 404, "not_found")
    removed = (item["result"] or {}).get("removed") or {}
    return ctx.page(
        "privacy_receipt.html",
        title=ctx.t["pw_receipt"],
        current="privacy",
        item=item,
        removed=sorted(removed.items()),
        areas=AREAS.get(ctx.lang, AREAS["de"]),
    )


def _document(ctx: Ctx, request_id: str) -> dict[str, Any]:
    try:
        document = ctx.hub.privacy.export_document(request_id)
    except NotFound:
        raise PageRefused(refuse_page(ctx.request, ctx.lang, 404, "not_found")) from None
    ctx.audit("privacy.export.download", document["profile_id"])
    return document


@router.get("/console/privacy/requests/{request_id}/export", response_class=HTMLResponse)
def export_page(ctx: PrivacyPage, request_id: str) -> HTMLResponse:
    document = _document(ctx, request_id)
    return ctx.page(
        "privacy_export.html",
        title=ctx.t["pw_export_title"],
        current="privacy",
        document=document,
        request_id=request_id,
        areas=readable(document, ctx.lang, ctx.hub.settings.messaging_default_timezone),
    )


@router.get("/console/privacy/requests/{request_id}/export.json")
def export_json(ctx: PrivacyPage, request_id: str) -> Response:
    document = _document(ctx, request_id)
    return Response(
        orjson.dumps(document, option=orjson.OPT_INDENT_2),
        media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="omnikanal-export-{request_id}.json"'},
    )
