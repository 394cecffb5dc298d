"""Customer search and the customer view (profile, identifiers, consents, timeline, orders,
reservations, messages, segments, merges, data-subject requests) with its actions: undo a merge,
withdraw a consent, file a data-subject request. Every read is recorded in the access log."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from omnikanal.auth.model import Permission
from omnikanal.consent.model import ConsentChange, ConsentStatus
from omnikanal.consent.texts import PURPOSE_LABELS
from omnikanal.console import queries
from omnikanal.console.frame import Ctx, PageRefused, back, form_of, page_of, refuse_page
from omnikanal.console.hotline_texts import event_label
from omnikanal.db.engine import read_tx
from omnikanal.errors import Conflict, InvalidInput, NotFound, OmnikanalError
from omnikanal.privacy.model import RequestType
from omnikanal.profiles.service import TimelineQuery
from omnikanal.recommend.model import Recommendations
from omnikanal.sources.model import CHANNELS

router = APIRouter(include_in_schema=False)
CustomersPage = Annotated[Ctx, Depends(page_of("customers"))]

# Tried in this order when staff type something that may be an identifier.
SEARCH_TYPES: tuple[str, ...] = ("email", "phone", "user_id", "loyalty_card", "anonymous_id")


# Pages of search hits staff may leaf through (with 50 rows a page, the first 5,000 hits): a
# search that needs more is too broad to read, and each page reads all the ones before it.
MAX_SEARCH_PAGE = 100


def find(ctx: Ctx, text: str, page: int = 1) -> tuple[list[dict[str, Any]], bool]:
    """One page of hits (identifier matches first, then names), and whether more follow."""
    hub = ctx.hub
    limit = hub.settings.console_page_rows
    skip = (page - 1) * limit
    ids: list[str] = []
    for identifier_type in SEARCH_TYPES:
        try:
            found = hub.profiles.lookup(identifier_type, text)
        except (NotFound, InvalidInput):
            continue
        if found["id"] not in ids:
            ids.append(found["id"])
    with read_tx(hub.engine) as conn:
        for pid in queries.search_names(conn, text, skip + limit + 1):
            if pid not in ids:
                ids.append(pid)
        hits = queries.summaries(conn, ids[skip : skip + limit])
    for hit in hits:
        ctx.audit("console.search", hit["id"])
    return hits, len(ids) > skip + limit


@router.get("/console/customers", response_class=HTMLResponse)
def search(
    ctx: CustomersPage,
    q: Annotated[str, Query(max_length=320)] = "",
    page: Annotated[int, Query(ge=1, le=MAX_SEARCH_PAGE)] = 1,
) -> HTMLResponse:
    text = q.strip()
    hits, more = find(ctx, text, page) if text else (None, False)
    return ctx.page(
        "customers.html",
        title=ctx.t["nav_customers"],
        current="customers",
        q=text,
        hits=hits,
        page=page,
        more=more,
    )


def _labelled(ctx: Ctx, timeline: dict[str, Any]) -> dict[str, Any]:
    """The timeline with each event's name for staff (translated where known, else as recorded)."""
    events = [e | {"label": event_label(ctx.lang, e)} for e in timeline["events"]]
    return timeline | {"events": events}


def _view(
    ctx: Ctx, profile_id: str, channel: str | None, event: str | None, cursor: str | None
) -> dict[str, Any]:
    hub, principal = ctx.hub, ctx.principal
    profile = hub.profiles.get(profile_id)
    live = profile["id"]
    ctx.audit("console.customer.read", live)
    query = TimelineQuery(
        channels=(channel,) if channel else (),
        event=event,
        cursor=cursor,
        limit=hub.settings.console_page_rows,
    )
    view: dict[str, Any] = {
        "profile": profile,
        "name": queries.display_name({k: v["value"] for k, v in profile["traits"].items()}),
        "timeline": _labelled(ctx, hub.profiles.timeline(live, query)),
        "merges": hub.profiles.merges(live),
        "consents": hub.consent.consents(live) if ctx.may(Permission.CONSENTS_READ) else None,
        "orders": None,
        "reservations": None,
        "messages": hub.messaging.for_profile(live, 20) if ctx.may(Permission.MESSAGES_READ) else None,
        "segments": hub.segments.profile_segments(live)["segments"]
        if ctx.may(Permission.SEGMENTS_READ)
        else None,
        "requests": None,
        "recommendations": _recommendations(ctx, live),
        "product_names": {},
        "purpose_labels": PURPOSE_LABELS.get(ctx.lang, PURPOSE_LABELS["de"]),
    }
    view["product_names"] = hub.recommend.names([i.product_id for i in view["recommendations"].items])
    if ctx.may(Permission.COMMERCE_READ):
        orders = hub.commerce.orders.find(live, None, None, 20)["orders"]
        view["orders"] = [
            o
            for o in orders
            if principal.may_see_store(o["fulfilment_location_id"])
            or principal.may_see_store(o["origin_location_id"])
        ]
        view["reservations"] = hub.commerce.reservations.find(principal.store_id, live, None, 20)
    if ctx.may(Permission.PRIVACY_FILE):
        # The requests of the person on the screen (their status for the caller), never others'.
        with read_tx(hub.engine) as conn:
            view["requests"] = queries.privacy_requests_of(conn, live, 20)
    return view


def _recommendations(ctx: Ctx, live: str) -> Recommendations:
    """The API's answer, consent rules included; for store staff in stock at their store (a store
    unknown to the catalogue: without the stock filter)."""
    try:
        return ctx.hub.recommend.recommend(live, 5, ctx.principal.store_id)
    except NotFound:
        return ctx.hub.recommend.recommend(live, 5, None)


