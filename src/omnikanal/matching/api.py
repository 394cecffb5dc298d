"""HTTP API of the matching review queue: list, one item, accept (merge), reject.

Reading the queue needs ``profiles:read``; deciding needs ``profiles:unmerge``, the permission of
whoever may already undo merges: accepting is a merge, and a rejection keeps two profiles apart.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from omnikanal.auth.model import Permission
from omnikanal.web import ERROR_RESPONSES, HubDep, PrincipalDep, require

router = APIRouter(prefix="/api/matching", tags=["matching"], responses=ERROR_RESPONSES)

STATUSES = ("review", "merged", "accepted", "rejected", "refused")


@router.get("/reviews", summary="Pairs of profiles waiting for a decision, most probable first")
def list_reviews(
    hub: HubDep,
    principal: PrincipalDep,
    status: Annotated[
        str, Query(pattern="^(" + "|".join(STATUSES) + ")$", description="which pairs")
    ] = "review",
    limit: Annotated[int, Query(ge=1, le=200, description="page length, at most 200")] = 50,
    offset: Annotated[int, Query(ge=0, le=100_000)] = 0,
) -> dict[str, Any]:
    require(principal, Permission.PROFILES_READ)
    return hub.matching.queue(limit, offset, status)


@router.get("/reviews/{pair_id}", summary="One pair: both cards, the score and each field's weight")
def get_review(hub: HubDep, principal: PrincipalDep, pair_id: str) -> dict[str, Any]:
    require(principal, Permission.PROFILES_READ)
    return hub.matching.item(pair_id)


@router.post("/reviews/{pair_id}/accept", summary="The same person: merge the two profiles")
def accept_review(hub: HubDep, principal: PrincipalDep, pair_id: str) -> dict[str, Any]:
    require(principal, Permission.PROFILES_UNMERGE)
    result = hub.matching.accept(pair_id, principal.actor)
    hub.audit.record(principal.actor, "matching.accept", pair_id)
    return result


@router.post("/reviews/{pair_id}/reject", summary="Not the same person: never proposed again")
def reject_review(hub: HubDep, principal: PrincipalDep, pair_id: str) -> dict[str, Any]:
    require(principal, Permission.PROFILES_UNMERGE)
    result = hub.matching.reject(pair_id, principal.actor)
    hub.audit.record(principal.actor, "matching.reject", pair_id)
    return result
