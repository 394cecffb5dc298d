"""HTTP API of commerce: catalogue, locations, stock, reservations, orders, returns, carts, scan,
notifications and exports. Handlers parse, check the permission, call one use case."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import StreamingResponse

from omnikanal.auth.model import Permission, Principal
from omnikanal.db.engine import read_tx
from omnikanal.errors import Forbidden, InvalidInput, PayloadTooLarge
from omnikanal.web import ERROR_RESPONSES, HubDep, PrincipalDep, require

from . import export
from .importer import CSV_COLUMNS, text_lines
from .model import (
    LOCATION_KINDS,
    ORDER_STATUSES,
    RESERVATION_STATUSES,
    CartItemIn,
    CategoryIn,
    LocationIn,
    OrderIn,
    ProductIn,
    ReservationIn,
    ReturnIn,
    StatusChange,
    StockMovementIn,
)
from .touchpoints import branch, list_notifications, live_profile

RESPONSES: dict[int | str, dict[str, Any]] = {
    **ERROR_RESPONSES,
    409: {"description": "Conflicts with the current state: not enough stock, an illegal transition, ..."},
}
router = APIRouter(prefix="/api/commerce", tags=["commerce"], responses=RESPONSES)
scan_router = APIRouter(prefix="/api", tags=["commerce"], responses=RESPONSES)

Limit = Annotated[int, Query(ge=1, le=500, description="page length, at most 500")]


def _own_store(principal: Principal, *location_ids: str | None) -> None:
    """A store-bound principal (a store user, a till's token) acts only for its own store."""
    if principal.store_id is not None and not any(principal.may_see_store(x) for x in location_ids if x):
        raise Forbidden("other_store", f"this belongs to another store than {principal.store_id!r}")


def _order_stores(order: dict[str, Any]) -> tuple[str | None, str | None]:
    return order["origin_location_id"], order["fulfilment_location_id"]


# -- catalogue -------------------------------------------------------------------------------------


@router.put("/categories/{category_id}", summary="Create or change a category of the tree")
def put_category(hub: HubDep, principal: PrincipalDep, category_id: str, body: CategoryIn) -> dict[str, Any]:
    require(principal, Permission.CATALOGUE_WRITE)
    _same_id(category_id, body.id)
    return hub.commerce.catalogue.save_category(body)


@router.get("/categories", summary="The category tree")
def get_categories(hub: HubDep, principal: PrincipalDep) -> dict[str, Any]:
    require(principal, Permission.CATALOGUE_READ)
    return {"categories": hub.commerce.catalogue.category_tree()}


@router.put(
    "/products/{product_id}",
    summary="Create or replace a product with its variants (201 when new); missing variants are retired",
    responses={201: {"description": "A new product"}},
)
def put_product(
    hub: HubDep, principal: PrincipalDep, product_id: str, body: ProductIn, response: Response
) -> dict[str, Any]:
    require(principal, Permission.CATALOGUE_WRITE)
    _same_id(product_id, body.id)
    product, created = hub.commerce.catalogue.save_product(body)
    response.status_code = 201 if created else 200
    return product


@router.get("/products", summary="Active products, by id, optionally within a category and its subtree")
def list_products(
    hub: HubDep,
    principal: PrincipalDep,
    category: Annotated[str | None, Query(max_length=100)] = None,
    after: Annotated[str | None, Query(max_length=100, description="next_after of the previous page")] = None,
    limit: Limit = 50,
) -> dict[str, Any]:
    require(principal, Permission.CATALOGUE_READ)
    return hub.commerce.catalogue.products(category, after, limit)


@router.get("/products/{product_id}", summary="A product with its variants and prices")
def get_product(hub: HubDep, principal: PrincipalDep, product_id: str) -> dict[str, Any]:
    require(principal, Permission.CATALOGUE_READ)
    return hub.commerce.catalogue.product(product_id)


@router.delete("/products/{product_id}", summary="Retire a product (kept for the orders that name it)")
def delete_product(hub: HubDep, principal: PrincipalDep, product_id: str) -> dict[str, Any]:
    require(principal, Permission.CATALOGUE_WRITE)
    return hub.commerce.catalogue.deactivate(product_id)


@router.get("/gtin/{gtin}", summary="The product of a GTIN (with or without leading zeros)")
def by_gtin(hub: HubDep, principal: PrincipalDep, gtin: str) -> dict[str, Any]:
    require(principal, Permission.CATALOGUE_READ)
    with read_tx(hub.engine) as conn:
        variant = hub.commerce.catalogue.variant_for_gtin(conn, gtin)
    product = hub.commerce.catalogue.product(variant.product_id)
    return {"sku": variant.sku, "gtin": variant.gtin, "product": product}


@router.post(
    "/catalogue/import",
    summary="Import products from CSV or JSON Lines; valid rows are imported, the others reported",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "text/csv": {"schema": {"type": "string"}},
                "application/x-ndjson": {"schema": {"type": "string"}},
            },
            "description": f"CSV columns: {', '.join(CSV_COLUMNS)} (prices in cents). JSON Lines: one "
            "such flat row, or one whole product as PUT /products takes it, per line.",
        }
    },
)
async def import_catalogue(
    hub: HubDep,
    principal: PrincipalDep,
    request: Request,
    format: Annotated[Literal["csv", "jsonl"], Query(description="csv or jsonl")],
) -> dict[str, Any]:
    from starlette.concurrency import run_in_threadpool

    require(principal, Permission.CATALOGUE_WRITE)
    limit = hub.settings.catalogue_import_max_bytes
    data = bytearray()
    async for part in request.stream():
        data.extend(part)
        if len(data) > limit:
            raise PayloadTooLarge(
                "file_too_large", f"file: at most {limit} bytes per request; use the CLI for more", "file"
            )
    lines = text_lines(bytes(data))
    report = await run_in_threadpool(hub.commerce.importer.run, lines, format)
    return report.as_dict()


