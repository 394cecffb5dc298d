"""Driver-level SQL for the ingest hot path.

SQLAlchemy's per-parameter type processing costs more than the inserts themselves at tens of
thousands of rows a second, so the hot path converts values once here and hands rows straight to
the driver's executemany. Values are stored exactly as the typed columns store them (UTC datetimes
as SQLAlchemy's SQLite text format; JSON as text), so Core reads them back unchanged.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import Connection


@functools.lru_cache(maxsize=4096)
def _sqlite_time(value: datetime | None) -> str | None:
    # Cached: ingest converts several times per event, mostly the same few instants (a batch's
    # received_at, its events' timestamps again for the profile's first/last seen); a hit costs a
    # twentieth of the conversion (measured 0.08 against 2.2 us).
    if value is None:
        return None
    if value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    return value.replace(tzinfo=None).isoformat(" ", "microseconds")


def _pg_time(value: datetime | None) -> datetime | None:
    return value


def db_time_converter(dialect: str) -> Callable[[datetime | None], Any]:
    """How a UTC datetime is handed to the driver: text on SQLite (as the typed column stores it)."""
    return _pg_time if dialect == "postgresql" else _sqlite_time


class Raw:
    """Dialect-aware helpers bound to one connection."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.pg = conn.dialect.name == "postgresql"
        self.p = "%s" if self.pg else "?"
        self.pj = "%s::jsonb" if self.pg else "?"

    def time(self, value: datetime | None) -> Any:
        return value if self.pg else _sqlite_time(value)

    def read_time(self, value: Any) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, datetime):
            return value if value.tzinfo else value.replace(tzinfo=UTC)
        return datetime.fromisoformat(value).replace(tzinfo=UTC)

    @staticmethod
    def json(value: Any) -> str:
        return orjson.dumps(value).decode()

    @staticmethod
    def read_json(value: Any) -> Any:
        return orjson.loads(value) if isinstance(value, str | bytes) else value

    def placeholders(self, count: int, json_at: Iterable[int] = ()) -> str:
        json_positions = set(json_at)
        return ", ".join(self.pj if i in json_positions else self.p for i in range(count))

    def insert_many(
        self,
        table: str,
        columns: Sequence[str],
        rows: list[tuple[Any, ...]],
        json_columns: Iterable[str] = (),
    ) -> None:
        if not rows:
            return
        json_set = set(json_columns)
        marks = self.placeholders(len(columns), [i for i, c in enumerate(columns) if c in json_set])
        sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"  # noqa: S608 (names are ours)
        self.conn.exec_driver_sql(sql, rows)

    def fetch(self, sql: str, params: Sequence[Any]) -> list[Any]:
        return list(self.conn.exec_driver_sql(sql, tuple(params)).fetchall())

    def in_list(self, count: int) -> str:
        return ", ".join([self.p] * count)
