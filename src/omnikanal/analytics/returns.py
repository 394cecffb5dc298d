"""Answers from credits, costs and customers: attribution tables, returns on cost, and multichannel
against single-channel customers (pure: no I/O)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from omnikanal.analytics.model import NONE, Credit, Dimension
from omnikanal.analytics.paths import Customer


def _steady(x: float, digits: int) -> float:
    """``x`` rounded to ``digits`` after the noise of summing in another order is rounded away (DuckDB
    adds credits in parallel, in no fixed order: 630.175 may come as 630.17499999 or 630.1750001)."""
    return round(round(x, 9), digits)


def table(credit: Mapping[str, Credit], conversions: int) -> list[dict[str, Any]]:
    """Rows by key, most conversions first; share is of the conversions (the shares sum to 1)."""
    rows = [
        {
            "key": key,
            "conversions": _steady(c.conversions, 6),
            "value": _steady(c.value, 2),
            "share": _steady(c.conversions / conversions, 6) if conversions else 0.0,
        }
        for key, c in credit.items()
    ]
    return sorted(rows, key=lambda r: (-r["conversions"], r["key"]))


def cost_key(row: Any, dimension: Dimension) -> str | None:
    """The key a cost row is spent on in a dimension; None when it says nothing of it."""
    value: str = getattr(row, dimension)
    return value or None


def costs_by_key(rows: Iterable[Any], dimension: Dimension) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for row in rows:
        key = cost_key(row, dimension) or "(unassigned)"
        entry = out.setdefault(key, {"cost_cents": 0, "clicks": 0, "impressions": 0, "origins": set()})
        entry["cost_cents"] += row.cost_cents
        entry["clicks"] += row.clicks or 0
        entry["impressions"] += row.impressions or 0
        entry["origins"].add(row.origin)
    return out


def add_own_costs(
    spent: dict[str, dict[str, Any]], lines: Iterable[Mapping[str, Any]], dimension: Dimension = "channel"
) -> None:
    """The hub's own cost lines added to the media spend of their business channels, or (by
    campaign) of the campaigns their messages were sent for; a line of no campaign (staff time on a
    case, fixed costs, a message sent for none) is no campaign's. Source and medium get none."""
    for line in lines:
        key = line.get(dimension) if dimension in ("channel", "campaign") else None
        if not key:
            continue
        entry = spent.setdefault(key, {"cost_cents": 0, "clicks": 0, "impressions": 0, "origins": set()})
        entry["cost_cents"] += round(line["cost"] * 100)
        entry["origins"].add(line["from"])


def _ratio(a: float, b: float) -> float | None:
    return _steady(a / b, 4) if b else None


def returns_rows(
    credit: Mapping[str, Credit], costs: Mapping[str, dict[str, Any]], acquired: Mapping[str, Credit]
) -> list[dict[str, Any]]:
    """Per key: attributed conversions and revenue (net of returns), cost, ROAS (revenue / cost), ROI
    ((revenue - cost) / cost), cost per conversion, and the first purchases (acquisitions) with the
    customer acquisition cost (cost / acquisitions); None where there is nothing to divide by."""
    rows = []
    for key in sorted(set(credit) | set(costs)):
        c = credit.get(key, Credit())
        firsts = acquired.get(key, Credit()).conversions
        spent = costs.get(key, {})
        cost = spent.get("cost_cents", 0) / 100
        rows.append(
            {
                "key": key,
                "conversions": _steady(c.conversions, 6),
                "revenue": _steady(c.value, 2),
                "cost": round(cost, 2),
                "roas": _ratio(c.value, cost),
                "roi": _ratio(c.value - cost, cost),
                "cost_per_conversion": _ratio(cost, c.conversions) if c.conversions and cost else None,
                "acquisitions": _steady(firsts, 6),
                "acquisition_cost": _ratio(cost, firsts) if firsts and cost else None,
                "clicks": spent.get("clicks", 0),
                "impressions": spent.get("impressions", 0),
                "cost_from": sorted(spent.get("origins", ())),
            }
        )
    return sorted(rows, key=lambda r: (-r["revenue"], r["key"]))


def customer_groups(customers: Mapping[str, Customer]) -> list[dict[str, Any]]:
    """Customers who converted in the period, by whether they used one business channel or several
    (touchpoints and conversions in the period alike)."""
    groups: dict[str, list[Customer]] = {"single_channel": [], "multichannel": []}
    for customer in customers.values():
        groups["multichannel" if len(customer.channels) > 1 else "single_channel"].append(customer)
    return [_group(name, members) for name, members in groups.items()]


def _group(name: str, members: Sequence[Customer]) -> dict[str, Any]:
    n = len(members)
    orders = sum(m.orders for m in members)
    revenue = sum(m.revenue for m in members)
    return {
        "group": name,
        "customers": n,
        "orders": orders,
        "revenue": round(revenue, 2),
        "revenue_per_customer": round(revenue / n, 2) if n else None,
        "orders_per_customer": round(orders / n, 4) if n else None,
        "average_order_value": round(revenue / orders, 2) if orders else None,
    }


def common_paths(paths: Iterable[Any], dimension: Dimension, limit: int) -> list[dict[str, Any]]:
    """The most frequent converting paths as key sequences (repeats in a row collapsed)."""
    counts: dict[tuple[str, ...], list[float]] = {}
    for path in paths:
        if not path.converted:
            continue
        keys: list[str] = []
        for touch in path.touches:
            key = touch.key(dimension)
            if not keys or keys[-1] != key:
                keys.append(key)
        entry = counts.setdefault(tuple(keys) or (NONE,), [0, 0.0])
        entry[0] += 1
        entry[1] += path.value
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1][0], kv[0]))[:limit]
    return [{"path": list(k), "conversions": int(v[0]), "value": round(v[1], 2)} for k, v in ranked]
