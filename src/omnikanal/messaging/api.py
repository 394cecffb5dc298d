"""HTTP edge of messaging: templates, messages, statistics, staff tasks, and the customer-facing
links (one-click unsubscribe, tracked clicks, the open pixel) and provider callbacks."""

from __future__ import annotations

import contextlib
import html
from datetime import UTC, datetime
from typing import Annotated, Any, Literal
from urllib.parse import parse_qsl

import orjson
from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import BaseModel, Field, ValidationError, ValidatorFunctionWrapHandler, field_validator
from starlette.concurrency import run_in_threadpool

from omnikanal.auth.model import Permission, Principal
from omnikanal.errors import Forbidden, InvalidInput, Unauthorized
from omnikanal.messaging import reports
from omnikanal.messaging.channels.sms import TWILIO_STATUS, valid_twilio_signature
from omnikanal.messaging.channels.tasks import QUEUE_PATTERN
from omnikanal.messaging.model import AUTO, CHANNELS, LOCALES, Status
from omnikanal.messaging.service import SendRequest
from omnikanal.profiles.service import TimelineQuery
from omnikanal.signing import InvalidToken
from omnikanal.web import ERROR_RESPONSES, HubDep, PrincipalDep, aware_time, require

router = APIRouter(tags=["messaging"], responses=ERROR_RESPONSES)
public = APIRouter(tags=["messaging: customer links"])


# -- request bodies ------------------------------------------------------------------------------


class TemplateIn(BaseModel):
    name: str = Field(min_length=1, max_length=200, description="the template's name, shared by its versions")
    channel: str = Field(description=f"one of: {', '.join(CHANNELS)}")
    locale: str = Field(description=f"one of: {', '.join(LOCALES)}")
    subject: str | None = Field(default=None, max_length=2000, description="emails (required) and tasks")
    body_text: str = Field(max_length=100_000, description="the text part, the SMS or the task text")
    body_html: str | None = Field(default=None, max_length=500_000, description="the HTML part of an email")


class PreviewIn(BaseModel):
    profile_id: str = Field(min_length=1, max_length=40)
    data: dict[str, Any] = Field(default_factory=dict, description="caller data, as a send would give it")


class ContentIn(BaseModel):
    subject: str | None = Field(default=None, max_length=2000)
    text: str = Field(max_length=100_000)
    html: str | None = Field(default=None, max_length=500_000)


