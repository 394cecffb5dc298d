"""The FastAPI application over a Hub."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel

from omnikanal import __version__
from omnikanal.analytics import api as analytics_api
from omnikanal.commerce import api as commerce_api
from omnikanal.consent import api as consent_api
from omnikanal.consent import pages as consent_pages
from omnikanal.console import overview as console_overview
from omnikanal.console import routes as console_routes
from omnikanal.eventlog import api as eventlog_api
from omnikanal.hub import Hub
from omnikanal.ingest import api as ingest_api
from omnikanal.ingest import browser as ingest_browser
from omnikanal.ingest import quarantine_api
from omnikanal.ingest import settings_api as ingest_settings_api
from omnikanal.journeys import api as journeys_api
from omnikanal.matching import api as matching_api
from omnikanal.messaging import api as messaging_api
from omnikanal.messaging import push_api
from omnikanal.openapi import document_errors
from omnikanal.privacy import api as privacy_api
from omnikanal.privacy import preference_centre
from omnikanal.profiles import api as profiles_api
from omnikanal.recommend import api as recommend_api
from omnikanal.segments import api as segments_api
from omnikanal.service import api as service_api
from omnikanal.sources import api as sources_api
from omnikanal.web import BodyLimit, RefuseBadJsonText, body_limits, install_error_handlers

DESCRIPTION = """Omnikanal, the omnichannel customer hub: every channel's events in one profile per customer.

* `/v1/*` speaks the Segment HTTP tracking API; authenticate with a source's write key as the HTTP
  Basic user name (empty password) or as `writeKey` in the body.
* `/api/*` is for staff tools and systems; authenticate with `Authorization: Bearer <token>`.
"""


def create_app(hub: Hub, *, manage_lifecycle: bool = True, worker: bool = True) -> FastAPI:
    """The API for a hub. With ``manage_lifecycle`` the app starts and stops the hub's background
    work: the API role's, and with ``worker`` the worker role's in this process too (tests, the demo
    builder); ``omnikanal serve`` runs the worker role in a process of its own."""

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if manage_lifecycle:
            hub.start(api=True, worker=worker)
            console_overview.warm(app, hub)
        try:
            yield
        finally:
            if manage_lifecycle:
                hub.stop()

    app = FastAPI(title="Omnikanal", version=__version__, description=DESCRIPTION, lifespan=lifespan)
    app.state.hub = hub
    install_error_handlers(app)
    # Starlette runs the middleware added last first: the body limit wraps the text check's reading.
    app.add_middleware(RefuseBadJsonText)
    app.add_middleware(BodyLimit, limits=body_limits(hub.settings))
    # outside the error handlers and the limits: preflights and CORS headers for the tracking
    # endpoints, errors included
    ingest_browser.install(app, hub)
    app.include_router(ingest_api.router)
    app.include_router(ingest_api.beacon_router)
    app.include_router(ingest_settings_api.router)
    app.include_router(profiles_api.router)
    app.include_router(recommend_api.router)
    app.include_router(matching_api.router)
    app.include_router(sources_api.router)
    app.include_router(quarantine_api.router)
    app.include_router(messaging_api.router)
    app.include_router(messaging_api.public)
    app.include_router(push_api.router)
    app.include_router(consent_api.router)
    app.include_router(consent_pages.router)
    app.include_router(preference_centre.router)
    app.include_router(privacy_api.router)
    app.include_router(commerce_api.router)
    app.include_router(commerce_api.scan_router)
    app.include_router(segments_api.router)
    app.include_router(service_api.router)
    app.include_router(service_api.public)
    console_routes.install(app)
    app.include_router(journeys_api.router)
    app.include_router(eventlog_api.router)
    app.include_router(analytics_api.router)

    @app.get("/health", tags=["operations"], summary="Liveness and the database engine in use")
    def health() -> dict[str, Any]:
        return {"status": "ok", "version": __version__, "database": hub.engine.dialect.name}

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title, version=app.version, description=app.description, routes=app.routes
        )
        components = schema.setdefault("components", {})
        schemas = components.setdefault("schemas", {})
        for model in ingest_api.SCHEMA_MODELS:
            _add_model(schemas, model)
        components.setdefault("securitySchemes", {}).update(
            {
                "writeKey": {
                    "type": "http",
                    "scheme": "basic",
                    "description": "write key as user, empty password",
                },
                "bearer": {"type": "http", "scheme": "bearer"},
            }
        )
        app.openapi_schema = document_errors(schema)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app


def app_from_environment() -> FastAPI:
    """Factory for ``uvicorn --factory`` worker processes: each builds its own hub from the settings."""
    from omnikanal.hub import build_hub
    from omnikanal.runtime import tune_gc
    from omnikanal.settings import load_settings

    # the worker role runs in a process of its own beside these (omnikanal serve starts it)
    app = create_app(build_hub(load_settings(), migrate=False), worker=False)
    tune_gc()
    return app


def _add_model(schemas: dict[str, Any], model: type[BaseModel]) -> None:
    generated = model.model_json_schema(ref_template="#/components/schemas/{model}")
    for name, definition in generated.pop("$defs", {}).items():
        schemas.setdefault(name, definition)
    schemas[model.__name__] = generated
