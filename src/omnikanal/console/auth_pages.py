"""Login and logout. The session cookie is HttpOnly, SameSite=Lax, and Secure when the hub's
public URL is https; the session itself lives in the database (staff/service.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated
from urllib.parse import parse_qsl

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from omnikanal.console.frame import LANG_COOKIE, MAX_FORM_BYTES, language, refuse_page
from omnikanal.console.nav import home
from omnikanal.console.texts import LANGUAGES, TEXTS
from omnikanal.errors import InvalidInput, TooManyRequests, Unauthorized
from omnikanal.pages import render
from omnikanal.web import SESSION_COOKIE, client_address

if TYPE_CHECKING:  # the composition root, as a type only: routers do not import it
    from omnikanal.hub import Hub

router = APIRouter(include_in_schema=False)


def _safe_next(target: str | None) -> str | None:
    """Only a console path: a login link must not send the user on to another site."""
    if target and target.startswith("/console") and not target.startswith("//"):
        return target
    return None


def _login_page(
    lang: str, status_code: int = 200, error: str | None = None, target: str = ""
) -> HTMLResponse:
    t = TEXTS[lang]
    return render(
        "console/login.html",
        status_code,
        lang=lang,
        t=t,
        title=f"{t['login']} – {t['console']}",
        error=error,
        next=target,
        languages=LANGUAGES,
    )


@router.get("/console/login", response_class=HTMLResponse)
async def login_page(
    request: Request, next: Annotated[str | None, Query(max_length=2000)] = None
) -> HTMLResponse:
    lang = language(request)
    response = _login_page(lang, target=_safe_next(next) or "")
    if request.query_params.get("lang") in LANGUAGES:
        response.set_cookie(LANG_COOKIE, lang, max_age=365 * 86400, samesite="lax", httponly=True)
    return response


@router.post("/console/login", response_class=HTMLResponse)
async def login(request: Request) -> Response:
    hub: Hub = request.app.state.hub
    lang = language(request)
    body = await request.body()
    form = dict(parse_qsl(body[:MAX_FORM_BYTES].decode("utf-8", "replace"), keep_blank_values=True))
    target = _safe_next(form.get("next"))
    ip = client_address(request)
    try:
        secret, session = await run_in_threadpool(
            hub.staff.login, form.get("username", ""), form.get("password", ""), ip
        )
    except TooManyRequests:
        return _login_page(lang, 429, TEXTS[lang]["login_throttled"], target or "")
    except (Unauthorized, InvalidInput):
        return _login_page(lang, 401, TEXTS[lang]["login_failed"], target or "")
    response = RedirectResponse(target or home(session.user.principal()), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        secret,
        max_age=int(hub.settings.console_session_hours * 3600),
        httponly=True,
        samesite="lax",
        secure=hub.settings.public_url.lower().startswith("https://"),
        path="/",
    )
    return response


@router.post("/console/logout")
async def logout(request: Request) -> Response:
    hub: Hub = request.app.state.hub
    secret = request.cookies.get(SESSION_COOKIE)
    session = await run_in_threadpool(hub.staff.session, secret)
    body = await request.body()
    form = dict(parse_qsl(body[:MAX_FORM_BYTES].decode("utf-8", "replace")))
    # Another site must not be able to log a user out either: the form carries the CSRF token, and
    # without it neither the session nor the cookie goes.
    if session is not None:
        if not hub.staff.csrf_ok(session, form.get("csrf")):
            lang = language(request)
            return refuse_page(request, lang, 403, "csrf_failed")
        await run_in_threadpool(hub.staff.logout, secret)
    response = RedirectResponse("/console/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
