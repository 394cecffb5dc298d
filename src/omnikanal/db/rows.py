"""Driver-level writes of dict rows for any of our tables (see ``db/fast.py`` for why).

The columns' types say how each value is handed to the driver: UTC datetimes and JSON exactly as
the typed columns store them, so Core reads the rows back unchanged.

On PostgreSQL each write is one statement taking a column of values as one array parameter
(``unnest``): a statement with a placeholder per value is parsed again by psycopg on every call
(it caches only short statements with few parameters), costs the server a plan each time, and an
executemany costs the server one execution per row. An array statement's text never changes, so
psycopg caches it and the server prepares it once. SQLite, in-process, takes executemany as fast.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from functools import cache
from typing import Any

from sqlalchemy import JSON, ColumnElement, String, Table, any_, bindparam
from sqlalchemy.dialects import postgresql

from omnikanal.db.fast import Raw
from omnikanal.db.types import UTCDateTime

# Rows per multi-row VALUES statement: far below SQLite's 32,766 and PostgreSQL's 65,535 parameters
# for our widest table (about 20 columns).
VALUES_ROWS = 500


def among(column: ColumnElement[Any], name: str) -> dict[str, ColumnElement[bool]]:
    """``column IN`` the list passed as parameter ``name``, per dialect (pick by ``dialect.name``).

    On PostgreSQL ``= ANY`` of one array parameter, for the reasons above (an expanded IN has a
    placeholder per value); SQLite takes the list expanded.
    """
    return {
        "postgresql": column == any_(bindparam(name, type_=postgresql.ARRAY(String()))),
        "sqlite": column.in_(bindparam(name, expanding=True)),
    }


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


@cache
def _pg_arrays(table: Table, columns: tuple[str, ...]) -> str:
    """``unnest(%s::type[], ...)`` over ``columns``: each column's values as one typed array."""
    dialect = postgresql.dialect()  # type: ignore[no-untyped-call]
    types = [table.c[c].type.compile(dialect=dialect) for c in columns]
    # An explicit cast to VARCHAR(n) cuts a longer value silently; the insert's assignment from TEXT
    # refuses it, as a plain INSERT would.
    types = ["TEXT" if t.startswith(("VARCHAR", "CHAR")) else t for t in types]
    # %b: the arrays go in binary, which psycopg builds without escaping each value
    return f"unnest({', '.join(f'%b::{t}[]' for t in types)})"


def _pg_columns(
    raw: Raw, table: Table, columns: Sequence[str], rows: Sequence[dict[str, Any]]
) -> list[list[Any]]:
    """The rows' values column by column, as the driver takes them (the arrays ``_pg_arrays`` names)."""
    return [list(values) for values in zip(*driver_rows(raw, table, columns, rows), strict=True)]


def insert_rows(raw: Raw, table: Table, columns: Sequence[str], rows: Sequence[dict[str, Any]]) -> None:
    """A plain INSERT of every row (through the driver's executemany on SQLite)."""
    if not rows:
        return
    if raw.pg:
        arrays = _pg_arrays(table, tuple(columns))
        sql = f"INSERT INTO {table.name} ({', '.join(columns)}) SELECT * FROM {arrays}"  # noqa: S608 (names are ours)
        raw.conn.exec_driver_sql(sql, tuple(_pg_columns(raw, table, columns, rows)))
        return
    names = [c for c in columns if isinstance(table.c[c].type, JSON)]
    raw.insert_many(table.name, columns, driver_rows(raw, table, columns, rows), names)


def insert_ignoring(raw: Raw, table: Table, columns: Sequence[str], rows: Sequence[dict[str, Any]]) -> None:
    """INSERT ... ON CONFLICT DO NOTHING of every row, answering nothing (``insert_new_returning``
    tells which went in): the driver-level form of ``engine.insert_ignoring_duplicates``."""
    if not rows:
        return
    if raw.pg:
        arrays = _pg_arrays(table, tuple(columns))
        sql = f"INSERT INTO {table.name} ({', '.join(columns)}) SELECT * FROM {arrays} ON CONFLICT DO NOTHING"  # noqa: S608
        raw.conn.exec_driver_sql(sql, tuple(_pg_columns(raw, table, columns, rows)))
        return
    marks = raw.placeholders(len(columns), json_columns(table, columns))
    sql = f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({marks}) ON CONFLICT DO NOTHING"  # noqa: S608
    raw.conn.exec_driver_sql(sql, driver_rows(raw, table, columns, rows))


def insert_new_returning(
    raw: Raw, table: Table, columns: Sequence[str], rows: Sequence[dict[str, Any]], key: str
) -> set[Any]:
    """INSERT ... ON CONFLICT DO NOTHING RETURNING ``key``: the keys of the rows that went in.

    One statement of arrays on PostgreSQL; multi-row VALUES statements on SQLite, because executemany
    gives no RETURNING rows (and psycopg gives no row count for ON CONFLICT DO NOTHING).
    """
    if not rows:
        return set()
    if raw.pg:
        sql = (
            f"INSERT INTO {table.name} ({', '.join(columns)}) "  # noqa: S608 (names are ours)
            f"SELECT * FROM {_pg_arrays(table, tuple(columns))} ON CONFLICT DO NOTHING RETURNING {key}"
        )
        return {r[0] for r in raw.conn.exec_driver_sql(sql, tuple(_pg_columns(raw, table, columns, rows)))}
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
    """UPDATE each row (found by ``key``, each key once) setting ``columns``.

    On PostgreSQL one UPDATE ... FROM the arrays: with a key twice it would apply one of the two.
    """
    if not rows:
        return
    if raw.pg:
        names = [*columns, key]
        sets = ", ".join(f"{c} = v.{c}" for c in columns)
        sql = (
            f"UPDATE {table.name} SET {sets} "  # noqa: S608 (names are ours)
            f"FROM {_pg_arrays(table, tuple(names))} AS v({', '.join(names)}) "
            f"WHERE {table.name}.{key} = v.{key}"
        )
        raw.conn.exec_driver_sql(sql, tuple(_pg_columns(raw, table, names, rows)))
        return
    json_at = set(json_columns(table, columns))
    sets = ", ".join(f"{c} = {raw.pj if i in json_at else raw.p}" for i, c in enumerate(columns))
    sql = f"UPDATE {table.name} SET {sets} WHERE {key} = {raw.p}"  # noqa: S608 (names are ours)
    values = driver_rows(raw, table, [*columns, key], rows)
    raw.conn.exec_driver_sql(sql, values)