@router.get("/console/customers/{profile_id}", response_class=HTMLResponse)
def customer(
    ctx: CustomersPage,
    profile_id: str,
    channel: Annotated[str | None, Query(max_length=20)] = None,
    event: Annotated[str | None, Query(max_length=200)] = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    done: Annotated[str | None, Query(max_length=40)] = None,
    error: Annotated[str | None, Query(max_length=300)] = None,
) -> HTMLResponse:
    channel = channel or None
    if channel is not None and channel not in CHANNELS:
        channel = None
    try:
        view = _view(ctx, profile_id, channel, event.strip() or None if event else None, cursor)
    except NotFound:
        return refuse_page(ctx.request, ctx.lang, 404, "not_found")
    except InvalidInput as exc:  # a cursor that was tampered with
        raise PageRefused(
            back(f"/console/customers/{quote(profile_id)}?error={quote(ctx.error(exc))}")
        ) from None
    return ctx.page(
        "customer.html",
        title=view["name"],
        current="customers",
        channels=CHANNELS,
        channel=channel,
        event=event or "",
        purposes=ctx.hub.settings.consent_purposes,
        request_types=[t.value for t in RequestType if t is not RequestType.ERASURE]
        + (["erasure"] if ctx.may(Permission.PRIVACY_ERASE) else []),
        may_unmerge=ctx.may(Permission.PROFILES_UNMERGE),
        may_withdraw=ctx.may(Permission.CONSENTS_WRITE),
        may_erase=ctx.may(Permission.PRIVACY_ERASE),
        done=done,
        error=error,
        **view,
    )


def _refuse_without(ctx: Ctx, permission: Permission) -> None:
    if not ctx.may(permission):
        raise PageRefused(refuse_page(ctx.request, ctx.lang, 403, "forbidden"))


def _after(ctx: Ctx, profile_id: str, exc: OmnikanalError | None = None) -> Response:
    if exc is None:
        return back(f"/console/customers/{quote(profile_id)}?done=1")
    return back(f"/console/customers/{quote(profile_id)}?error={quote(ctx.error(exc))}")


@router.post("/console/customers/{profile_id}/unmerge")
async def unmerge(ctx: CustomersPage, profile_id: str) -> Response:
    _refuse_without(ctx, Permission.PROFILES_UNMERGE)
    form = await form_of(ctx)
    actor = ctx.principal.actor
    try:
        result = await run_in_threadpool(
            ctx.hub.profiles.unmerge, profile_id, form.get("merge_id", ""), actor
        )
    except (NotFound, Conflict, InvalidInput) as exc:
        return _after(ctx, profile_id, exc)
    ctx.audit("profile.unmerge", result["profile_id"])
    return _after(ctx, result["profile_id"])


@router.post("/console/customers/{profile_id}/consents")
async def withdraw_consent(ctx: CustomersPage, profile_id: str) -> Response:
    _refuse_without(ctx, Permission.CONSENTS_WRITE)
    form = await form_of(ctx)
    change = ConsentChange(
        purpose=form.get("purpose", ""),
        status=ConsentStatus.WITHDRAWN,
        channel="store" if ctx.principal.role == "store" else "hotline",
        proof={"staff_user": ctx.principal.name},
    )
    try:
        await run_in_threadpool(
            lambda: ctx.hub.consent.record(
                profile_id, [change], source=f"console:{ctx.principal.name}", actor=ctx.principal.actor
            )
        )
    except (NotFound, InvalidInput) as exc:
        return _after(ctx, profile_id, exc)
    return _after(ctx, profile_id)


@router.post("/console/customers/{profile_id}/privacy")
async def file_request(ctx: CustomersPage, profile_id: str) -> Response:
    _refuse_without(ctx, Permission.PRIVACY_FILE)
    form = await form_of(ctx)
    try:
        kind = RequestType(form.get("type", ""))
    except ValueError:
        return _after(ctx, profile_id, InvalidInput("invalid_type", "unknown request type", "type"))
    if kind is RequestType.ERASURE:
        _refuse_without(ctx, Permission.PRIVACY_ERASE)
    try:
        filed = await run_in_threadpool(
            lambda: ctx.hub.privacy.file(
                kind, profile_id=profile_id, origin="console", requested_by=ctx.principal.actor
            )
        )
    except (NotFound, InvalidInput) as exc:
        return _after(ctx, profile_id, exc)
    ctx.audit(f"privacy.{kind.value}", filed["profile_id"])
    return _after(ctx, profile_id)


@router.post("/console/customers/{profile_id}/privacy/{request_id}/run")
async def run_request(ctx: CustomersPage, profile_id: str, request_id: str) -> Response:
    """Carry out a filed request. An erasure is never one click: it goes to the privacy workspace's
    confirmation step (privacy role only), which leaves a receipt."""
    _refuse_without(ctx, Permission.PRIVACY_FILE)
    await form_of(ctx)
    try:
        filed = await run_in_threadpool(ctx.hub.privacy.get, request_id)
        if filed["type"] == RequestType.ERASURE.value:
            _refuse_without(ctx, Permission.PRIVACY_ERASE)
            return back(f"/console/privacy/requests/{quote(request_id)}/erase")
        await run_in_threadpool(ctx.hub.privacy.run, request_id, ctx.principal.actor, may_erase=False)
    except (NotFound, Conflict, InvalidInput) as exc:
        return _after(ctx, profile_id, exc)
    return _after(ctx, profile_id)
