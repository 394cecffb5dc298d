"""HTTP API of recommend: a customer's recommendations."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field

from omnikanal.auth.model import Permission
from omnikanal.web import ERROR_RESPONSES, HubDep, PrincipalDep, require

router = APIRouter(prefix="/api/profiles", tags=["recommend"], responses=ERROR_RESPONSES)

MAX_LIMIT = 50


class RecommendedItem(BaseModel):
    product_id: str
    sku: str = Field(description="a variant of the product; with a stock filter, one that is in stock")
    score: float = Field(description="the model's score, or the product's share of the best in its list")
    reason: str = Field(
        description="personal (the customer's model), popular_in_store, popular_in_category, "
        "popular_this_season or popular"
    )


class RecommendationsOut(BaseModel):
    profile_id: str = Field(description="the live profile (after merges)")
    personal: bool = Field(description="false: the non-personal fallback was used")
    basis: Literal["model", "little_history", "no_consent", "no_data"] = Field(
        description="model: from the customer's history; little_history: no factors for the customer "
        "yet; no_consent: no personalisation consent, non-personal lists; no_data: no trained model or "
        "one trained on no interactions"
    )
    model_version: int | None
    message: str | None = None
    items: list[RecommendedItem]


@router.get(
    "/{profile_id}/recommendations",
    summary="Products the customer is likely to want, filtered by stock",
    response_model=RecommendationsOut,
)
def recommendations(
    hub: HubDep,
    principal: PrincipalDep,
    profile_id: str,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description=f"1 to {MAX_LIMIT}")] = 10,
    store: Annotated[str | None, Query(max_length=100, description="a store's id")] = None,
    available: Annotated[
        Literal["store", "online", "any"] | None,
        Query(
            description="in stock at the store, online (warehouses) or any; default store if a store is given"
        ),
    ] = None,
) -> RecommendationsOut:
    require(principal, Permission.PROFILES_READ)
    answer = hub.recommend.recommend(profile_id, limit, store, available)
    hub.audit.record(principal.actor, "profile.recommendations", answer.profile_id)
    return RecommendationsOut(
        profile_id=answer.profile_id,
        personal=answer.personal,
        basis=answer.basis,
        model_version=answer.model_version,
        message=answer.message,
        items=[
            RecommendedItem(product_id=i.product_id, sku=i.sku, score=i.score, reason=i.reason)
            for i in answer.items
        ],
    )


class ChannelScoreOut(BaseModel):
    channel: str
    score: float = Field(description="chance the customer acts after a message on the channel (smoothed)")
    messages: int = Field(description="messages the customer got on the channel")
    reactions: int = Field(
        description="of those, acted on (open, click, reply, call, visit or order after it)"
    )
    population_rate: float = Field(description="the channel's rate over all customers (the prior)")
    consent: bool = Field(description="the customer's consent allows marketing on this channel now")
    basis: Literal["customer", "population"] = Field(
        description="customer: the customer's own messages count in; population: none yet, the prior"
    )


class ChannelsOut(BaseModel):
    profile_id: str = Field(description="the live profile (after merges)")
    personal: bool = Field(
        description="the customer has personalisation consent: channel auto ranks by these scores"
    )
    channels: list[ChannelScoreOut]


@router.get(
    "/{profile_id}/channels",
    summary="The customer's next-best-channel scores and what their consent allows",
    response_model=ChannelsOut,
)
def channels(
    hub: HubDep, principal: PrincipalDep, profile_id: Annotated[str, Path(max_length=40)]
) -> ChannelsOut:
    require(principal, Permission.PROFILES_READ)
    live, personal, rows = hub.recommend_channels.channels(profile_id)
    hub.audit.record(principal.actor, "profile.channels", live)
    return ChannelsOut(
        profile_id=live,
        personal=personal,
        channels=[
            ChannelScoreOut(
                channel=r.channel,
                score=round(r.score, 6),
                messages=r.messages,
                reactions=r.reactions,
                population_rate=round(r.population_rate, 6),
                consent=r.allowed,
                basis="customer" if r.reason == "customer" else "population",
            )
            for r in rows
        ],
    )
