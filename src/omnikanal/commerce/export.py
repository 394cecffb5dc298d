"""Export of orders and stock for analytics: streamed in pages, each page its own short read."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

import orjson
from sqlalchemy import Engine

from omnikanal.db.engine import read_tx

from . import orders_store, stock_store
from .orders import order_view
from .stock import Stock, stock_view

PAGE = 1000
STOCK_COLUMNS = (
    "sku",
    "variant_id",
    "location_id",
    "on_hand",
    "reserved",
    "allocated",
    "available",
    "updated_at",
)


def orders_jsonl(engine: Engine, status: str | None = None, store_id: str | None = None) -> Iterator[bytes]:
    """Every order (of one store: started or fulfilled there) as one JSON object per line, in id order."""
    after: str | None = None
    while True:
        with read_tx(engine) as conn:
            rows = orders_store.orders_of(conn, None, status, after, PAGE, store_id)
            lines = orders_store.lines_of(conn, [r.id for r in rows])
        if not rows:
            return
        yield b"".join(orjson.dumps(order_view(r, lines[r.id])) + b"\n" for r in rows)
        after = rows[-1].id


def stock_csv(engine: Engine, location_id: str | None = None) -> Iterator[bytes]:
    """Every stock row as CSV with a header, in (variant, location) order."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=STOCK_COLUMNS)
    writer.writeheader()
    after: tuple[str, str] | None = None
    while True:
        with read_tx(engine) as conn:
            rows = stock_store.rows(conn, None, location_id, after, PAGE)
            names = Stock.skus(conn, [r.variant_id for r in rows])
        for r in rows:
            writer.writerow(stock_view(r, names.get(r.variant_id)))
        yield buffer.getvalue().encode()
        buffer.seek(0)
        buffer.truncate()
        if len(rows) < PAGE:
            return
        after = (rows[-1].variant_id, rows[-1].location_id)
