"""HTML pages that customers open from a link (double opt-in, preference centre, unsubscribe) and
readable exports: one Jinja2 environment with autoescaping, German by default, English on request."""

from __future__ import annotations

import functools
from typing import Any

import jinja2
from fastapi import Request
from fastapi.responses import HTMLResponse

LANGUAGES: tuple[str, ...] = ("de", "en")


@functools.cache
def environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("omnikanal", "templates"),
        autoescape=jinja2.select_autoescape(default=True),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def language(request: Request, preferred: str | None = None) -> str:
    """``?lang=`` first, then the person's stated language, then the browser's, else German."""
    asked = request.query_params.get("lang")
    if asked in LANGUAGES:
        return asked
    if preferred:
        short = preferred.lower()[:2]
        if short in LANGUAGES:
            return short
    for part in request.headers.get("accept-language", "").split(","):
        short = part.strip().lower()[:2]
        if short in LANGUAGES:
            return short
    return "de"


def render(template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    html = environment().get_template(template).render(**context)
    # Links carry tokens: never let them leak to other sites through the referrer, nor be cached.
    headers = {"Referrer-Policy": "no-referrer", "Cache-Control": "no-store", "X-Frame-Options": "DENY"}
    return HTMLResponse(html, status_code=status_code, headers=headers)
