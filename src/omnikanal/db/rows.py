"""Driver-level writes of dict rows for any of our tables (see ``db/fast.py`` for why).

The columns' types say how each value is handed to the driver: UTC datetimes and JSON exactly as
the typed columns store them, so Core reads the rows back unchanged.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from sqlalchemy import JSON, Table

from omnikanal.db.fast import Raw
from omnikanal.db.types import UTCDateTime

# Rows per multi-row VALUES statement: far below SQLite's 32,766 and PostgreSQL's 65,535 parameters
# for our widest table (about 20 columns).
VALUES_ROWS = 500


def _converters(raw: Raw, table: Table, columns: Sequence[str]) -> list[Callable[[Any], Any] | None]:
    converters: list[Callable[[Any], Any] | None] = []
    for name in columns:
        column_type = table.c[name].type
        if isinstance(column_type, UTCDateTime):
            converters.append(raw.time)
        elif isinstance(column_type, JSON):
            converters.append(raw.json)
        else:
            converters.append(None)
    return converters


def driver_rows(
    raw: Raw, table: Table, columns: Sequence[str], rows: Iterable[dict[str, Any]]
) -> list[tuple[Any, ...]]:
    """The rows as tuples in ``columns`` order, each value as the driver takes it."""
    converters = _converters(raw, table, columns)
    return [
        tuple(v if f is None else f(v) for f, v in zip(converters, (row[c] for c in columns), strict=True))
        for row in rows
    ]


def json_columns(table: Table, columns: Sequence[str]) -> list[int]:
    return [i for i, c in enumerate(columns) if isinstance(table.c[c].type, JSON)]


def insert_rows(raw: Raw, table: Table, columns: Sequence[str], rows: Sequence[dict[str, Any]]) -> None:
    """A plain INSERT of every row through the driver's executemany."""
    names = [c for c in columns if isinstance(table.c[c].type, JSON)]
    raw.insert_many(table.name, columns, driver_rows(raw, table, columns, rows), names)


def insert_new_returning(
    raw: Raw, table: Table, columns: Sequence[str], rows: Sequence[dict[str, Any]], key: str
) -> set[Any]:
    """INSERT ... ON CONFLICT DO NOTHING RETURNING ``key``: the keys of the rows that went in.

    Multi-row VALUES statements, because executemany gives no RETURNING rows, and psycopg gives no
    row count for ON CONFLICT DO NOTHING.
    """
    marks = f"({raw.placeholders(len(columns), json_columns(table, columns))})"
    values = driver_rows(raw, table, columns, rows)
    written: set[Any] = set()
    for start in range(0, len(values), VALUES_ROWS):
        chunk = values[start : start + VALUES_ROWS]
        sql = (
            f"INSERT INTO {table.name} ({', '.join(columns)}) "  # noqa: S608 (names are ours)
            f"VALUES {', '.join([marks] * len(chunk))} ON CONFLICT DO NOTHING RETURNING {key}"
        )
        params = tuple(v for row in chunk for v in row)
        written.update(r[0] for r in raw.conn.exec_driver_sql(sql, params))
    return written


def update_rows(
    raw: Raw, table: Table, columns: Sequence[str], key: str, rows: Sequence[dict[str, Any]]
) -> None:
    """UPDATE each row (found by ``key``) setting ``columns``, through the driver's executemany."""
    json_at = set(json_columns(table, columns))
    sets = ", ".join(f"{c} = {raw.pj if i in json_at else raw.p}" for i, c in enumerate(columns))
    sql = f"UPDATE {table.name} SET {sets} WHERE {key} = {raw.p}"  # noqa: S608 (names are ours)
    values = driver_rows(raw, table, [*columns, key], rows)
    raw.conn.exec_driver_sql(sql, values)


def delete_by(raw: Raw, table: Table, key: str, values: Sequence[Any]) -> None:
    """DELETE the rows whose ``key`` is one of ``values``, through the driver's executemany."""
    sql = f"DELETE FROM {table.name} WHERE {key} = {raw.p}"  # noqa: S608 (names are ours)
    raw.conn.exec_driver_sql(sql, [(v,) for v in values])
