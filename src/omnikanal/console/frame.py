"""What every console page shares: the session behind the cookie, the role check, the language,
CSRF-checked forms and rendering into the layout with the menu of the pages the role may open."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, quote
from zoneinfo import ZoneInfo

import jinja2
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from omnikanal.auth.model import Permission, Principal
from omnikanal.console.error_texts import error_text
from omnikanal.console.formats import FILTERS
from omnikanal.console.icons import CHANNEL_ICONS
from omnikanal.console.nav import BY_KEY, visible
from omnikanal.console.texts import LANGUAGES, TEXTS
from omnikanal.errors import OmnikanalError
from omnikanal.pages import environment, render
from omnikanal.staff.model import Session
from omnikanal.web import SESSION_COOKIE

if TYPE_CHECKING:  # the composition root, as a type only: routers do not import it
    from omnikanal.hub import Hub

LANG_COOKIE = "omnikanal_lang"
MAX_FORM_BYTES = 64 * 1024


TIME_FORMATS: dict[str, str] = {"de": "%d.%m.%Y %H:%M", "en": "%Y-%m-%d %H:%M"}


@cache
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


@jinja2.pass_context
def when(context: jinja2.runtime.Context, value: str | None) -> str:
    """An ISO time from a service, in the staff's time zone and the page's language."""
    if not value:
        return "–"
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return value
    local = moment.astimezone(_zone(context.get("tz") or "Europe/Berlin"))
    return local.strftime(TIME_FORMATS.get(context.get("lang") or "de", TIME_FORMATS["de"]))


# The console's filters join the shared environment of the hub's pages (they change nothing there).
environment().filters.update({"when": when, **FILTERS})


class PageRefused(Exception):
    """Ends a console request early with a ready response (a redirect to login, a 403 page)."""

    def __init__(self, response: Response) -> None:
        super().__init__("console request refused")
        self.response = response


@dataclass
class Ctx:
    """One console request: the hub, the signed-in staff user, the language and its texts."""

    request: Request
    hub: Hub
    session: Session
    lang: str
    t: dict[str, str]

    @property
    def principal(self) -> Principal:
        return self.session.user.principal()

    def may(self, permission: Permission) -> bool:
        return self.principal.may(permission)

    def page(self, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
        response = render(
            f"console/{template}",
            status_code,
            lang=self.lang,
            t=self.t,
            title=context.pop("title", self.t["console"]),
            nav=visible(self.principal),
            current=context.pop("current", None),
            user=self.session.user,
            csrf=self.session.csrf_token,
            icons=CHANNEL_ICONS,
            languages=LANGUAGES,
            path=self.request.url.path,
            tz=self.hub.settings.messaging_default_timezone,
            **context,
        )
        if self.request.query_params.get("lang") in LANGUAGES:
            response.set_cookie(LANG_COOKIE, self.lang, max_age=365 * 86400, samesite="lax", httponly=True)
        return response

    def error(self, exc: OmnikanalError) -> str:
        """What a refused action says on this page, in its language."""
        return self.t.get(f"error_{exc.code}") or error_text(self.lang, exc.code, exc.message)

    def audit(self, action: str, profile_id: str | None) -> None:
        self.hub.audit.record(self.principal.actor, action, profile_id)


def language(request: Request) -> str:
    """``?lang=`` first, then the console's language cookie, else German."""
    asked = request.query_params.get("lang")
    if asked in LANGUAGES:
        return asked
    kept = request.cookies.get(LANG_COOKIE)
    return kept if kept in LANGUAGES else "de"


def refuse_page(request: Request, lang: str, status_code: int, text_key: str) -> HTMLResponse:
    t = TEXTS[lang]
    return render(
        "console/refused.html",
        status_code,
        lang=lang,
        t=t,
        title=t["console"],
        message=t[text_key],
        languages=LANGUAGES,
    )


def page_of(key: str) -> Callable[[Request], Awaitable[Ctx]]:
    """A dependency: the request's console context, if the user is logged in and may open page ``key``."""
    page = BY_KEY[key]

    async def dependency(request: Request) -> Ctx:
        ctx = await signed_in(request)
        if not page.allowed(ctx.principal):
            raise PageRefused(refuse_page(request, ctx.lang, 403, "forbidden"))
        return ctx

    return dependency


async def signed_in(request: Request) -> Ctx:
    hub: Hub = request.app.state.hub
    lang = language(request)
    session = await run_in_threadpool(hub.staff.session, request.cookies.get(SESSION_COOKIE))
    if session is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise PageRefused(RedirectResponse(f"/console/login?next={quote(target)}", status_code=303))
    return Ctx(request, hub, session, lang, TEXTS[lang])


async def form_of(ctx: Ctx) -> dict[str, str]:
    """A posted form, after its CSRF token was checked against the session's."""
    body = await ctx.request.body()
    if len(body) > MAX_FORM_BYTES:
        raise PageRefused(refuse_page(ctx.request, ctx.lang, 413, "csrf_failed"))
    form = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    if not ctx.hub.staff.csrf_ok(ctx.session, form.get("csrf")):
        raise PageRefused(refuse_page(ctx.request, ctx.lang, 403, "csrf_failed"))
    return form


def back(url: str) -> RedirectResponse:
    """After a successful form: back to a page (post/redirect/get)."""
    return RedirectResponse(url, status_code=303)


def install(app: FastAPI) -> None:
    @app.exception_handler(PageRefused)
    async def _refused(_: Request, exc: PageRefused) -> Response:
        return exc.response