class MessageIn(BaseModel):
    profile_id: str = Field(min_length=1, max_length=40)
    channel: str = Field(description=f"one of: {', '.join((*CHANNELS, AUTO))}; auto lets the gate choose")
    template: str | None = Field(default=None, max_length=200, description="a template name")
    content: ContentIn | None = Field(default=None, description="inline content instead of a template")
    purpose: str | None = Field(
        default=None,
        max_length=40,
        description="consent purpose of a marketing message (default: the channel's)",
    )
    transactional: bool = Field(default=False, description="an order status, a receipt: no marketing consent")
    data: dict[str, Any] = Field(default_factory=dict, description="caller data for the template")
    idempotency_key: str | None = Field(default=None, min_length=1, max_length=200)
    send_at: Literal["best_hour"] | datetime | None = Field(
        default=None,
        description="not before this time (ISO 8601), or best_hour: the next hour of the day at which "
        "the customer acts most (their time zone; quiet hours still rule)",
    )
    locale: str | None = Field(
        default=None, description=f"one of: {', '.join(LOCALES)}; default: the profile's"
    )
    to: str | None = Field(default=None, max_length=2000, description="webhook only: the URL to call")
    queue: str | None = Field(default=None, max_length=80, description="task only: hotline or store:<id>")
    kind: str | None = Field(default=None, max_length=40, description="task only: call, pickup, ...")

    @field_validator("send_at", mode="wrap")
    @classmethod
    def _send_at(cls, value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        try:
            return handler(value)
        except ValidationError:  # one message naming the field, not one per member of the union
            raise ValueError("an ISO 8601 time or best_hour") from None


class TaskDone(BaseModel):
    outcome: str | None = Field(default=None, max_length=2000)


# -- templates -----------------------------------------------------------------------------------


@router.post(
    "/api/messaging/templates",
    status_code=201,
    summary="Create or replace a template version",
    responses={200: {"description": "The same content as the current version: nothing new"}},
)
def save_template(
    hub: HubDep, principal: PrincipalDep, body: TemplateIn, response: Response
) -> dict[str, Any]:
    require(principal, Permission.TEMPLATES_WRITE)
    view, created = hub.messaging.save_template(
        body.name, body.channel, body.locale, body.subject, body.body_text, body.body_html
    )
    if not created:
        response.status_code = 200
    return view


@router.get("/api/messaging/templates", summary="Templates, optionally by name or channel")
def list_templates(
    hub: HubDep,
    principal: PrincipalDep,
    name: Annotated[str | None, Query(max_length=200)] = None,
    channel: Annotated[str | None, Query(max_length=20)] = None,
) -> dict[str, Any]:
    require(principal, Permission.MESSAGES_READ)
    return {"templates": hub.messaging.list_templates(name, channel)}


@router.get("/api/messaging/templates/{template_id}", summary="One template")
def get_template(hub: HubDep, principal: PrincipalDep, template_id: str) -> dict[str, Any]:
    require(principal, Permission.MESSAGES_READ)
    return hub.messaging.get_template(template_id)


@router.post("/api/messaging/templates/{template_id}/preview", summary="Render a template for a profile")
def preview_template(
    hub: HubDep, principal: PrincipalDep, template_id: str, body: PreviewIn
) -> dict[str, Any]:
    require(principal, Permission.MESSAGES_READ)
    result = hub.messaging.preview(template_id, body.profile_id, body.data)
    hub.audit.record(principal.actor, "message.preview", result["profile_id"])
    return result


# -- messages ------------------------------------------------------------------------------------


def _may_send(principal: Principal, transactional: bool) -> None:
    require(principal, Permission.MESSAGES_SEND)
    if principal.role == "admin":
        return
    if transactional and principal.role != "service":
        raise Forbidden("forbidden", f"role {principal.role} may not send transactional messages")
    if not transactional and principal.role != "marketing":
        raise Forbidden("forbidden", f"role {principal.role} may not send marketing messages")


@router.post(
    "/api/messages",
    status_code=201,
    summary="Send a message: outbox, gate, channel",
    responses={200: {"description": "The message sent before under this idempotency key"}},
)
def send_message(hub: HubDep, principal: PrincipalDep, body: MessageIn, response: Response) -> dict[str, Any]:
    _may_send(principal, body.transactional)
    best_hour = body.send_at == "best_hour"
    send_at = body.send_at if isinstance(body.send_at, datetime) else None
    if send_at is not None:
        send_at = send_at.replace(tzinfo=UTC) if send_at.tzinfo is None else send_at.astimezone(UTC)
    if body.to is not None and body.channel != "webhook":
        raise InvalidInput(
            "to_not_allowed", "to: only a webhook takes an address; others use the profile's", "to"
        )
    if body.queue is not None and not QUEUE_PATTERN.match(body.queue):
        raise InvalidInput("invalid_queue", "queue must be hotline or store:<id>", "queue")
    request = SendRequest(
        profile_id=body.profile_id,
        channel=body.channel,
        transactional=body.transactional,
        purpose=body.purpose,
        template=body.template,
        content=body.content.model_dump() if body.content is not None else None,
        data=body.data,
        idempotency_key=body.idempotency_key,
        send_at=send_at,
        best_hour=best_hour,
        locale=body.locale,
        to=body.to,
        queue=body.queue,
        kind=body.kind,
    )
    view, created = hub.messaging.send(request, principal.actor)
    if not created:
        response.status_code = 200
    return view


@router.get("/api/messages", summary="Messages, newest first; e.g. status=failed to find the failed ones")
def list_messages(
    hub: HubDep,
    principal: PrincipalDep,
    status: Annotated[str | None, Query(description=f"one of: {', '.join(Status)}")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> dict[str, Any]:
    require(principal, Permission.MESSAGES_READ)
    if status is not None and status not in set(Status):
        raise InvalidInput("invalid_status", f"status must be one of: {', '.join(Status)}", "status")
    return {"messages": hub.messaging.list_messages(status, limit)}


@router.get("/api/messages/{message_id}", summary="One message with its gate decision and status history")
def get_message(hub: HubDep, principal: PrincipalDep, message_id: str) -> dict[str, Any]:
    require(principal, Permission.MESSAGES_READ)
    view = hub.messaging.get(message_id)
    hub.audit.record(principal.actor, "message.read", view["profile_id"])
    return view


@router.post("/api/messages/{message_id}/retry", summary="Send a failed message again")
def retry_message(hub: HubDep, principal: PrincipalDep, message_id: str) -> dict[str, Any]:
    require(principal, Permission.MESSAGES_SEND)
    # A retry sends again: the same rules as sending decide who may (marketing vs transactional).
    _may_send(principal, bool(hub.messaging.get(message_id)["transactional"]))
    return hub.messaging.retry(message_id, principal.actor)


@router.get("/api/profiles/{profile_id}/messages", summary="A profile's messages, newest first")
def profile_messages(
    hub: HubDep,
    principal: PrincipalDep,
    profile_id: str,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> dict[str, Any]:
    require(principal, Permission.MESSAGES_READ)
    found = hub.messaging.for_profile(profile_id, limit)
    hub.audit.record(principal.actor, "profile.messages", profile_id)
    return {"messages": found}


@router.get("/api/messaging/stats", summary="Delivery statistics per channel and template")
def stats(
    hub: HubDep,
    principal: PrincipalDep,
    since: Annotated[datetime | None, Query(description="ISO 8601; messages created since")] = None,
) -> dict[str, Any]:
    require(principal, Permission.MESSAGES_READ)
    return hub.messaging.stats(aware_time(since, "since"))


# -- staff tasks ---------------------------------------------------------------------------------


def _may_use_queue(principal: Principal, queue: str, permission: Permission) -> None:
    require(principal, permission)
    if not QUEUE_PATTERN.match(queue):
        raise InvalidInput("invalid_queue", "queue must be hotline or store:<id>", "queue")
    if principal.role == "store" and not queue.startswith("store:"):
        raise Forbidden("forbidden", "a store works its own store:<id> queue, not the hotline's")
    if principal.store_id is not None and queue != f"store:{principal.store_id}":
        raise Forbidden("other_store", f"this principal works only the queue store:{principal.store_id}")


@router.get("/api/tasks", summary="Open tasks of a queue (hotline or store:<id>) with the customer's context")
def list_tasks(
    hub: HubDep,
    principal: PrincipalDep,
    queue: Annotated[str, Query(max_length=80, description="hotline or store:<id>")],
    status: Annotated[str | None, Query(description="open, claimed or done; default: all")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> dict[str, Any]:
    _may_use_queue(principal, queue, Permission.TASKS_READ)
    if status is not None and status not in ("open", "claimed", "done"):
        raise InvalidInput("invalid_status", "status must be one of: open, claimed, done", "status")

    def context(profile_id: str) -> dict[str, Any]:
        hub.audit.record(principal.actor, "task.context", profile_id)
        return customer_context(hub, profile_id)

    return {"tasks": hub.messaging.tasks(queue, status, limit, context)}


@router.post("/api/tasks/{task_id}/claim", summary="Take a task")
def claim_task(hub: HubDep, principal: PrincipalDep, task_id: str) -> dict[str, Any]:
    require(principal, Permission.TASKS_WRITE)  # before the lookup: no answer tells who has tasks
    _may_use_queue(principal, hub.messaging.task_queue(task_id), Permission.TASKS_WRITE)
    return hub.messaging.claim_task(task_id, principal.actor)


@router.post("/api/tasks/{task_id}/complete", summary="Mark a task done, with its outcome")
def complete_task(hub: HubDep, principal: PrincipalDep, task_id: str, body: TaskDone) -> dict[str, Any]:
    require(principal, Permission.TASKS_WRITE)
    _may_use_queue(principal, hub.messaging.task_queue(task_id), Permission.TASKS_WRITE)
    return hub.messaging.complete_task(task_id, principal.actor, body.outcome)


def customer_context(hub: Any, profile_id: str) -> dict[str, Any]:
    """Name, identifiers and the last events: what the agent or the store needs to act."""
    try:
        profile = hub.profiles.get(profile_id)
        recent = hub.profiles.timeline(profile["id"], TimelineQuery(limit=5))["events"]
    except Exception:  # erased meanwhile
        return {"profile_id": profile_id, "name": None, "identifiers": [], "last_events": []}
    traits = {
        k: (v.get("value") if isinstance(v, dict) else v) for k, v in (profile.get("traits") or {}).items()
    }
    name = (
        traits.get("name")
        or " ".join(str(traits[k]) for k in ("firstName", "lastName") if traits.get(k))
        or None
    )
    return {
        "profile_id": profile["id"],
        "name": name,
        "identifiers": [{"type": i["type"], "value": i["value"]} for i in profile.get("identifiers", [])],
        "last_events": [
            {
                "type": e.get("type"),
                "event": e.get("event"),
                "channel": e.get("channel"),
                "timestamp": e.get("timestamp"),
            }
            for e in recent
        ],
    }


# -- customer links ------------------------------------------------------------------------------

_PAGE = """<!doctype html>
<html lang="de"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>{title}</title></head>
<body style="font-family: sans-serif; max-width: 36em; margin: 3em auto; line-height: 1.5">
{body}
</body></html>
"""


def _page(title: str, body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(_PAGE.format(title=html.escape(title), body=body), status_code=status)


def _invalid_link(exc: InvalidToken) -> HTMLResponse:
    expired = exc.code == "token_expired"
    de = "Dieser Link ist abgelaufen." if expired else "Dieser Link ist ungültig."
    en = "This link has expired." if expired else "This link is not valid."
    return _page("Link", f'<p>{de}</p><p lang="en">{en}</p>', status=400)


@public.get("/unsubscribe/{token}", response_class=HTMLResponse, summary="Confirmation page with one button")
def unsubscribe_page(hub: HubDep, token: str) -> HTMLResponse:
    try:
        body = hub.signer.open("unsubscribe", token)
    except InvalidToken as exc:
        return _invalid_link(exc)
    action = html.escape(f"/unsubscribe/{token}")
    channel = html.escape(str(body.get("c")))
    return _page(
        "Abmelden / Unsubscribe",
        f"<h1>Abmelden</h1><p>Keine Werbung mehr über {channel} erhalten?</p>"
        f'<h1 lang="en">Unsubscribe</h1><p lang="en">Stop receiving marketing over {channel}?</p>'
        f'<form method="post" action="{action}">'
        '<input type="hidden" name="List-Unsubscribe" value="One-Click">'
        '<button type="submit">Abmelden / Unsubscribe</button></form>',
    )


@public.post("/unsubscribe/{token}", response_class=HTMLResponse, summary="One-click unsubscribe (RFC 8058)")
async def unsubscribe(hub: HubDep, token: str, request: Request) -> HTMLResponse:
    form = dict(parse_qsl((await request.body()).decode("utf-8", "replace")))
    proof = {
        "one_click": form.get("List-Unsubscribe") == "One-Click",
        "user_agent": request.headers.get("user-agent", "")[:200],
    }
    try:
        result = await run_in_threadpool(hub.messaging.unsubscribe, token, proof)
    except InvalidToken as exc:
        return _invalid_link(exc)
    channel = html.escape(str(result["channel"]))
    return _page(
        "Abgemeldet / Unsubscribed",
        f"<p>Sie sind abgemeldet und erhalten keine Werbung mehr über {channel}.</p>"
        f'<p lang="en">You are unsubscribed and will receive no more marketing over {channel}.</p>',
    )


@public.get(
    "/m/c/{token}",
    summary="A tracked link: records the click, then redirects",
    responses={
        302: {"description": "To the link's target"},
        400: {"description": "Not a valid link (a page)", "content": {"text/html": {}}},
    },
)
def click(hub: HubDep, token: str) -> Response:
    try:
        url = hub.messaging.click(token)
    except InvalidToken as exc:
        return _invalid_link(exc)
    return RedirectResponse(url, status_code=302)


_GIF = bytes.fromhex("47494638396101000100800000000000ffffff21f90401000000002c00000000010001000002024401003b")


@public.get(
    "/m/o/{token}",
    summary="The open pixel of a marketing email",
    responses={200: {"content": {"image/gif": {}}, "description": "A 1x1 GIF, whatever the token"}},
)
def opened(hub: HubDep, token: str) -> Response:
    # an image never answers an error; a forged pixel simply records nothing
    with contextlib.suppress(InvalidToken):
        hub.messaging.opened(token)
    return Response(_GIF, media_type="image/gif", headers={"cache-control": "no-store"})


@public.post("/callbacks/email-reports", summary="Bounce and complaint reports (signed, Standard Webhooks)")
async def email_report(hub: HubDep, request: Request) -> dict[str, Any]:
    body = await request.body()
    if len(body) > reports.MAX_REPORT_BYTES:
        raise InvalidInput("body_too_large", f"a report is at most {reports.MAX_REPORT_BYTES} bytes")
    settings = hub.settings
    reports.verify(
        settings.report_secret,
        dict(request.headers),
        body,
        hub.clock.now().timestamp(),
        settings.report_tolerance_seconds,
    )
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise InvalidInput("invalid_json", f"the body is not valid JSON: {exc}") from None
    result: dict[str, Any] = await run_in_threadpool(hub.messaging.report, reports.parse(parsed))
    return result


_TWIML_EMPTY = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


@public.post(
    "/callbacks/twilio/inbound", summary="Twilio's incoming-message webhook (signed): STOP and START"
)
async def twilio_inbound(hub: HubDep, request: Request) -> Response:
    params = dict(parse_qsl((await request.body()).decode("utf-8", "replace"), keep_blank_values=True))
    url = hub.messaging.status_callback_url().rsplit("/", 1)[0] + "/inbound"
    if request.url.query:
        url += "?" + request.url.query
    token = hub.settings.twilio_auth_token
    if not valid_twilio_signature(token, url, params, request.headers.get("x-twilio-signature")):
        raise Unauthorized("invalid_signature", "X-Twilio-Signature does not match", "X-Twilio-Signature")
    if params.get("AccountSid") != hub.settings.twilio_account_sid:
        raise Unauthorized("unknown_account", "the message is for another Twilio account", "AccountSid")
    await run_in_threadpool(hub.messaging.inbound.receive, params)
    # An empty TwiML answer: no reply from us (Twilio confirms its own keywords to the sender).
    return Response(_TWIML_EMPTY, media_type="text/xml")


@public.post("/callbacks/twilio/status", summary="Twilio's delivery status callback (signed)")
async def twilio_status(hub: HubDep, request: Request) -> Response:
    params = dict(parse_qsl((await request.body()).decode("utf-8", "replace"), keep_blank_values=True))
    # Twilio signs the URL it called: ours as published, not as a proxy may have rewritten it.
    url = hub.messaging.status_callback_url()
    if request.url.query:
        url += "?" + request.url.query
    token = hub.settings.twilio_auth_token
    if not valid_twilio_signature(token, url, params, request.headers.get("x-twilio-signature")):
        raise Unauthorized("invalid_signature", "X-Twilio-Signature does not match", "X-Twilio-Signature")
    sid = params.get("MessageSid") or params.get("SmsSid")
    status = TWILIO_STATUS.get(params.get("MessageStatus") or params.get("SmsStatus") or "")
    if sid and status is not None:
        detail = {k: params[k] for k in ("MessageStatus", "ErrorCode") if params.get(k)}
        message_id = request.query_params.get("m")
        await run_in_threadpool(hub.messaging.provider_status, sid, status, detail, message_id)
    return Response(status_code=204)
