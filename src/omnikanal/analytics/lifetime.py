"""Customer lifetime value by acquisition key: every customer's history summarised for the
repeat-buying models (clv.py), the models fitted on all customers, and the expected value over a
horizon averaged per acquisition key (pure: no I/O).

A customer's acquisition key is the dimension's key of their first touchpoint ever (the first
purchase itself when nothing came before it): the channel, source, medium or campaign that
brought them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from omnikanal.analytics.clv import Fitted, Summary, fit
from omnikanal.analytics.model import Dimension, Touch

DAY = 86400.0


@dataclass(slots=True)
class _History:
    key: str
    first: datetime | None = None
    by_day: dict[Any, float] = field(default_factory=dict)
    last: datetime | None = None


def histories(
    rows: Iterable[Any], refunds: Mapping[str, int], conversion: str, dimension: Dimension
) -> list[_History]:
    """Customers' purchases (net of returns, per day) and acquisition keys, from rows ordered by
    profile and time."""
    out: list[_History] = []
    current: str | None = None
    history: _History | None = None
    for row in rows:
        if row.profile_id != current:
            current = row.profile_id
            key = Touch(row.at, row.channel, row.source, row.medium, row.campaign).key(dimension)
            history = _History(key)
            out.append(history)
        assert history is not None
        if row.event != conversion:
            continue
        gross = row.value_cents or 0
        net = max(0, gross - refunds.get(row.order_id, 0)) if row.order_id else gross
        day = row.at.date()
        history.by_day[day] = history.by_day.get(day, 0.0) + net / 100
        history.first = history.first or row.at
        history.last = row.at
    return [h for h in out if h.first is not None]


def summary(history: _History, until: datetime) -> Summary:
    assert history.first is not None
    assert history.last is not None
    days = sorted(history.by_day)
    repeat = [history.by_day[d] for d in days[1:]]
    return Summary(
        x=float(len(repeat)),
        t_x=(history.last - history.first).total_seconds() / DAY if repeat else 0.0,
        T=(until - history.first).total_seconds() / DAY,
        monetary=sum(repeat) / len(repeat) if repeat else 0.0,
    )


@dataclass(frozen=True, slots=True)
class Basis:
    """What the ``value`` of a lifetime is: margin or revenue, discounted to today or not."""

    annual_discount_rate: float = 0.0
    gross_margin: float | None = None  # None: revenue

    def describe(self) -> dict[str, Any]:
        return {
            "of": "margin" if self.gross_margin is not None else "revenue",
            "gross_margin": self.gross_margin,
            "discounted": self.annual_discount_rate > 0,
            "annual_discount_rate": self.annual_discount_rate,
        }


def lifetime_values(
    customers: list[_History], until: datetime, horizon_days: float, basis: Basis | None = None
) -> tuple[Fitted | None, list[dict[str, Any]]]:
    """Per acquisition key: ``clv`` the expected revenue (undiscounted), ``value`` the same on the
    basis (margin and discount rate) asked for."""
    basis = basis or Basis()
    summaries = [summary(h, until) for h in customers]
    fitted = fit(summaries)
    empty: list[float | None] = [None] * len(summaries)
    values: list[float | None] = list(fitted.values(summaries, horizon_days)) if fitted else empty
    margin = basis.gross_margin if basis.gross_margin is not None else 1.0
    worth: list[float | None] = (
        list(fitted.discounted(summaries, horizon_days, basis.annual_discount_rate, margin))
        if fitted
        else empty
    )
    groups: dict[str, list[tuple[_History, Summary, float | None, float | None]]] = {}
    for h, s, v, w in zip(customers, summaries, values, worth, strict=True):
        groups.setdefault(h.key, []).append((h, s, v, w))
    rows = [_row(key, members) for key, members in groups.items()]
    rows.sort(key=lambda r: (-int(r["customers"]), str(r["key"])))
    return fitted, rows


def _row(key: str, members: list[tuple[_History, Summary, float | None, float | None]]) -> dict[str, Any]:
    n = len(members)
    revenue = sum(sum(h.by_day.values()) for h, _, _, _ in members)
    predicted = [v for _, _, v, _ in members if v is not None]
    worth = [w for _, _, _, w in members if w is not None]
    return {
        "key": key,
        "customers": n,
        "repeat_customers": sum(1 for _, s, _, _ in members if s.x > 0),
        "revenue_per_customer": round(revenue / n, 2),
        "clv": round(sum(predicted) / n, 2) if predicted else None,
        "total_clv": round(sum(predicted), 2) if predicted else None,
        "value": round(sum(worth) / n, 2) if worth else None,
        "total_value": round(sum(worth), 2) if worth else None,
    }
