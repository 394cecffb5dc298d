"""Pages customers reach from a link: the double opt-in confirmation and the preference centre.

The confirmation link shows a button and confirms on POST: mail filters open links to scan them,
and a bare GET must not be mistaken for the person's consent.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool

from omnikanal.consent.texts import CONFIRM
from omnikanal.pages import LANGUAGES, language, render
from omnikanal.signing import InvalidToken
from omnikanal.web import HubDep

router = APIRouter(include_in_schema=False)


def _confirm_page(lang: str, status_code: int = 200, **context: object) -> HTMLResponse:
    t = CONFIRM[lang]
    values: dict[str, object] = {"error": None, "done": False, **context}
    return render(
        "consent/confirm.html", status_code, lang=lang, t=t, title=t["title"], languages=LANGUAGES, **values
    )


@router.get("/confirm/{token}", response_class=HTMLResponse)
async def confirm_page(hub: HubDep, request: Request, token: str) -> HTMLResponse:
    lang = language(request)
    try:
        await run_in_threadpool(hub.consent.check_confirmation, token)
    except InvalidToken as exc:
        return _confirm_page(lang, 400, error=CONFIRM[lang][exc.code])
    return _confirm_page(lang)


@router.post("/confirm/{token}", response_class=HTMLResponse)
async def confirm(hub: HubDep, request: Request, token: str) -> HTMLResponse:
    lang = language(request)
    ip = request.client.host if request.client else None
    try:
        await run_in_threadpool(
            hub.consent.confirm, token, ip=ip, user_agent=request.headers.get("user-agent")
        )
    except InvalidToken as exc:
        return _confirm_page(lang, 400, error=CONFIRM[lang][exc.code])
    return _confirm_page(lang, done=True)
