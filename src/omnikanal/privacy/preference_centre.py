"""The preference centre: a customer's own page for consents, and for filing an export or an erasure.

It spans consent (the choices) and privacy (the requests), so it lives with privacy, the later of
the two in the order of capabilities.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING
from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool

from omnikanal.consent.texts import CHANNEL_LABELS, PREFERENCES, PURPOSE_LABELS
from omnikanal.errors import InvalidInput

if TYPE_CHECKING:  # the composition root, as a type only: routers do not import it
    from omnikanal.hub import Hub
from omnikanal.pages import LANGUAGES, language, render
from omnikanal.privacy.model import RequestType
from omnikanal.signing import InvalidToken
from omnikanal.web import HubDep, client_address

router = APIRouter(include_in_schema=False)


MAX_FORM_BYTES = 16 * 1024


def _preferences_page(
    hub: Hub, lang: str, profile_id: str | None, status_code: int = 200, **context: object
) -> HTMLResponse:
    t = PREFERENCES[lang]
    values: dict[str, object] = {"error": None, "message": None, **context}
    if profile_id is not None:
        shown = hub.consent.preferences(profile_id)
        values.update(
            purposes=[
                {
                    "name": purpose,
                    "label": PURPOSE_LABELS[lang].get(purpose, purpose),
                    "on": status in ("granted", "pending"),
                    "pending": status == "pending",
                }
                for purpose, status in shown["purposes"].items()
            ],
            channels=CHANNEL_LABELS[lang],
            preferred_channel=shown["preferred_channel"] or "",
            preferred_language=shown["preferred_language"] or lang,
        )
    return render(
        "consent/preferences.html",
        status_code,
        lang=lang,
        t=t,
        title=t["title"],
        languages=LANGUAGES,
        **values,
    )


@router.get("/preferences/{token}", response_class=HTMLResponse)
async def preferences_page(hub: HubDep, request: Request, token: str) -> HTMLResponse:
    lang = language(request)
    try:
        profile_id = await run_in_threadpool(hub.consent.open_preference_token, token)
    except InvalidToken as exc:
        return _preferences_page(hub, lang, None, 400, error=PREFERENCES[lang][exc.code])
    return await run_in_threadpool(_preferences_page, hub, language(request), profile_id)


@router.post("/preferences/{token}", response_class=HTMLResponse)
async def save_preferences(hub: HubDep, request: Request, token: str) -> HTMLResponse:
    lang = language(request)
    t = PREFERENCES[lang]
    try:
        profile_id = await run_in_threadpool(hub.consent.open_preference_token, token)
    except InvalidToken as exc:
        return _preferences_page(hub, lang, None, 400, error=t[exc.code])
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        return _preferences_page(hub, lang, profile_id, 400, message=t["invalid"].format(field="form"))
    form = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
    action = (form.get("action") or ["save"])[0]
    if action in ("export", "erase"):
        kind = RequestType.EXPORT if action == "export" else RequestType.ERASURE
        filed = await run_in_threadpool(
            partial(
                hub.privacy.file,
                kind,
                profile_id=profile_id,
                origin="preference_centre",
                requested_by="customer",
            )
        )
        return await run_in_threadpool(
            partial(
                _preferences_page,
                hub,
                lang,
                profile_id,
                message=t["requested"].format(due=filed["due_at"][:10]),
            )
        )
    chosen_language = (form.get("language") or [""])[0]
    try:
        records = await run_in_threadpool(
            partial(
                hub.consent.save_preferences,
                profile_id,
                wanted=set(form.get("consent", [])),
                preferred_channel=(form.get("preferred_channel") or [""])[0] or None,
                preferred_language=chosen_language if chosen_language in LANGUAGES else None,
                proof={
                    "ip": client_address(request),
                    "user_agent": (request.headers.get("user-agent") or "")[:500] or None,
                },
            )
        )
    except InvalidInput as exc:
        return await run_in_threadpool(
            partial(
                _preferences_page, hub, lang, profile_id, 400, message=t["invalid"].format(field=exc.field)
            )
        )
    pending = any(r["status"] == "pending" for r in records)
    message = t["saved"] + (" " + t["saved_pending"] if pending else "")
    return await run_in_threadpool(partial(_preferences_page, hub, lang, profile_id, message=message))