# -- locations -----------------------------------------------------------------------------------


@router.put(
    "/locations/{location_id}",
    summary="Create or change a store or warehouse (201 when new)",
    responses={201: {"description": "A new location"}},
)
def put_location(
    hub: HubDep, principal: PrincipalDep, location_id: str, body: LocationIn, response: Response
) -> dict[str, Any]:
    require(principal, Permission.CATALOGUE_WRITE)
    _same_id(location_id, body.id)
    location, created = hub.commerce.catalogue.save_location(body)
    response.status_code = 201 if created else 200
    return location


@router.get("/locations", summary="Stores and warehouses")
def list_locations(
    hub: HubDep,
    principal: PrincipalDep,
    kind: Annotated[str | None, Query(description=f"one of: {', '.join(LOCATION_KINDS)}")] = None,
) -> dict[str, Any]:
    require(principal, Permission.CATALOGUE_READ)
    if kind is not None and kind not in LOCATION_KINDS:
        raise InvalidInput("invalid_kind", f"kind must be one of: {', '.join(LOCATION_KINDS)}", "kind")
    return {"locations": hub.commerce.catalogue.locations(kind)}


@router.get("/locations/{location_id}", summary="A store or warehouse")
def get_location(hub: HubDep, principal: PrincipalDep, location_id: str) -> dict[str, Any]:
    require(principal, Permission.CATALOGUE_READ)
    return hub.commerce.catalogue.location(location_id)


# -- stock ---------------------------------------------------------------------------------------


@router.get("/stock", summary="Stock levels: on hand, reserved, allocated, available")
def get_stock(
    hub: HubDep,
    principal: PrincipalDep,
    sku: Annotated[str | None, Query(max_length=100)] = None,
    location_id: Annotated[str | None, Query(max_length=100)] = None,
    limit: Limit = 500,
) -> dict[str, Any]:
    require(principal, Permission.STOCK_READ)
    return {"stock": hub.commerce.stock.levels(sku, location_id, limit)}


@router.post(
    "/stock/movements",
    status_code=201,
    summary="Book a receipt, a sale at the till, a transfer or an adjustment; answers the new levels",
)
def post_movement(hub: HubDep, principal: PrincipalDep, body: StockMovementIn) -> dict[str, Any]:
    require(principal, Permission.STOCK_WRITE)
    # A movement changes the stock at its location_id (a transfer takes it from there): a store
    # books its own stock only; a transfer out of it may go to any location.
    _own_store(principal, body.location_id)
    return {"stock": hub.commerce.stock.post(body, principal.actor)}


@router.get("/stock/movements", summary="The stock ledger, newest first")
def get_movements(
    hub: HubDep,
    principal: PrincipalDep,
    sku: Annotated[str | None, Query(max_length=100)] = None,
    location_id: Annotated[str | None, Query(max_length=100)] = None,
    before: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,
    limit: Limit = 100,
) -> dict[str, Any]:
    require(principal, Permission.STOCK_READ)
    return hub.commerce.stock.ledger(sku, location_id, before, limit)


# -- reservations --------------------------------------------------------------------------------


@router.post(
    "/reservations", status_code=201, summary="Hold an item in a store for the customer for a set time"
)
def create_reservation(hub: HubDep, principal: PrincipalDep, body: ReservationIn) -> dict[str, Any]:
    require(principal, Permission.COMMERCE_WRITE)
    _own_store(principal, body.location_id)
    return hub.commerce.reservations.create(body, principal.actor)


