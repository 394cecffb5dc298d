"""The console's stylesheet and script (written for it, rendered from templates) and the plotly.js
bundle that the ``plotly`` package ships, served by the hub: the console needs no internet."""

from __future__ import annotations

import functools
import hashlib
import importlib.resources

from fastapi import APIRouter
from fastapi.responses import Response

from omnikanal.console.palette import PALETTE
from omnikanal.pages import environment

router = APIRouter(include_in_schema=False)

CACHE = {"Cache-Control": "public, max-age=86400"}


@functools.cache
def _plotly() -> bytes:
    return importlib.resources.files("plotly").joinpath("package_data/plotly.min.js").read_bytes()


@functools.cache
def _css() -> bytes:
    return environment().get_template("console/console.css").render(c=PALETTE).encode()


@functools.cache
def _js() -> bytes:
    return environment().get_template("console/console.js").render().encode()


def version() -> str:
    """Part of the asset URLs, so a new release's files are fetched despite the cache."""
    return hashlib.sha256(_css() + _js()).hexdigest()[:12]


@router.get("/console/static/plotly.min.js")
def plotly_js() -> Response:
    return Response(_plotly(), media_type="text/javascript", headers=CACHE)


@router.get("/console/static/console.css")
def console_css() -> Response:
    return Response(_css(), media_type="text/css", headers=CACHE)


@router.get("/console/static/console.js")
def console_js() -> Response:
    return Response(_js(), media_type="text/javascript", headers=CACHE)
