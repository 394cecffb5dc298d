"""Product-level omnichannel questions: research online, purchase offline (ROPO), and the channel
customers prefer per product category (pure: no I/O, besides turning events into rows).

The analytics processor keeps a product row for each ``Product Viewed`` event and for each line of
an ``Order Completed`` event (the Segment e-commerce spec), with the person, time, business
channel, the product's SKU (or product id) and category. A store purchase is researched online
when the same person viewed the same product on the web or in the app within ``days`` before it.
An order line without a category takes the one its SKU was last viewed with.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from omnikanal.analytics.touchpoints import cents

VIEW_EVENT = "Product Viewed"
ORDER_EVENT = "Order Completed"
ONLINE = frozenset({"web", "app"})
OFFLINE = frozenset({"pos"})
UNKNOWN = "(unknown)"
MAX_LINES = 200  # lines of one order kept (a bigger one is no retail basket)


def _text(value: Any, limit: int) -> str | None:
    text = str(value).strip()[:limit] if value is not None else ""
    return text or None


def product_rows(row: Any) -> list[dict[str, Any]]:
    if row.type != "track" or row.event not in (VIEW_EVENT, ORDER_EVENT):
        return []
    payload = row.payload if isinstance(row.payload, Mapping) else {}
    properties = payload.get("properties")
    properties = properties if isinstance(properties, Mapping) else {}
    base = {"seq": row.seq, "profile_id": row.profile_id, "at": row.timestamp, "channel": row.channel}
    if row.event == VIEW_EVENT:
        items: list[Any] = [properties]
        kind = "view"
    else:
        products = properties.get("products")
        items = products[:MAX_LINES] if isinstance(products, list) else []
        kind = "purchase"
    out = []
    for line, item in enumerate(items):
        if not isinstance(item, Mapping):
            continue
        sku = _text(item.get("sku"), 200) or _text(item.get("product_id"), 200)
        if sku is None:
            continue
        price = cents(item.get("price")) if kind == "purchase" else None
        quantity = item.get("quantity", 1)
        if price is not None and isinstance(quantity, int | float) and not isinstance(quantity, bool):
            price = int(price * quantity)
        out.append(
            {
                **base,
                "line": line,
                "kind": kind,
                "sku": sku,
                "category": _text(item.get("category"), 200),
                "value_cents": price,
            }
        )
    return out


def ropo(rows: Iterable[Any], since: datetime, days: int) -> dict[str, Any]:
    """Store purchase lines in the period (rows from ``since - days`` on, ordered by profile and time)
    and those preceded by an online view of the same product by the same person."""
    window = timedelta(days=days)
    lines = researched = 0
    value = researched_value = 0
    by_category: dict[str, list[int]] = {}
    seen: dict[tuple[str, str], datetime] = {}
    categories: dict[str, str] = {}
    for row in rows:
        if row.category:
            categories[row.sku] = row.category
        if row.kind == "view":
            if row.channel in ONLINE:
                seen[(row.profile_id, row.sku)] = row.at
            continue
        if row.channel not in OFFLINE or row.at < since:
            continue
        category = row.category or categories.get(row.sku, UNKNOWN)
        entry = by_category.setdefault(category, [0, 0])
        lines += 1
        value += row.value_cents or 0
        entry[0] += 1
        viewed = seen.get((row.profile_id, row.sku))
        if viewed is not None and row.at - window <= viewed <= row.at:
            researched += 1
            researched_value += row.value_cents or 0
            entry[1] += 1
    return {
        "days": days,
        "store_lines": lines,
        "researched_online": researched,
        "share": round(researched / lines, 4) if lines else None,
        "store_value": value / 100,
        "researched_value": researched_value / 100,
        "categories": [
            {"category": c, "store_lines": n, "researched_online": r, "share": round(r / n, 4) if n else None}
            for c, (n, r) in sorted(by_category.items(), key=lambda kv: (-kv[1][0], kv[0]))
        ],
    }


def preference(rows: Iterable[Any], since: datetime) -> list[dict[str, Any]]:
    """Per category: purchase lines and their value by business channel, and the channel most
    bought through."""
    categories: dict[str, str] = {}
    table: dict[str, dict[str, list[int]]] = {}
    for row in rows:
        if row.category:
            categories[row.sku] = row.category
        if row.kind != "purchase" or row.at < since:
            continue
        category = row.category or categories.get(row.sku, UNKNOWN)
        cell = table.setdefault(category, {}).setdefault(row.channel, [0, 0])
        cell[0] += 1
        cell[1] += row.value_cents or 0
    out = []
    for category, channels in table.items():
        total = sum(n for n, _ in channels.values())
        out.append(
            {
                "category": category,
                "lines": total,
                "preferred": max(channels.items(), key=lambda kv: (kv[1][0], kv[0]))[0],
                "channels": {
                    ch: {"lines": n, "share": round(n / total, 4), "value": v / 100}
                    for ch, (n, v) in sorted(channels.items())
                },
            }
        )
    return sorted(out, key=lambda r: (-int(r["lines"]), str(r["category"])))
