"""The double opt-in confirmation page customers reach from the link in their mail.

The confirmation link shows a button and confirms on POST: mail filters open links to scan them,
and a bare GET must not be mistaken for the person's consent.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool

from omnikanal.consent.texts import CONFIRM

if TYPE_CHECKING:  # the composition root, as a type only: routers do not import it
    pass
from omnikanal.pages import LANGUAGES, language, render
from omnikanal.signing import InvalidToken
from omnikanal.web import HubDep, client_address

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
    ip = client_address(request)
    try:
        await run_in_threadpool(
            hub.consent.confirm, token, ip=ip, user_agent=request.headers.get("user-agent")
        )
    except InvalidToken as exc:
        return _confirm_page(lang, 400, error=CONFIRM[lang][exc.code])
    return _confirm_page(lang, done=True)
