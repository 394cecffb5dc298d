"""The privacy officer's view of one person, or of everyone: the access log (who read whose data)
and the consent history with the proof each change was recorded with."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query
from fastapi.responses import HTMLResponse, Response

from omnikanal.auth.model import Permission
from omnikanal.consent.texts import CHANNEL_LABELS, PURPOSE_LABELS
from omnikanal.console import queries
from omnikanal.console.frame import Ctx, back, page_of, refuse_page
from omnikanal.console.privacy_export import Readable
from omnikanal.console.privacy_workspace import person_by_identifier
from omnikanal.console.workspace_texts import action_label, actor_label
from omnikanal.db.engine import read_tx
from omnikanal.errors import NotFound

router = APIRouter(include_in_schema=False)
PrivacyPage = Annotated[Ctx, Depends(page_of("privacy"))]
Before = Annotated[int | None, Query(ge=1, le=2**63 - 1)]


def _name(ctx: Ctx, profile_id: str) -> str:
    with read_tx(ctx.hub.engine) as conn:
        hits = queries.summaries(conn, [profile_id])
    return str(hits[0]["name"]) if hits else ctx.t["pw_erased_person"]


@router.get("/console/privacy/people", response_class=HTMLResponse)
def find_person(
    ctx: PrivacyPage,
    q: Annotated[str, Query(max_length=320)] = "",
    then: Annotated[str, Query(max_length=20)] = "consents",
) -> Response:
    """From an identifier the person gave to their consents or their access log."""
    found = person_by_identifier(ctx, q.strip()) if q.strip() else None
    if found is None:
        return back(f"/console/privacy/access-log?error={quote(ctx.t['pw_person_unknown'])}")
    target = "access-log" if then == "access-log" else "consents"
    return back(f"/console/privacy/people/{quote(found)}/{target}")


def _log_page(ctx: Ctx, profile_id: str | None, before: int | None, error: str | None) -> HTMLResponse:
    if not ctx.may(Permission.AUDIT_READ):
        return refuse_page(ctx.request, ctx.lang, 403, "forbidden")
    limit = ctx.hub.settings.console_page_rows
    name = None
    ids: list[str] | None = None
    if profile_id is not None:
        try:
            ids = ctx.hub.profiles.person_ids(profile_id)
        except NotFound:
            ids = [profile_id]  # erased: the log still answers for the id, if anything is left
        name = _name(ctx, profile_id)
    entries = ctx.hub.audit.entries(ids, limit, before)
    # reading the log is a read of the person's data as well: recorded after, so it is not shown
    # as the first entry of the page the officer is reading
    if profile_id is not None:
        ctx.audit("console.privacy.access", ids[0] if ids else profile_id)
    names = {}
    if profile_id is None:
        with read_tx(ctx.hub.engine) as conn:
            ids_seen = sorted({e["profile_id"] for e in entries if e["profile_id"]})
            names = {hit["id"]: hit["name"] for hit in queries.summaries(conn, ids_seen)}
    rows = [
        {
            **entry,
            "what": action_label(ctx.lang, entry["action"]),
            "who": actor_label(ctx.lang, entry["actor"]),
            "name": names.get(entry["profile_id"] or "", name),
        }
        for entry in entries
    ]
    return ctx.page(
        "privacy_access.html",
        title=ctx.t["pw_access_of"].format(name=name) if name else ctx.t["pw_access_log"],
        current="privacy",
        rows=rows,
        profile_id=profile_id,
        next_before=entries[-1]["id"] if len(entries) == limit else None,
        error=error,
    )


@router.get("/console/privacy/access-log", response_class=HTMLResponse)
def access_log(
    ctx: PrivacyPage, before: Before = None, error: Annotated[str | None, Query(max_length=300)] = None
) -> HTMLResponse:
    return _log_page(ctx, None, before, error)


@router.get("/console/privacy/people/{profile_id}/access-log", response_class=HTMLResponse)
def person_access_log(ctx: PrivacyPage, profile_id: str, before: Before = None) -> HTMLResponse:
    return _log_page(ctx, profile_id, before, None)


def _proof_lines(ctx: Ctx, proof: Any) -> list[tuple[str, str]]:
    if not proof:
        return []
    view = Readable(ctx.lang, ctx.hub.settings.messaging_default_timezone)
    if not isinstance(proof, dict):
        return [(ctx.t["pw_proof"], " ".join(view.lines(proof)))]
    return [(view.label(str(k)), " ".join(view.lines(v))) for k, v in proof.items()]


@router.get("/console/privacy/people/{profile_id}/consents", response_class=HTMLResponse)
def consents(ctx: PrivacyPage, profile_id: str) -> HTMLResponse:
    if not ctx.may(Permission.CONSENTS_READ):
        return refuse_page(ctx.request, ctx.lang, 403, "forbidden")
    try:
        held = ctx.hub.consent.consents(profile_id)
    except NotFound:
        return refuse_page(ctx.request, ctx.lang, 404, "not_found")
    ctx.audit("console.privacy.consents", held["profile_id"])
    name = _name(ctx, held["profile_id"])
    history = [{**record, "proof_lines": _proof_lines(ctx, record["proof"])} for record in held["history"]]
    return ctx.page(
        "privacy_consents.html",
        title=ctx.t["pw_consents_of"].format(name=name),
        current="privacy",
        profile_id=held["profile_id"],
        purposes=held["purposes"],
        purpose_labels=PURPOSE_LABELS.get(ctx.lang, PURPOSE_LABELS["de"]),
        channel_labels=CHANNEL_LABELS.get(ctx.lang, CHANNEL_LABELS["de"]),
        history=history,
    )
