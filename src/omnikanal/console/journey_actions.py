"""Journeys created, edited (a new version), checked, activated and paused from the console, through
the journeys service as the API's routes do. The editor is a form with fields per step kind
(journey_form.py); the same document stays editable as the API's JSON beside it. What the service
refuses or warns about is said in the page's language at the field it concerns (journey_errors.py).
"""

from __future__ import annotations

import json
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from omnikanal.auth.model import Permission
from omnikanal.consent.texts import PURPOSE_LABELS
from omnikanal.console.frame import Ctx, PageRefused, back, form_of, page_of, refuse_page
from omnikanal.console.journey_errors import Said, say, warning_text
from omnikanal.console.journey_form import (
    FIELDS,
    REENTRY,
    TRIGGERS,
    VARIANTS,
    JourneyForm,
    NotForm,
    document_of,
    form_of_post,
)
from omnikanal.console.journey_form_load import form_of_document
from omnikanal.errors import Conflict, InvalidInput, NotFound
from omnikanal.journeys.schema import STEP_KINDS, WEEKDAYS

router = APIRouter(include_in_schema=False)
JourneysPage = Annotated[Ctx, Depends(page_of("journeys"))]

EXAMPLE: dict[str, Any] = {
    "name": "Willkommen",
    "trigger": {"event": {"name": "Signed Up"}},
    "steps": [
        {"id": "warten", "wait": {"duration": "P1D"}},
        {"id": "danke", "task": {"queue": "hotline", "kind": "call", "content": {"text": "Begrüßen"}}},
        {"id": "ende", "exit": {"reason": "fertig"}},
    ],
}


def _writer(ctx: Ctx) -> None:
    if not ctx.may(Permission.JOURNEYS_WRITE):
        raise PageRefused(refuse_page(ctx.request, ctx.lang, 403, "forbidden"))


def _form_or_none(document: Any) -> JourneyForm | None:
    try:
        return form_of_document(document)
    except NotForm:
        return None


def _editor(ctx: Ctx, document: Any, journey: dict[str, Any] | None = None, **context: Any) -> HTMLResponse:
    """The editor: the form where it holds the document, and the document as JSON."""
    said: Said | None = context.pop("said", None)
    text = document if isinstance(document, str) else json.dumps(document, indent=2, ensure_ascii=False)
    form = context.pop("form", None) or (None if isinstance(document, str) else _form_or_none(document))
    context = {"valid": False, "warnings": [], **context}
    return ctx.page(
        "journey_new.html",
        400 if said else 200,
        title=journey["name"] if journey else ctx.t["jr_new"],
        current="journeys",
        journey=journey,
        action=f"/console/journeys/{quote(journey['id'])}/edit" if journey else "/console/journeys/new",
        document=text,
        form=form,
        steps=form.padded() if form else [],
        said=said,
        fields=FIELDS,
        kinds=STEP_KINDS,
        triggers=TRIGGERS,
        reentry=REENTRY,
        weekdays=WEEKDAYS,
        variants=range(VARIANTS),
        purposes=ctx.hub.settings.consent_purposes,
        purpose_labels=PURPOSE_LABELS.get(ctx.lang, PURPOSE_LABELS["de"]),
        **context,
    )


def _document(form: dict[str, str]) -> tuple[Any, JourneyForm | None]:
    """The posted document: from the form's fields, or from the JSON box."""
    if form.get("source") == "form":
        posted = form_of_post(form)
        try:
            return document_of(posted), posted
        except NotForm as exc:
            raise InvalidInput("invalid_json", "not JSON", str(exc)) from None
    try:
        return json.loads(form.get("document", "")), None
    except json.JSONDecodeError:
        raise InvalidInput("invalid_json", "not JSON", "document") from None


async def _check_or_save(ctx: Ctx, journey: dict[str, Any] | None) -> Response:
    """ "Prüfen" answers the page with the check's result; saving makes version 1 as a draft, or
    the journey's next version."""
    _writer(ctx)
    posted = await form_of(ctx)
    form: JourneyForm | None = None
    document: Any = posted.get("document", "")
    try:
        document, form = _document(posted)
        if posted.get("action") == "create":
            actor = ctx.principal.actor
            if journey is None:
                made = await run_in_threadpool(ctx.hub.journeys.create, document, actor)
            else:
                made = await run_in_threadpool(ctx.hub.journeys.update, journey["id"], document, actor)
            return back(f"/console/journeys/{quote(made['id'])}")
        checked = await run_in_threadpool(ctx.hub.journeys.validate, document)
    except (InvalidInput, Conflict) as exc:
        return _editor(ctx, document, journey, form=form, said=say(ctx.t, exc))
    warnings = [warning_text(ctx.t, w) for w in checked["warnings"]]
    return _editor(ctx, document, journey, form=form, valid=True, warnings=warnings)


def _journey(ctx: Ctx, journey_id: str) -> dict[str, Any]:
    try:
        return ctx.hub.journeys.get(journey_id)
    except NotFound:
        raise PageRefused(refuse_page(ctx.request, ctx.lang, 404, "not_found")) from None


@router.get("/console/journeys/new", response_class=HTMLResponse)
def new_journey(ctx: JourneysPage) -> HTMLResponse:
    _writer(ctx)
    return _editor(ctx, EXAMPLE)


@router.post("/console/journeys/new")
async def check_or_create(ctx: JourneysPage) -> Response:
    return await _check_or_save(ctx, None)


@router.get("/console/journeys/{journey_id}/edit", response_class=HTMLResponse)
def edit_journey(ctx: JourneysPage, journey_id: str) -> HTMLResponse:
    _writer(ctx)
    found = _journey(ctx, journey_id)
    return _editor(ctx, found.get("document") or {}, found)


@router.post("/console/journeys/{journey_id}/edit")
async def check_or_update(ctx: JourneysPage, journey_id: str) -> Response:
    _writer(ctx)
    return await _check_or_save(ctx, _journey(ctx, journey_id))


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
