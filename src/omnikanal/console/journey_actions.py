"""Journeys created, checked, activated and paused from the console, through the journeys service as
the API's routes do. The document is the API's JSON (a form per step kind is not built yet)."""

from __future__ import annotations

import json
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from omnikanal.auth.model import Permission
from omnikanal.console.frame import Ctx, PageRefused, back, form_of, page_of, refuse_page
from omnikanal.errors import Conflict, InvalidInput, NotFound

router = APIRouter(include_in_schema=False)
JourneysPage = Annotated[Ctx, Depends(page_of("journeys"))]

EXAMPLE: dict[str, Any] = {
    "name": "Willkommen",
    "trigger": {"event": {"name": "Signed Up"}},
    "steps": [
        {"id": "warten", "wait": {"duration": "P1D"}},
        {"id": "danke", "task": {"queue": "hotline", "kind": "call", "content": {"text": "Begrüßen"}}},
        {"id": "ende", "exit": {"reason": "done"}},
    ],
}


def _writer(ctx: Ctx) -> None:
    if not ctx.may(Permission.JOURNEYS_WRITE):
        raise PageRefused(refuse_page(ctx.request, ctx.lang, 403, "forbidden"))


def _editor(ctx: Ctx, document: str, **context: Any) -> HTMLResponse:
    context = {"error": None, "valid": False, "warnings": [], **context}
    status_code = 400 if context["error"] else 200
    return ctx.page(
        "journey_new.html",
        status_code,
        title=ctx.t["jr_new"],
        current="journeys",
        document=document,
        **context,
    )


@router.get("/console/journeys/new", response_class=HTMLResponse)
def new_journey(ctx: JourneysPage) -> HTMLResponse:
    _writer(ctx)
    return _editor(ctx, json.dumps(EXAMPLE, indent=2, ensure_ascii=False))


@router.post("/console/journeys/new")
async def check_or_create(ctx: JourneysPage) -> Response:
    """ "Prüfen" answers the page with the check's result; "Anlegen" saves version 1 as a draft."""
    _writer(ctx)
    form = await form_of(ctx)
    text = form.get("document", "")
    try:
        try:
            document = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InvalidInput("invalid_json", f"document: not JSON ({exc.msg})", "document") from None
        if form.get("action") == "create":
            made = await run_in_threadpool(ctx.hub.journeys.create, document, ctx.principal.actor)
            return back(f"/console/journeys/{quote(made['id'])}")
        checked = await run_in_threadpool(ctx.hub.journeys.validate, document)
    except (InvalidInput, Conflict) as exc:
        return _editor(ctx, text, error=ctx.error(exc))
    return _editor(ctx, text, valid=True, warnings=checked["warnings"])


@router.post("/console/journeys/{journey_id}/status")
async def set_status(ctx: JourneysPage, journey_id: str) -> Response:
    _writer(ctx)
    form = await form_of(ctx)
    status = form.get("status", "")
    here = f"/console/journeys/{quote(journey_id)}"
    if status not in ("active", "paused"):
        return back(f"{here}?error={quote(ctx.t['jr_bad_status'])}")
    try:
        await run_in_threadpool(ctx.hub.journeys.set_status, journey_id, status)
    except NotFound:
        raise PageRefused(refuse_page(ctx.request, ctx.lang, 404, "not_found")) from None
    except (InvalidInput, Conflict) as exc:
        return back(f"{here}?error={quote(ctx.error(exc))}")
    return back(here)
