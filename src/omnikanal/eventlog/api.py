"""Operations: how far the event-log processors are behind (the worker role's lag)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool

from omnikanal.auth.model import Permission
from omnikanal.web import ERROR_RESPONSES, HubDep, PrincipalDep, require

router = APIRouter(prefix="/api/operations", tags=["operations"], responses=ERROR_RESPONSES)


@router.get(
    "/log",
    summary="Each event-log processor: events not yet processed, and the age of the oldest of them",
)
async def log_lag(hub: HubDep, principal: PrincipalDep) -> dict[str, Any]:
    require(principal, Permission.OPERATIONS_READ)
    lags = await run_in_threadpool(hub.eventlog.lag, [p.name for p in hub.processors])
    return {
        "processors": [
            {"name": lag.consumer, "behind": lag.behind, "oldest_seconds": lag.oldest_seconds} for lag in lags
        ]
    }
