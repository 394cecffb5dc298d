"""The hotline view: the caller found by phone number (by name, with her timeline in words: what
she did, what her calls were about and how they ended), a form to log the call, and the hotline's
tasks. A number nobody has offers to create the customer. The actions are in hotline_actions.py."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import HTMLResponse

from omnikanal.console import queries
from omnikanal.console.frame import Ctx, page_of
from omnikanal.console.hotline_texts import event_detail, event_label
from omnikanal.db.engine import read_tx
from omnikanal.errors import InvalidInput, NotFound
from omnikanal.profiles.service import TimelineQuery
from omnikanal.service.calls import OUTCOMES

router = APIRouter(include_in_schema=False)
HotlinePage = Annotated[Ctx, Depends(page_of("hotline"))]
DONE = "^(logged|case|created|task_taken|task_done|stale|has_case)$"
ERRORS = "^(topic_required|invalid_outcome|invalid_phone|outcome_required)$"
# Topics the demo retailer's agents pick most; any other may be typed.
TOPICS = ("Lieferstatus", "Reklamation", "Rückgabe", "Rechnung", "Beratung", "Reservierung")


def _caller(ctx: Ctx, phone: str) -> dict[str, Any]:
    """The caller's profile and timeline, or why there is none (unknown: offer to create her)."""
    try:
        profile = ctx.hub.profiles.lookup("phone", phone)
    except NotFound:
        return {"caller": None, "history": [], "error": None, "unknown": True}
    except InvalidInput:
        return {"caller": None, "history": [], "error": ctx.t["hl_error_invalid_phone"], "unknown": False}
    ctx.audit("console.caller", profile["id"])
    events = ctx.hub.profiles.timeline(profile["id"], TimelineQuery(limit=20))["events"]
    history = [e | {"label": event_label(ctx.lang, e), "detail": event_detail(ctx.t, e)} for e in events]
    name = queries.display_name({k: v["value"] for k, v in profile["traits"].items()})
    return {"caller": profile | {"name": name}, "history": history, "error": None, "unknown": False}


def _tasks(ctx: Ctx) -> tuple[list[dict[str, Any]], dict[str, str]]:
    rows = ctx.hub.settings.console_page_rows
    tasks = [
        x for x in ctx.hub.messaging.tasks("hotline", None, rows, lambda _: None) if x["status"] != "done"
    ]
    with read_tx(ctx.hub.engine) as conn:
        people = sorted({x["profile_id"] for x in tasks})
        names = {x["id"]: x["name"] for x in queries.summaries(conn, people)}
    return tasks, names


@router.get("/console/hotline", response_class=HTMLResponse)
def hotline(
    ctx: HotlinePage,
    phone: Annotated[str | None, Query(max_length=40)] = None,
    done: Annotated[str | None, Query(pattern=DONE)] = None,
    error: Annotated[str | None, Query(pattern=ERRORS)] = None,
) -> HTMLResponse:
    number = (phone or "").strip()
    found = (
        _caller(ctx, number) if number else {"caller": None, "history": [], "error": None, "unknown": False}
    )
    tasks, names = _tasks(ctx)
    return ctx.page(
        "hotline.html",
        title=ctx.t["nav_hotline"],
        current="hotline",
        tasks=tasks,
        names=names,
        phone=number,
        outcomes=OUTCOMES,
        topics=TOPICS,
        done=done,
        failed=ctx.t[f"hl_error_{error}"] if error else None,
        **found,
    )
