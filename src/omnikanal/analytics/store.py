"""SQL on the analytics capability's own tables."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, delete, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from omnikanal.analytics.paths import RETURN_EVENT, Window
from omnikanal.analytics.tables import (
    analytics_costs,
    analytics_merged,
    analytics_products,
    analytics_touchpoints,
    analytics_usage,
)
from omnikanal.db.engine import insert_ignoring_duplicates
from omnikanal.db.fast import Raw
from omnikanal.db.rows import insert_ignoring

tp = analytics_touchpoints
# The columns paths are built from, in the order both engines select them.
PATH_COLUMNS = (
    "profile_id",
    "at",
    "seq",
    "event",
    "channel",
    "source",
    "medium",
    "campaign",
    "order_id",
    "value_cents",
)
COPY_COLUMNS = tuple(c.name for c in tp.columns)
COST_KEY = ("day", "channel", "source", "medium", "campaign")


def add_touchpoints(conn: Connection, rows: list[dict[str, Any]]) -> None:
    # an event handed out twice (a replay after reset) is copied once; through the driver, as Core's
    # per-row parameter handling took longer than the insert, inside the write lock ingest needs
    if rows:
        insert_ignoring(Raw(conn), tp, list(rows[0]), rows)


def add_usage(conn: Connection, rows: list[dict[str, Any]]) -> None:
    if rows:
        insert_ignoring(Raw(conn), analytics_usage, list(rows[0]), rows)


def usage(conn: Connection, since: datetime, until: datetime) -> list[Any]:
    """The hub's own usage rows in [since, until), by profile and time (WhatsApp conversations are
    counted per person)."""
    u = analytics_usage.c
    stmt = (
        select(u.profile_id, u.at, u.kind, u.channel, u.queue, u.quantity, u.campaign)
        .where(u.at >= since, u.at < until)
        .order_by(u.profile_id, u.at, u.seq)
    )
    return list(conn.execute(stmt))


def add_products(conn: Connection, rows: list[dict[str, Any]]) -> None:
    if rows:
        insert_ignoring(Raw(conn), analytics_products, list(rows[0]), rows)


def product_rows(conn: Connection, since: datetime, until: datetime) -> list[Any]:
    """Products viewed and bought in [since, until), by profile and time."""
    p = analytics_products.c
    stmt = (
        select(p.profile_id, p.at, p.kind, p.channel, p.sku, p.category, p.value_cents)
        .where(p.at >= since, p.at < until)
        .order_by(p.profile_id, p.at, p.seq, p.line)
    )
    return list(conn.execute(stmt))


def mark_merged(conn: Connection, profile_ids: Sequence[str], now: datetime) -> None:
    insert_ignoring_duplicates(
        conn, analytics_merged, [{"profile_id": p, "at": now} for p in sorted(set(profile_ids))]
    )


def merged(conn: Connection, limit: int) -> list[str]:
    stmt = select(analytics_merged.c.profile_id).order_by(analytics_merged.c.at).limit(limit)
    return list(conn.execute(stmt).scalars())


def rekey(conn: Connection, old: str, new: str) -> int:
    """The touchpoints of a merged-away profile belong to the surviving one."""
    count = 0
    if old != new:
        count = conn.execute(update(tp).where(tp.c.profile_id == old).values(profile_id=new)).rowcount
        for table in (analytics_usage, analytics_products):
            conn.execute(update(table).where(table.c.profile_id == old).values(profile_id=new))
    conn.execute(delete(analytics_merged).where(analytics_merged.c.profile_id == old))
    return int(count or 0)


def path_rows(conn: Connection, window: Window) -> Iterator[Any]:
    """Touchpoints that can be on a path of a conversion in the window, in path order, streamed."""
    stmt = (
        select(*(tp.c[name] for name in PATH_COLUMNS))
        .where(tp.c.at >= window.read_from, tp.c.at < window.until)
        .order_by(tp.c.profile_id, tp.c.at, tp.c.seq)
    )
    yield from conn.execution_options(yield_per=5000).execute(stmt)


def refunds(conn: Connection, window: Window) -> dict[str, int]:
    """Returned cents per order, for the orders converted in the window (returns of any time)."""
    converted = select(tp.c.order_id).where(
        tp.c.event == window.conversion,
        tp.c.at >= window.since,
        tp.c.at < window.until,
        tp.c.order_id.is_not(None),
    )
    stmt = (
        select(tp.c.order_id, func.sum(tp.c.value_cents))
        .where(tp.c.event == RETURN_EVENT, tp.c.order_id.in_(converted))
        .group_by(tp.c.order_id)
    )
    return {order: int(total or 0) for order, total in conn.execute(stmt)}


def converted_before(conn: Connection, window: Window) -> set[str]:
    """People with a conversion before the period."""
    stmt = select(tp.c.profile_id).where(tp.c.event == window.conversion, tp.c.at < window.since).distinct()
    return set(conn.execute(stmt).scalars())


def conversion_exists(conn: Connection, name: str) -> bool:
    return conn.execute(select(tp.c.seq).where(tp.c.event == name).limit(1)).first() is not None


def copy_after(conn: Connection, seq: int, limit: int) -> list[Any]:
    """Touchpoints past ``seq`` for the columnar copy, in seq order."""
    stmt = select(*(tp.c[n] for n in COPY_COLUMNS)).where(tp.c.seq > seq).order_by(tp.c.seq).limit(limit)
    return list(conn.execute(stmt))


def count_after(conn: Connection, seq: int) -> int:
    return int(conn.execute(select(func.count()).select_from(tp).where(tp.c.seq > seq)).scalar_one())


def upsert_costs(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """A newer figure for the same day and key replaces the older one."""
    if not rows:
        return
    insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    stmt = insert(analytics_costs)
    changed = {
        c: stmt.excluded[c]
        for c in ("cost_cents", "currency", "clicks", "impressions", "origin", "imported_at")
    }
    conn.execute(stmt.on_conflict_do_update(index_elements=list(COST_KEY), set_=changed), rows)


def costs(conn: Connection, since: date, until: date) -> list[Any]:
    """Cost rows of the days in [since, until)."""
    c = analytics_costs.c
    stmt = (
        select(
            c.day,
            c.channel,
            c.source,
            c.medium,
            c.campaign,
            c.cost_cents,
            c.currency,
            c.clicks,
            c.impressions,
            c.origin,
        )
        .where(c.day >= since, c.day < until)
        .order_by(c.day, c.channel, c.source, c.medium, c.campaign)
    )
    return list(conn.execute(stmt))


def erase(conn: Connection, profile_ids: Sequence[str]) -> int:
    removed = conn.execute(delete(tp).where(tp.c.profile_id.in_(list(profile_ids)))).rowcount
    for table in (analytics_usage, analytics_products):
        conn.execute(delete(table).where(table.c.profile_id.in_(list(profile_ids))))
    conn.execute(delete(analytics_merged).where(analytics_merged.c.profile_id.in_(list(profile_ids))))
    return int(removed or 0)


def export(conn: Connection, profile_ids: Sequence[str]) -> list[dict[str, Any]]:
    stmt = select(tp).where(tp.c.profile_id.in_(list(profile_ids))).order_by(tp.c.at, tp.c.seq)
    # str(): column names come as quoted_name, which orjson refuses as keys
    return [
        {str(k): (v.isoformat() if isinstance(v, datetime) else v) for k, v in r._mapping.items()}
        for r in conn.execute(stmt)
    ]
