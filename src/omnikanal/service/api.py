"""HTTP API of service: cases (open, list, read, reply, note, assign, status), figures, and the
customer's satisfaction survey page. Handlers parse, check the permission, call one use case."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any
from urllib.parse import parse_qs, quote

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.responses import HTMLResponse

from omnikanal.auth.model import Permission
from omnikanal.errors import Forbidden, InvalidInput, NotFound, OmnikanalError
from omnikanal.pages import LANGUAGES, language, render
from omnikanal.web import ERROR_RESPONSES, BodyTooLarge, HubDep, PrincipalDep, require

from .hooks import verify
from .model import (
    QUEUE_PATTERN,
    AssignIn,
    CallIn,
    CaseIn,
    ChatMessageIn,
    HookOut,
    MacroApplyIn,
    MacroIn,
    MacroList,
    MacroOut,
    MergeIn,
    NoteIn,
    ReplyIn,
    StatusIn,
)

RESPONSES: dict[int | str, dict[str, Any]] = {
    **ERROR_RESPONSES,
    409: {"description": "Conflicts with the case's state (closed, already rated)"},
}
router = APIRouter(prefix="/api/service", tags=["service"], responses=RESPONSES)
public = APIRouter(tags=["service"], include_in_schema=True)

Limit = Annotated[int, Query(ge=1, le=500, description="page length, at most 500")]


@router.post("/cases", status_code=201, summary="Open a case for a customer (a call, a visit, ...)")
def open_case(hub: HubDep, principal: PrincipalDep, body: CaseIn) -> dict[str, Any]:
    require(principal, Permission.CASES_WRITE)
    return hub.service.desk.open_case(body, principal.actor, principal.store_id)


@router.get("/cases", summary="Cases, newest first, by customer, queue, status, assignee, channel")
def list_cases(
    hub: HubDep,
    principal: PrincipalDep,
    limit: Limit = 50,
    profile_id: Annotated[str | None, Query(max_length=40)] = None,
    queue: Annotated[str | None, Query(pattern=QUEUE_PATTERN)] = None,
    status: Annotated[str | None, Query(max_length=40)] = None,
    assignee: Annotated[str | None, Query(max_length=200)] = None,
    channel: Annotated[str | None, Query(max_length=20)] = None,
    priority: Annotated[str | None, Query(max_length=20)] = None,
    cursor: Annotated[str | None, Query(max_length=200, description="`next` of the page before")] = None,
) -> dict[str, Any]:
    require(principal, Permission.CASES_READ)
    filters = {
        "queue": queue,
        "status": status,
        "assignee": assignee,
        "channel": channel,
        "priority": priority,
    }
    return hub.service.desk.list_cases(filters, profile_id, cursor, limit, principal.store_id)


@router.get("/cases/{case_id}", summary="A case with its thread of entries (`items`)")
def get_case(hub: HubDep, principal: PrincipalDep, case_id: str) -> dict[str, Any]:
    require(principal, Permission.CASES_READ)
    return hub.service.desk.get(case_id, principal.store_id)


@router.post("/cases/{case_id}/replies", summary="Answer the customer on their channel (via messaging)")
def reply(hub: HubDep, principal: PrincipalDep, case_id: str, body: ReplyIn) -> dict[str, Any]:
    require(principal, Permission.CASES_WRITE)
    return hub.service.desk.reply(case_id, body.text, principal.actor, body.channel, principal.store_id)


@router.post("/cases/{case_id}/notes", summary="An internal note (never sent to the customer)")
def note(hub: HubDep, principal: PrincipalDep, case_id: str, body: NoteIn) -> dict[str, Any]:
    require(principal, Permission.CASES_WRITE)
    return hub.service.desk.note(case_id, body.text, principal.actor, principal.store_id)


@router.post("/cases/{case_id}/assign", summary="Assign the case (null: unassign)")
def assign(hub: HubDep, principal: PrincipalDep, case_id: str, body: AssignIn) -> dict[str, Any]:
    require(principal, Permission.CASES_WRITE)
    return hub.service.desk.assign(case_id, body.assignee, principal.actor, principal.store_id)


@router.post("/cases/{case_id}/status", summary="Change the status; resolved sends the CSAT survey")
def set_status(hub: HubDep, principal: PrincipalDep, case_id: str, body: StatusIn) -> dict[str, Any]:
    require(principal, Permission.CASES_WRITE)
    return hub.service.desk.set_status(case_id, body.status, principal.actor, principal.store_id)


@router.post("/cases/{case_id}/merge", summary="Merge a duplicate case into another (answers the survivor)")
def merge(hub: HubDep, principal: PrincipalDep, case_id: str, body: MergeIn) -> dict[str, Any]:
    require(principal, Permission.CASES_WRITE)
    survivor = hub.service.merger.merge(case_id, body.into, principal.actor, principal.store_id)
    hub.audit.record(principal.actor, "service.merge", survivor["profile_id"])
    return survivor


@router.post("/cases/{case_id}/unmerge", summary="Undo the merge of a duplicate (answers it restored)")
def unmerge(hub: HubDep, principal: PrincipalDep, case_id: str) -> dict[str, Any]:
    require(principal, Permission.CASES_WRITE)
    restored = hub.service.merger.undo(case_id, principal.actor, principal.store_id)
    hub.audit.record(principal.actor, "service.unmerge", restored["profile_id"])
    return restored


@router.get("/macros", summary="Canned replies and macros (of a queue, with those of every queue)")
def list_macros(
    hub: HubDep, principal: PrincipalDep, queue: Annotated[str | None, Query(pattern=QUEUE_PATTERN)] = None
) -> MacroList:
    require(principal, Permission.CASES_READ)
    return MacroList.model_validate({"items": hub.service.macros.all(queue, principal.store_id)})


@router.post("/macros", status_code=201, summary="Save a macro: an answer per locale and what else it does")
def create_macro(hub: HubDep, principal: PrincipalDep, body: MacroIn) -> MacroOut:
    require(principal, Permission.CASES_WRITE)
    return MacroOut.model_validate(hub.service.macros.create(body, principal.store_id))


@router.get("/macros/{macro_id}", summary="One macro")
def get_macro(hub: HubDep, principal: PrincipalDep, macro_id: str) -> MacroOut:
    require(principal, Permission.CASES_READ)
    return MacroOut.model_validate(hub.service.macros.get(macro_id, principal.store_id))


@router.delete("/macros/{macro_id}", status_code=204, summary="Delete a macro")
def delete_macro(hub: HubDep, principal: PrincipalDep, macro_id: str) -> None:
    require(principal, Permission.CASES_WRITE)
    hub.service.macros.delete(macro_id, principal.store_id)


@router.get("/cases/{case_id}/macros", summary="The macros of the case's queue, filled for this case")
def case_macros(hub: HubDep, principal: PrincipalDep, case_id: str) -> MacroList:
    require(principal, Permission.CASES_READ)
    items = hub.service.macros.for_case(case_id, principal.actor, principal.store_id)
    return MacroList.model_validate({"items": items})


@router.post("/cases/{case_id}/macros/{macro_id}", summary="Apply a macro: answer, tags, assignee, status")
def apply_macro(
    hub: HubDep, principal: PrincipalDep, case_id: str, macro_id: str, body: MacroApplyIn
) -> dict[str, Any]:
    require(principal, Permission.CASES_WRITE)
    return hub.service.macros.apply(case_id, macro_id, principal.actor, body.channel, principal.store_id)


@router.get(
    "/attachments/{attachment_id}",
    response_class=Response,
    responses={200: {"description": "The file as it came", "content": {"application/octet-stream": {}}}},
    summary="Download an attachment of a customer's mail",
)
def download_attachment(hub: HubDep, principal: PrincipalDep, attachment_id: str) -> Response:
    require(principal, Permission.CASES_READ)
    row = hub.service.files.download(attachment_id, principal.store_id)
    hub.audit.record(principal.actor, "service.attachment", row.profile_id)
    headers = {
        # always a download, never shown inline: the file is the customer's, not ours
        "Content-Disposition": _disposition(row.filename),
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "sandbox",
    }
    return Response(row.content, media_type=row.content_type, headers=headers)


def _disposition(filename: str) -> str:
    """An ASCII name for every client and the exact one as RFC 5987 (headers are Latin-1 only)."""
    plain = filename.encode("ascii", "replace").decode().replace("?", "_")
    return f"attachment; filename=\"{plain}\"; filename*=UTF-8''{quote(filename, safe='')}"


@router.get("/figures", summary="First response and resolution times, SLA compliance, CSAT")
def get_figures(
    hub: HubDep,
    principal: PrincipalDep,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=200_000, description="cases read at most")] = 100_000,
) -> dict[str, Any]:
    require(principal, Permission.CASES_READ)
    if principal.store_id is not None:  # the figures span every queue
        raise Forbidden("forbidden", "the service figures span every queue: not for a store's staff")
    now = hub.clock.now()
    until = until or now
    since = since or until - timedelta(days=30)
    if since.tzinfo is None or until.tzinfo is None:
        raise InvalidInput("naive_time", "since: give times with a time zone (Z or +01:00)", "since")
    if since >= until:
        raise InvalidInput("empty_window", "since: must be before until", "since")
    return hub.service.figures(since, until, limit)


@router.get(
    "/mailboxes",
    summary="The support mailboxes fetched over IMAP: how far each is read, and its last poll's outcome",
)
def get_mailboxes(hub: HubDep, principal: PrincipalDep) -> dict[str, Any]:
    require(principal, Permission.OPERATIONS_READ)
    return {"items": hub.service.mailboxes()}


HOOK_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"description": "Bad input; the body names the code, the problem and the field"},
    401: {"description": "Unsigned, badly signed, or a timestamp outside the tolerance (a replay)"},
    404: {"description": "No secret for this source"},
    413: {"description": "Body over 64 KiB"},
}
MAX_HOOK_BODY = 65_536


async def _signed(hub: HubDep, request: Request, source: str) -> None:
    """The request is signed with the source's secret (Standard Webhooks), before its body is read
    as a model; without a secret for the source, nothing is accepted from it."""
    secret = hub.settings.service_webhook_secrets.get(source)
    if secret is None:
        raise NotFound("unknown_source", f"source: no webhook secret for {source!r}", "source")
    body = await request.body()
    if len(body) > MAX_HOOK_BODY:
        raise BodyTooLarge(MAX_HOOK_BODY)
    now = hub.clock.now().timestamp()
    verify(secret, request.headers, body, now, hub.settings.service_webhook_tolerance_seconds)


Signed = Annotated[None, Depends(_signed)]
SourceName = Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9_-]{0,59}$", description="the source's name")]


@public.post(
    "/callbacks/service/{source}/messages",
    responses=HOOK_RESPONSES,
    summary="A chat or social message (signed webhook): continues the sender's case or opens one",
)
def chat_message(hub: HubDep, _: Signed, source: SourceName, body: ChatMessageIn) -> HookOut:
    return HookOut.model_validate(hub.service.hooks.message(source, body))


@public.post(
    "/callbacks/service/{source}/calls",
    responses=HOOK_RESPONSES,
    summary="A phone system's call event (signed webhook): on the caller's timeline, optionally a case",
)
def call_event(hub: HubDep, _: Signed, source: SourceName, body: CallIn) -> HookOut:
    return HookOut.model_validate(hub.service.hooks.call(source, body))


_TEXT = {
    "de": {
        "title": "Wie zufrieden waren Sie?",
        "ask": "Bitte bewerten Sie unsere Hilfe von 1 (gar nicht) bis 5 (sehr zufrieden).",
        "scale": "Ihre Bewertung",
        "comment": "Möchten Sie uns etwas mitteilen? (freiwillig)",
        "button": "Absenden",
        "done": "Vielen Dank für Ihre Bewertung!",
        "language": "Sprache",
    },
    "en": {
        "title": "How satisfied were you?",
        "ask": "Please rate our help from 1 (not at all) to 5 (very satisfied).",
        "scale": "Your rating",
        "comment": "Anything you would like to tell us? (optional)",
        "button": "Send",
        "done": "Thank you for your rating!",
        "language": "Language",
    },
}


def _page(request: Request, status: int = 200, **context: Any) -> HTMLResponse:
    lang = language(request)
    return render(
        "service/csat.html",
        status,
        lang=lang,
        t=_TEXT[lang],
        title=_TEXT[lang]["title"],
        languages=LANGUAGES,
        error=context.get("error"),
        done=context.get("done", False),
    )


@public.get("/service/csat/{token}", response_class=HTMLResponse, summary="The satisfaction survey page")
def csat_page(hub: HubDep, request: Request, token: str) -> HTMLResponse:
    try:
        hub.service.desk.csat_case(token)
    except OmnikanalError as exc:
        return _page(request, exc.status, error=exc.message)
    return _page(request)


@public.post("/service/csat/{token}", response_class=HTMLResponse, summary="Record a survey answer (form)")
async def csat_answer(hub: HubDep, request: Request, token: str) -> Response:
    form = parse_qs((await request.body())[:10_000].decode("utf-8", "replace"))
    score_text = (form.get("score") or [""])[0]
    comment = (form.get("comment") or [""])[0].strip() or None
    if not score_text.isdigit() or not 1 <= int(score_text) <= 5:
        return _page(request, 400, error="score: 1-5")
    from starlette.concurrency import run_in_threadpool

    try:
        await run_in_threadpool(hub.service.rate, token, int(score_text), comment[:2000] if comment else None)
    except OmnikanalError as exc:
        return _page(request, exc.status, error=exc.message)
    return _page(request, done=True)
