"""SQL for orders, their lines, history and returns."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, insert, select, update

from omnikanal.commerce.tables import (
    commerce_order_history,
    commerce_order_lines,
    commerce_orders,
    commerce_returns,
)
from omnikanal.db.fast import Raw
from omnikanal.db.rows import VALUES_ROWS, insert_rows, update_rows

o = commerce_orders.c
ol = commerce_order_lines.c


def order(conn: Connection, order_id: str, *, lock: bool = False) -> Row[Any] | None:
    stmt = select(commerce_orders).where(o.id == order_id)
    if lock:
        stmt = stmt.with_for_update()
    return conn.execute(stmt).first()


def lines(conn: Connection, order_id: str) -> list[Row[Any]]:
    return list(
        conn.execute(select(commerce_order_lines).where(ol.order_id == order_id).order_by(ol.line_no))
    )


def history(conn: Connection, order_id: str) -> list[Row[Any]]:
    h = commerce_order_history.c
    return list(conn.execute(select(commerce_order_history).where(h.order_id == order_id).order_by(h.id)))


def returns(conn: Connection, order_id: str) -> list[Row[Any]]:
    rt = commerce_returns.c
    return list(conn.execute(select(commerce_returns).where(rt.order_id == order_id).order_by(rt.created_at)))


def insert_order(conn: Connection, values: dict[str, Any], line_rows: list[dict[str, Any]]) -> None:
    conn.execute(insert(commerce_orders).values(**values))
    if line_rows:
        conn.execute(insert(commerce_order_lines), line_rows)


def orders_by_id(conn: Connection, order_ids: Sequence[str], *, lock: bool = False) -> list[Row[Any]]:
    """The orders of these ids that exist, their rows taken for update when ``lock``."""
    found: list[Row[Any]] = []
    for start in range(0, len(order_ids), VALUES_ROWS):
        stmt = select(commerce_orders).where(o.id.in_(order_ids[start : start + VALUES_ROWS]))
        found += conn.execute(stmt.with_for_update() if lock else stmt)
    return found


# The batch writes of the order processor go to the driver (db/rows.py): Core's per-row parameter
# processing cost more than the inserts, inside the write lock that ingest needs.
def insert_orders(conn: Connection, orders: list[dict[str, Any]], line_rows: list[dict[str, Any]]) -> None:
    raw = Raw(conn)
    if orders:
        insert_rows(raw, commerce_orders, list(orders[0]), orders)
    if line_rows:
        insert_rows(raw, commerce_order_lines, list(line_rows[0]), line_rows)


def set_statuses(conn: Connection, statuses: dict[str, str], now: datetime) -> None:
    """Each order of ``statuses`` (id -> status) set to its status."""
    rows = [{"id": oid, "status": status, "updated_at": now} for oid, status in statuses.items()]
    update_rows(Raw(conn), commerce_orders, ("status", "updated_at"), "id", rows)


def add_history_rows(conn: Connection, rows: list[dict[str, Any]]) -> None:
    if rows:
        insert_rows(Raw(conn), commerce_order_history, list(rows[0]), rows)


def set_status(conn: Connection, order_id: str, status: str, now: datetime) -> None:
    conn.execute(update(commerce_orders).where(o.id == order_id).values(status=status, updated_at=now))


def add_history(
    conn: Connection,
    *,
    order_id: str,
    profile_id: str | None,
    from_status: str | None,
    to_status: str,
    channel: str | None,
    location_id: str | None,
    actor: str | None,
    at: datetime,
) -> None:
    conn.execute(
        insert(commerce_order_history).values(
            order_id=order_id,
            profile_id=profile_id,
            from_status=from_status,
            to_status=to_status,
            channel=channel,
            location_id=location_id,
            actor=actor,
            at=at,
        )
    )


def set_line(conn: Connection, order_id: str, line_no: int, values: dict[str, Any]) -> None:
    conn.execute(
        update(commerce_order_lines).where(ol.order_id == order_id, ol.line_no == line_no).values(**values)
    )


def insert_return(conn: Connection, values: dict[str, Any]) -> None:
    conn.execute(insert(commerce_returns).values(**values))


def orders_of(
    conn: Connection,
    profile_ids: Sequence[str] | None,
    status: str | None,
    after: str | None,
    limit: int,
    store_id: str | None = None,
) -> list[Row[Any]]:
    stmt = select(commerce_orders)
    if store_id is not None:
        stmt = stmt.where((o.origin_location_id == store_id) | (o.fulfilment_location_id == store_id))
    if profile_ids is not None:
        stmt = stmt.where(o.profile_id.in_(list(profile_ids)))
    if status is not None:
        stmt = stmt.where(o.status == status)
    if after is not None:
        stmt = stmt.where(o.id > after)
    return list(conn.execute(stmt.order_by(o.id).limit(limit)))


def lines_of(conn: Connection, order_ids: Sequence[str]) -> dict[str, list[Row[Any]]]:
    found: dict[str, list[Row[Any]]] = {i: [] for i in order_ids}
    if order_ids:
        for row in conn.execute(
            select(commerce_order_lines)
            .where(ol.order_id.in_(list(order_ids)))
            .order_by(ol.order_id, ol.line_no)
        ):
            found[row.order_id].append(row)
    return found
