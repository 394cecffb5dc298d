"""The service inbox: a queue's cases with counts and SLA state, and a case's view with its thread
(and the mail's attachments to download), the customer's history beside it, and forms to answer,
note, assign, change the status, and merge a duplicate into another case of the customer (with undo).

A store's staff see only their store's queue; the service desk enforces it (store_id)."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from omnikanal.console.frame import Ctx, back, form_of, page_of
from omnikanal.errors import OmnikanalError
from omnikanal.profiles.service import TimelineQuery
from omnikanal.service.model import QUEUE_PATTERN

router = APIRouter(include_in_schema=False)
CasesPage = Annotated[Ctx, Depends(page_of("cases"))]

TEXTS: dict[str, dict[str, str]] = {
    "de": {
        "queue": "Warteschlange",
        "all": "alle",
        "subject": "Betreff",
        "priority": "Priorität",
        "sla": "SLA",
        "assignee": "Bearbeitung",
        "entries": "Einträge",
        "reply": "Antworten",
        "note": "Interne Notiz",
        "assign": "Zuweisen",
        "save": "Speichern",
        "customer": "Kunde",
        "history": "Bisherige Kontakte",
        "thread": "Verlauf",
        "links": "Bezug",
        "counts": "Fälle je Status",
        "error": "Das ging nicht",
        "csat": "Zufriedenheit",
        "macros": "Textbausteine und Makros",
        "apply": "Anwenden",
        "macro_sets": "setzt",
        "attachments": "Anhänge",
        "refused": "nicht übernommen",
        "merge": "Zusammenführen",
        "merge_into": "Dieser Fall ist eine Dublette von",
        "merge_hint": "Der Verlauf wandert in den gewählten Fall; dieser wird geschlossen.",
        "merged_into": "Zusammengeführt in",
        "undo_merge": "Zusammenführung rückgängig machen",
    },
    "en": {
        "queue": "Queue",
        "all": "all",
        "subject": "Subject",
        "priority": "Priority",
        "sla": "SLA",
        "assignee": "Assignee",
        "entries": "Entries",
        "reply": "Reply",
        "note": "Internal note",
        "assign": "Assign",
        "save": "Save",
        "customer": "Customer",
        "history": "Earlier touchpoints",
        "thread": "Thread",
        "links": "About",
        "counts": "Cases by status",
        "error": "That did not work",
        "csat": "Satisfaction",
        "macros": "Canned replies and macros",
        "apply": "Apply",
        "macro_sets": "sets",
        "attachments": "Attachments",
        "refused": "not kept",
        "merge": "Merge",
        "merge_into": "This case is a duplicate of",
        "merge_hint": "The thread moves to the chosen case; this one is closed.",
        "merged_into": "Merged into",
        "undo_merge": "Undo the merge",
    },
}


def _store(ctx: Ctx) -> str | None:
    return ctx.principal.store_id


@router.get("/console/cases", response_class=HTMLResponse)
def inbox(
    ctx: CasesPage,
    queue: Annotated[str | None, Query(pattern=QUEUE_PATTERN)] = None,
    status: Annotated[str | None, Query(max_length=40)] = None,
) -> HTMLResponse:
    desk = ctx.hub.service.desk
    store_id = _store(ctx)
    queue = f"store:{store_id}" if store_id else (queue or None)
    rows = ctx.hub.settings.console_page_rows
    page = desk.list_cases({"queue": queue, "status": status or None}, None, None, rows, store_id)
    counts = desk.counts(queue, store_id)
    return ctx.page(
        "cases.html",
        title=ctx.t["nav_cases"],
        current="cases",
        s=TEXTS[ctx.lang],
        cases=page["items"],
        counts=counts,
        queue=queue or "",
        status=status or "",
        statuses=desk.config.statuses,
    )


@router.get("/console/cases/{case_id}", response_class=HTMLResponse)
def case_view(ctx: CasesPage, case_id: str) -> HTMLResponse:
    case = ctx.hub.service.desk.get(case_id, _store(ctx))
    ctx.audit("console.case", case["profile_id"])
    history = ctx.hub.profiles.timeline(case["profile_id"], TimelineQuery(limit=20))["events"]
    macros = ctx.hub.service.macros.for_case(case_id, ctx.principal.actor, _store(ctx))
    others = [] if case["merged_into"] else _merge_targets(ctx, case)
    return ctx.page(
        "case.html",
        title=case["subject"],
        current="cases",
        s=TEXTS[ctx.lang],
        case=case,
        history=history,
        macros=macros,
        others=others,
        statuses=ctx.hub.service.desk.config.statuses,
        error=ctx.request.query_params.get("error"),
    )


def _merge_targets(ctx: Ctx, case: dict[str, Any]) -> list[dict[str, Any]]:
    """The customer's other cases this one may be merged into: not closed, not merged themselves."""
    rows = ctx.hub.settings.console_page_rows
    page = ctx.hub.service.desk.list_cases({}, case["profile_id"], None, rows, _store(ctx))
    items = page["items"]
    return [c for c in items if c["id"] != case["id"] and c["status"] != "closed" and not c["merged_into"]]


@router.post("/console/cases/{case_id}")
async def case_action(ctx: CasesPage, case_id: str) -> Response:
    form = await form_of(ctx)
    desk, macros, merger = ctx.hub.service.desk, ctx.hub.service.macros, ctx.hub.service.merger
    actor, store_id = ctx.principal.actor, _store(ctx)
    action = form.get("action")
    text = (form.get("text") or "").strip()
    calls: dict[str, Any] = {
        "reply": lambda: desk.reply(case_id, text, actor, None, store_id) if text else None,
        "note": lambda: desk.note(case_id, text, actor, store_id) if text else None,
        "assign": lambda: desk.assign(case_id, (form.get("assignee") or "").strip() or None, actor, store_id),
        "status": lambda: desk.set_status(case_id, form.get("status") or "", actor, store_id),
        "macro": lambda: macros.apply(case_id, form.get("macro") or "", actor, None, store_id),
        "merge": lambda: merger.merge(case_id, form.get("into") or "", actor, store_id),
        "unmerge": lambda: merger.undo(case_id, actor, store_id),
    }
    call = calls.get(action or "")
    if call is None:
        return back(f"/console/cases/{case_id}")
    try:
        done = await run_in_threadpool(call)
    except OmnikanalError as exc:
        return back(f"/console/cases/{case_id}?error={exc.code}")
    if action in ("merge", "unmerge"):  # in the audit log as through the API
        ctx.audit(f"service.{action}", done["profile_id"])
    # after a merge the duplicate is closed and its thread is on the survivor: show the survivor
    shown = quote(form.get("into") or "", safe="") if action == "merge" else case_id
    return back(f"/console/cases/{shown}")
