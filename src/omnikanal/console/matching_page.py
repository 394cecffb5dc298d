"""The review queue of probabilistic matching: both profiles side by side, field by field, with the
weight each field added to the score; merge or keep apart with one click.

Its texts live here rather than in texts.py (a page's own words, German and English), merged over
the console's texts for this page only."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, Response

from omnikanal.auth.model import Permission
from omnikanal.console.frame import Ctx, PageRefused, back, form_of, page_of, refuse_page
from omnikanal.errors import Conflict, NotFound
from omnikanal.matching.card import FIELDS

router = APIRouter(include_in_schema=False)
MatchingPage = Annotated[Ctx, Depends(page_of("matching"))]

TEXTS: dict[str, dict[str, str]] = {
    "de": {
        "matching_intro": (
            "Paare von Profilen, die wahrscheinlich dieselbe Person sind, aber keine Kennung teilen. "
            "Gewicht: wie stark ein Feld für (+) oder gegen (−) einen Treffer spricht."
        ),
        "matching_probability": "Wahrscheinlichkeit",
        "matching_field": "Feld",
        "matching_weight": "Gewicht",
        "matching_accept": "Zusammenführen",
        "matching_reject": "Getrennt lassen",
        "matching_empty": "Keine Paare warten auf eine Entscheidung.",
        "matching_waiting": "Wartend",
        "field_first_name": "Vorname",
        "field_last_name": "Nachname",
        "field_birth_date": "Geburtsdatum",
        "field_email": "E-Mail",
        "field_phone": "Telefon",
        "field_postcode": "PLZ",
        "field_city": "Ort",
        "field_street": "Straße",
    },
    "en": {
        "matching_intro": (
            "Pairs of profiles that are probably the same person but share no identifier. "
            "Weight: how strongly a field speaks for (+) or against (−) a match."
        ),
        "matching_probability": "Probability",
        "matching_field": "Field",
        "matching_weight": "Weight",
        "matching_accept": "Merge",
        "matching_reject": "Keep apart",
        "matching_empty": "No pairs are waiting for a decision.",
        "matching_waiting": "Waiting",
        "field_first_name": "First name",
        "field_last_name": "Last name",
        "field_birth_date": "Date of birth",
        "field_email": "Email",
        "field_phone": "Phone",
        "field_postcode": "Postcode",
        "field_city": "City",
        "field_street": "Street",
    },
}


def _rows(item: dict[str, Any]) -> list[dict[str, Any]]:
    left, right = (p["card"] or {} for p in item["profiles"])
    return [
        {
            "field": field,
            "left": left.get(field),
            "right": right.get(field),
            "weight": item["contributions"].get(field, 0.0),
        }
        for field in FIELDS
    ]


@router.get("/console/matching", response_class=HTMLResponse)
def matching(
    ctx: MatchingPage,
    offset: Annotated[int, Query(ge=0, le=100_000)] = 0,
    error: Annotated[str | None, Query(max_length=300)] = None,
) -> HTMLResponse:
    rows = ctx.hub.settings.console_page_rows
    queue = ctx.hub.matching.queue(rows, offset)
    ctx.audit("matching.read", None)
    ctx.t = {**ctx.t, **TEXTS[ctx.lang]}
    return ctx.page(
        "matching.html",
        title=ctx.t["nav_matching"],
        current="matching",
        items=[{**item, "rows": _rows(item)} for item in queue["items"]],
        waiting=queue["counts"].get("review", 0),
        offset=offset,
        rows=rows,
        may_decide=ctx.may(Permission.PROFILES_UNMERGE),
        error=error,
    )


@router.post("/console/matching/{pair_id}")
async def decide(ctx: MatchingPage, pair_id: str) -> Response:
    if not ctx.may(Permission.PROFILES_UNMERGE):
        raise PageRefused(refuse_page(ctx.request, ctx.lang, 403, "forbidden"))
    form = await form_of(ctx)
    decision = form.get("decision")
    act = {"accept": ctx.hub.matching.accept, "reject": ctx.hub.matching.reject}.get(decision or "")
    if act is None:
        return back(f"/console/matching?error={quote('decision must be accept or reject')}")
    try:
        await run_in_threadpool(act, pair_id, ctx.principal.actor)
    except (NotFound, Conflict) as exc:
        return back(f"/console/matching?error={quote(ctx.error(exc))}")
    ctx.audit(f"matching.{decision}", pair_id)
    return back("/console/matching")