@router.get("/reservations", summary="Reservations of a store or a customer, soonest end first")
def list_reservations(
    hub: HubDep,
    principal: PrincipalDep,
    location_id: Annotated[str | None, Query(max_length=100)] = None,
    profile_id: Annotated[str | None, Query(max_length=40)] = None,
    status: Annotated[str | None, Query(description=f"one of: {', '.join(RESERVATION_STATUSES)}")] = None,
    limit: Limit = 100,
) -> dict[str, Any]:
    require(principal, Permission.COMMERCE_READ)
    if status is not None and status not in RESERVATION_STATUSES:
        raise InvalidInput(
            "invalid_status", f"status must be one of: {', '.join(RESERVATION_STATUSES)}", "status"
        )
    if principal.store_id is not None:
        # A store sees only its own reservations, whatever it asks for.
        _own_store(principal, location_id or principal.store_id)
        location_id = principal.store_id
    found = hub.commerce.reservations.find(location_id, profile_id, status, limit)
    hub.audit.record(principal.actor, "commerce.reservations.read", profile_id)
    return {"reservations": found}


@router.get("/reservations/{reservation_id}", summary="A reservation")
def get_reservation(hub: HubDep, principal: PrincipalDep, reservation_id: str) -> dict[str, Any]:
    require(principal, Permission.COMMERCE_READ)
    found = hub.commerce.reservations.get(reservation_id)
    _own_store(principal, found["location_id"])
    hub.audit.record(principal.actor, "commerce.reservation.read", found["profile_id"])
    return found


@router.post("/reservations/{reservation_id}/cancel", summary="Cancel a reservation; its stock is free again")
def cancel_reservation(hub: HubDep, principal: PrincipalDep, reservation_id: str) -> dict[str, Any]:
    require(principal, Permission.COMMERCE_WRITE)
    if principal.store_id is not None:
        _own_store(principal, hub.commerce.reservations.get(reservation_id)["location_id"])
    return hub.commerce.reservations.cancel(reservation_id, principal.actor)


# -- orders --------------------------------------------------------------------------------------


@router.post(
    "/orders",
    status_code=201,
    summary="Record an order from any channel (201); a repeated id answers the existing order (200)",
    responses={200: {"description": "The order recorded before under this id"}},
)
def create_order(hub: HubDep, principal: PrincipalDep, body: OrderIn, response: Response) -> dict[str, Any]:
    require(principal, Permission.COMMERCE_WRITE)
    if principal.store_id is not None:
        _own_store(principal, body.origin_location_id or principal.store_id)
        if body.fulfilment == "buy_in_store":
            # A sale at the till takes the goods off this store's shelf, never another's.
            _own_store(principal, body.fulfilment_location_id or principal.store_id)
    order, created = hub.commerce.orders.place(body, principal.actor)
    response.status_code = 201 if created else 200
    return order


@router.get("/orders", summary="Orders, by id; of one customer (all their merged profiles) if asked")
def list_orders(
    hub: HubDep,
    principal: PrincipalDep,
    profile_id: Annotated[str | None, Query(max_length=40)] = None,
    status: Annotated[str | None, Query(description=f"one of: {', '.join(ORDER_STATUSES)}")] = None,
    after: Annotated[str | None, Query(max_length=100)] = None,
    limit: Limit = 50,
) -> dict[str, Any]:
    require(principal, Permission.COMMERCE_READ)
    if status is not None and status not in ORDER_STATUSES:
        raise InvalidInput("invalid_status", f"status must be one of: {', '.join(ORDER_STATUSES)}", "status")
    page = hub.commerce.orders.find(profile_id, status, after, limit)
    if principal.store_id is not None:
        # Orders bought or picked up in the store only (a page may then hold fewer than limit).
        page["orders"] = [
            o
            for o in page["orders"]
            if principal.may_see_store(o["fulfilment_location_id"])
            or principal.may_see_store(o["origin_location_id"])
        ]
    if profile_id:
        hub.audit.record(principal.actor, "commerce.orders.read", profile_id)
    return page


@router.get("/orders/{order_id}", summary="An order with its lines, history and returns")
def get_order(hub: HubDep, principal: PrincipalDep, order_id: str) -> dict[str, Any]:
    require(principal, Permission.COMMERCE_READ)
    order = hub.commerce.orders.get(order_id)
    _own_store(principal, *_order_stores(order))
    hub.audit.record(principal.actor, "commerce.order.read", order["profile_id"])
    return order


@router.post(
    "/orders/{order_id}/status",
    summary="Move an order on to confirmed, ready_for_pickup, picked_up, shipped, delivered or "
    "cancelled (409 if illegal)",
)
def change_status(hub: HubDep, principal: PrincipalDep, order_id: str, body: StatusChange) -> dict[str, Any]:
    require(principal, Permission.COMMERCE_WRITE)
    if principal.store_id is not None:
        _own_store(principal, *_order_stores(hub.commerce.orders.get(order_id)))
    return hub.commerce.orders.change_status(order_id, body, principal.actor)


