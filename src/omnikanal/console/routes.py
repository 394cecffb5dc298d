"""The console's routes in one router, and its installation into the app."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI

from omnikanal.console import (
    analytics_page,
    assets,
    auth_pages,
    cases_page,
    customers,
    frame,
    hotline_actions,
    hotline_page,
    journey_actions,
    journeys_page,
    matching_page,
    messages_page,
    overview,
    privacy_people,
    privacy_workspace,
    quality_page,
    segment_members,
    segments_page,
    store_actions,
    store_page,
)

router = APIRouter(include_in_schema=False)
for module in (
    assets,
    auth_pages,
    overview,
    customers,
    segments_page,
    segment_members,
    journey_actions,
    journeys_page,
    messages_page,
    store_page,
    store_actions,
    hotline_page,
    hotline_actions,
    cases_page,
    quality_page,
    analytics_page,
    matching_page,
    privacy_workspace,
    privacy_people,
):
    router.include_router(module.router)


def install(app: FastAPI) -> None:
    frame.install(app)
    app.include_router(router)
