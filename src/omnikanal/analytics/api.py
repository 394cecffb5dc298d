"""HTTP API of analytics: attribution, returns on cost, customers, paths, costs, refresh."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from omnikanal.auth.model import Permission
from omnikanal.errors import InvalidInput, PayloadTooLarge
from omnikanal.web import ERROR_RESPONSES, HubDep, PrincipalDep, require

router = APIRouter(prefix="/api/analytics", tags=["analytics"], responses=ERROR_RESPONSES)

Model = Annotated[
    str,
    Query(
        max_length=20,
        description="all (every model side by side), first_touch, last_touch, last_non_direct, linear, "
        "time_decay, position_based, markov or shapley",
    ),
]
DimensionQ = Annotated[
    Literal["channel", "source", "medium", "campaign"],
    Query(description="credit business channels, or marketing sources, media or campaigns"),
]
Conversion = Annotated[
    str | None, Query(max_length=200, description="the conversion event (default: the configured one)")
]
Since = Annotated[
    str | None, Query(max_length=40, description="ISO 8601 date or time; default until - 30 days")
]
Until = Annotated[
    str | None, Query(max_length=40, description="ISO 8601 date or time (exclusive); default now")
]
Lookback = Annotated[
    str | None,
    Query(max_length=40, description="ISO 8601 duration, e.g. P30D; at most the configured maximum"),
]
Order = Annotated[int, Query(ge=1, le=3, description="order of the Markov chain, 1 to 3")]
HalfLife = Annotated[str | None, Query(max_length=40, description="time-decay half-life, ISO 8601 duration")]
Engine = Annotated[
    Literal["duckdb", "database"] | None,
    Query(description="duckdb (the columnar copy) or database; default: the configured engine"),
]


def _question(hub: Any, **params: Any) -> Any:
    return hub.analytics.ask(**{k: v for k, v in params.items() if v is not None})


@router.get("/attribution", summary="Conversions and their value credited to keys by one model or all")
def attribution(
    hub: HubDep,
    principal: PrincipalDep,
    model: Model = "all",
    dimension: DimensionQ = "channel",
    conversion: Conversion = None,
    since: Since = None,
    until: Until = None,
    lookback: Lookback = None,
    order: Order = 1,
    half_life: HalfLife = None,
    engine: Engine = None,
) -> dict[str, Any]:
    require(principal, Permission.ANALYTICS_READ)
    q = _question(
        hub,
        model=model,
        dimension=dimension,
        conversion=conversion,
        since=since,
        until=until,
        lookback=lookback,
        order=order,
        half_life=half_life,
    )
    return hub.analytics.attribution(q, engine)


@router.get("/returns", summary="Attributed revenue net of returns, cost, ROAS, ROI, cost per conversion")
def returns(
    hub: HubDep,
    principal: PrincipalDep,
    model: Model = "all",
    dimension: DimensionQ = "channel",
    conversion: Conversion = None,
    since: Since = None,
    until: Until = None,
    lookback: Lookback = None,
    order: Order = 1,
    half_life: HalfLife = None,
    engine: Engine = None,
) -> dict[str, Any]:
    require(principal, Permission.ANALYTICS_READ)
    q = _question(
        hub,
        model=model,
        dimension=dimension,
        conversion=conversion,
        since=since,
        until=until,
        lookback=lookback,
        order=order,
        half_life=half_life,
    )
    return hub.analytics.returns(q, engine)


@router.get("/customers", summary="Multichannel against single-channel customers of the period")
def customers(
    hub: HubDep,
    principal: PrincipalDep,
    conversion: Conversion = None,
    since: Since = None,
    until: Until = None,
    lookback: Lookback = None,
    engine: Engine = None,
) -> dict[str, Any]:
    require(principal, Permission.ANALYTICS_READ)
    q = _question(hub, conversion=conversion, since=since, until=until, lookback=lookback)
    return hub.analytics.customers(q, engine)


@router.get("/paths", summary="The most common converting paths")
def paths(
    hub: HubDep,
    principal: PrincipalDep,
    dimension: DimensionQ = "channel",
    conversion: Conversion = None,
    since: Since = None,
    until: Until = None,
    lookback: Lookback = None,
    limit: Annotated[int, Query(ge=1, le=100, description="how many paths, at most 100")] = 20,
    engine: Engine = None,
) -> dict[str, Any]:
    require(principal, Permission.ANALYTICS_READ)
    q = _question(
        hub, dimension=dimension, conversion=conversion, since=since, until=until, lookback=lookback
    )
    return hub.analytics.top_paths(q, limit, engine)


@router.post(
    "/costs",
    summary="Import media spend as CSV; valid rows are kept, each bad row named by line and field",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"text/csv": {"schema": {"type": "string"}}},
            "description": "columns: date, cost, and channel or source/medium/campaign; optional currency, "
            "clicks, impressions. A newer figure for the same day and key replaces the older one. At most "
            "the API's body limit per request; the CLI (omnikanal analytics import-costs) has none.",
        }
    },
)
async def import_costs(
    hub: HubDep,
    principal: PrincipalDep,
    request: Request,
    name: Annotated[
        str, Query(max_length=200, description="the file's name, recorded as the costs' origin")
    ] = "api",
) -> dict[str, Any]:
    from starlette.concurrency import run_in_threadpool

    require(principal, Permission.ANALYTICS_WRITE)
    limit = hub.settings.api_max_body_bytes
    data = bytearray()
    async for part in request.stream():
        data.extend(part)
        if len(data) > limit:
            raise PayloadTooLarge(
                "file_too_large", f"file: at most {limit} bytes per request; use the CLI", "file"
            )
    try:
        text = bytes(data).decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidInput("invalid_encoding", "file: not UTF-8 text", "file") from None
    return await run_in_threadpool(hub.analytics.import_costs, text, f"import:{name}")


@router.get("/costs", summary="The stored media spend of a period, with where each figure came from")
def list_costs(
    hub: HubDep,
    principal: PrincipalDep,
    since: Since = None,
    until: Until = None,
    limit: Annotated[int, Query(ge=1, le=10_000, description="rows, at most 10,000")] = 1000,
) -> dict[str, Any]:
    require(principal, Permission.ANALYTICS_READ)
    q = _question(hub, since=since, until=until)
    return hub.analytics.list_costs(q.window.since, q.window.until, limit)


@router.post("/refresh", summary="Bring the columnar copy up to date now (the worker does it periodically)")
def refresh(hub: HubDep, principal: PrincipalDep) -> dict[str, Any]:
    require(principal, Permission.ANALYTICS_WRITE)
    return hub.analytics.refresh()


class OwnCostLine(BaseModel):
    channel: str = Field(description="the business channel the cost belongs to")
    item: str = Field(
        description="sms_segments, whatsapp_conversations, emails, push, staff_minutes or fixed"
    )
    queue: str | None = Field(description="the staff queue of staff minutes")
    campaign: str | None = Field(
        None, description="the campaign the messages were sent for (their journey's name), if any"
    )
    quantity: float
    unit_price: float | None = Field(description="price of one unit; none for fixed costs")
    cost: float
    from_: str = Field(alias="from", description="where the figure came from")


class OwnCosts(BaseModel):
    since: str
    until: str
    currency: str
    cost: float
    lines: list[OwnCostLine]


@router.get(
    "/own-costs",
    summary="The hub's own costs of a period: messages, staff time, fixed monthly costs",
    response_model=OwnCosts,
    response_model_by_alias=True,
)
def own_costs(hub: HubDep, principal: PrincipalDep, since: Since = None, until: Until = None) -> Any:
    require(principal, Permission.ANALYTICS_READ)
    q = _question(hub, since=since, until=until)
    return hub.analytics.own_costs(q.window.since, q.window.until)


@router.get(
    "/lifetime-value",
    summary="Expected customer value over a horizon by acquisition key (BG/NBD with Gamma-Gamma)",
)
def lifetime_value(
    hub: HubDep,
    principal: PrincipalDep,
    dimension: DimensionQ = "channel",
    conversion: Conversion = None,
    until: Until = None,
    horizon: Annotated[int, Query(ge=1, le=3650, description="days ahead, 1 to 3,650")] = 365,
    engine: Engine = None,
    discount_rate: Annotated[
        float | None,
        Query(ge=0, le=1, description="annual discount rate of `value`, 0 to 1 (default the setting, 0.10)"),
    ] = None,
    margin: Annotated[
        float | None,
        Query(gt=0, le=1, description="gross margin of `value`, above 0 up to 1 (default the setting, 0.35)"),
    ] = None,
) -> dict[str, Any]:
    require(principal, Permission.ANALYTICS_READ)
    q = _question(hub, dimension=dimension, conversion=conversion, until=until)
    return hub.analytics.lifetime_value(q, horizon, engine, discount_rate, margin)


@router.get(
    "/omnichannel",
    summary="Research online, purchase offline, and channel preference per product category",
)
def omnichannel(
    hub: HubDep,
    principal: PrincipalDep,
    since: Since = None,
    until: Until = None,
    days: Annotated[
        int, Query(ge=1, le=90, description="days a web or app view may lie before the store purchase")
    ] = 14,
    segment: Annotated[
        str | None,
        Query(
            max_length=200, description="a segment's id: the figures of its current members (404 if unknown)"
        ),
    ] = None,
) -> dict[str, Any]:
    require(principal, Permission.ANALYTICS_READ)
    q = _question(hub, since=since, until=until)
    return hub.analytics.omnichannel(q, days, segment)


MAX_STEPS = 10


@router.get("/funnel", summary="People who took each step in order, and who dropped out after each")
def funnel(
    hub: HubDep,
    principal: PrincipalDep,
    steps: Annotated[
        str,
        Query(
            max_length=2000,
            description=f"event names in order, comma-separated, 2 to {MAX_STEPS}",
        ),
    ] = "Product Viewed,Product Added,Order Completed",
    since: Since = None,
    until: Until = None,
    engine: Engine = None,
) -> dict[str, Any]:
    require(principal, Permission.ANALYTICS_READ)
    names = [s.strip() for s in steps.split(",")]
    if not 2 <= len(names) <= MAX_STEPS or any(not n or len(n) > 200 for n in names):
        raise InvalidInput(
            "invalid_steps",
            f"steps: 2 to {MAX_STEPS} event names of 1 to 200 characters, comma-separated",
            "steps",
        )
    q = _question(hub, since=since, until=until)
    return hub.analytics.funnel(q, names, engine)