@router.post(
    "/orders/{order_id}/returns",
    status_code=201,
    summary="Goods of an order come back, on any channel; resellable goods are restocked",
)
def create_return(hub: HubDep, principal: PrincipalDep, order_id: str, body: ReturnIn) -> dict[str, Any]:
    require(principal, Permission.COMMERCE_WRITE)
    if principal.store_id is not None and body.location_id != principal.store_id:
        # Goods may come back in any store, but a store books (and restocks) returns at itself only.
        raise Forbidden(
            "other_store",
            f"location_id: a store takes returns at its own store {principal.store_id!r} only",
            "location_id",
        )
    return hub.commerce.orders.return_goods(order_id, body, principal.actor)


# -- carts ---------------------------------------------------------------------------------------


@router.get("/carts/{profile_id}", summary="The customer's cart, across devices and merged profiles")
def get_cart(hub: HubDep, principal: PrincipalDep, profile_id: str) -> dict[str, Any]:
    require(principal, Permission.COMMERCE_READ)
    cart = hub.commerce.carts.get(profile_id)
    hub.audit.record(principal.actor, "commerce.cart.read", cart["profile_id"])
    return cart


@router.put("/carts/{profile_id}/items", summary="Set the quantity of an item in the cart (0 removes it)")
def put_cart_item(hub: HubDep, principal: PrincipalDep, profile_id: str, body: CartItemIn) -> dict[str, Any]:
    require(principal, Permission.COMMERCE_WRITE)
    return hub.commerce.carts.set_item(profile_id, body)


# -- notifications (outbox for messaging) ---------------------------------------------------------


@router.get(
    "/notifications",
    summary="Transactional notifications waiting for messaging (ready for pick-up, reservation expiring)",
)
def get_notifications(
    hub: HubDep,
    principal: PrincipalDep,
    status: Annotated[str | None, Query(max_length=20, description="e.g. pending")] = None,
    profile_id: Annotated[str | None, Query(max_length=40)] = None,
    limit: Limit = 100,
) -> dict[str, Any]:
    require(principal, Permission.COMMERCE_READ)
    with read_tx(hub.engine) as conn:
        ids = branch(conn, live_profile(conn, profile_id)) if profile_id else None
        found = list_notifications(conn, status, ids, limit, principal.store_id)
    hub.audit.record(principal.actor, "commerce.notifications.read", profile_id)
    return {"notifications": found}


# -- exports -------------------------------------------------------------------------------------


@router.get(
    "/export/orders.jsonl",
    summary="Every order as JSON Lines (a store's token: the orders started or fulfilled in the store)",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/x-ndjson": {}}}},
)
def export_orders(
    hub: HubDep,
    principal: PrincipalDep,
    status: Annotated[str | None, Query(description=f"one of: {', '.join(ORDER_STATUSES)}")] = None,
) -> StreamingResponse:
    require(principal, Permission.COMMERCE_READ)
    hub.audit.record(principal.actor, "commerce.orders.export", None)
    # A store-bound principal exports the orders started or fulfilled in its store only.
    lines = export.orders_jsonl(hub.engine, status, principal.store_id)
    return StreamingResponse(lines, media_type="application/x-ndjson")


@router.get(
    "/export/stock.csv",
    summary="Every stock level as CSV",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}}}},
)
def export_stock(
    hub: HubDep,
    principal: PrincipalDep,
    location_id: Annotated[str | None, Query(max_length=100)] = None,
) -> StreamingResponse:
    require(principal, Permission.STOCK_READ)
    return StreamingResponse(export.stock_csv(hub.engine, location_id), media_type="text/csv")


# -- scan in store -------------------------------------------------------------------------------


@scan_router.get(
    "/scan",
    tags=["commerce"],
    summary="Scan in store: product, price, stock here, nearby and online, suggestions; "
    "records the touchpoint",
)
def scan(
    hub: HubDep,
    principal: PrincipalDep,
    gtin: Annotated[str, Query(min_length=1, max_length=40, description="the scanned GTIN/EAN")],
    store: Annotated[str, Query(min_length=1, max_length=100, description="the store scanned in")],
    profile: Annotated[str | None, Query(max_length=40, description="the customer, if known")] = None,
) -> dict[str, Any]:
    require(principal, Permission.COMMERCE_SCAN)
    _own_store(principal, store)
    answer = hub.commerce.scan.scan(gtin, store, profile)
    if answer["profile_id"] is not None:
        hub.audit.record(principal.actor, "commerce.scan", answer["profile_id"])
    return answer


def _same_id(path_id: str, body_id: str) -> None:
    if path_id != body_id:
        raise InvalidInput(
            "id_mismatch", f"id {body_id!r} in the body differs from {path_id!r} in the path", "id"
        )
