"""The analytics processor of the event log, and the refresh of the columnar copy.

The processor copies page, screen and track events as touchpoints into the capability's own table,
in the worker role; identify, group and alias events are not read at all (its interest names the
types). The refresh job re-keys the touchpoints of merged profiles and appends what is new to the
Parquet copy, so reports on DuckDB never scan the OLTP database's event log.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple

from sqlalchemy import Connection

from omnikanal.analytics import store
from omnikanal.analytics.products import product_rows
from omnikanal.analytics.touchpoints import touchpoint
from omnikanal.analytics.usage import usage
from omnikanal.background import Periodic
from omnikanal.eventlog.model import Interest

PROCESSOR = "analytics"


class Plan(NamedTuple):
    touchpoints: list[dict[str, Any]]
    usage: list[dict[str, Any]]
    products: list[dict[str, Any]]


TOUCH_TYPES = frozenset({"page", "screen", "track"})


class AnalyticsProcessor:
    name = PROCESSOR

    def __init__(self, codes: Mapping[str, str], ignored: frozenset[str]) -> None:
        self._codes = {k.lower(): v for k, v in codes.items()}
        self._ignored = ignored

    def interest(self, conn: Connection) -> Interest:
        return Interest(types=TOUCH_TYPES)

    def handle(self, conn: Connection, batch: Sequence[Any]) -> None:
        self.apply(conn, batch, self.plan(conn, batch))

    def plan(self, conn: Connection, batch: Sequence[Any]) -> Plan:
        """The touchpoints and the hub's own usage, derived in the reading transaction: parsing the
        payloads took twice the time of the insert, and only the insert needs SQLite's write lock,
        which ingest needs."""
        touchpoints = [tp for row in batch if (tp := touchpoint(row, self._codes, self._ignored)) is not None]
        used = [u for row in batch if (u := usage(row)) is not None]
        return Plan(touchpoints, used, [p for row in batch for p in product_rows(row)])

    def apply(self, conn: Connection, batch: Sequence[Any], plan: Plan) -> None:
        store.add_touchpoints(conn, plan.touchpoints)
        store.add_usage(conn, plan.usage)
        store.add_products(conn, plan.products)


class RefreshJob:
    """Keeps the columnar copy current in the worker role: every ``interval`` seconds, the merged
    profiles re-keyed and the new touchpoints appended."""

    def __init__(self, refresh: Callable[[], dict[str, int]], interval: float) -> None:
        self._refresh = refresh
        self._loop = Periodic("analytics-refresh", interval, self.run_once, first_after=min(interval, 5.0))

    def run_once(self) -> bool:
        self._refresh()
        return False  # a refresh copies everything there is; wait for the next interval

    def start(self) -> None:
        self._loop.start()

    def stop(self) -> None:
        self._loop.stop()
