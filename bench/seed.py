"""Many profiles, fast, written straight into the database while no server runs.

Each profile ``i`` gets the identifiers email ``person{i}@example.de`` and user_id ``u{i}`` and a
few traits with provenance, the shape ingest itself writes. SQLite gets one executemany per
chunk, its values converted once by the column types of the project's own table objects; PostgreSQL
gets COPY.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import Column, Connection, Engine, Table, select, text

from omnikanal.db.engine import make_engine, write_tx
from omnikanal.profiles.identity.tables import identities
from omnikanal.profiles.tables import profiles
from omnikanal.settings import Settings
from omnikanal.sources.tables import sources

CHUNK = 20_000

PROFILE_COLUMNS = (
    "id",
    "state",
    "merged_into",
    "created_at",
    "updated_at",
    "first_seen",
    "last_seen",
    "traits",
    "stats",
    "event_count",
)
IDENTITY_COLUMNS = ("type", "value", "profile_id", "origin_profile_id", "source_id", "created_at")


def seeded_email(i: int) -> str:
    return f"person{i}@example.de"


@dataclass
class SeedResult:
    profiles: int
    identities: int
    seconds: float

    @property
    def profiles_per_second(self) -> float:
        return self.profiles / self.seconds if self.seconds else 0.0


@dataclass(frozen=True, slots=True)
class _Chunk:
    profiles: list[tuple[Any, ...]]  # in PROFILE_COLUMNS order
    identities: list[tuple[Any, ...]]  # in IDENTITY_COLUMNS order


def _chunks(
    count: int, source_id: str, source_name: str, now: datetime, stamp: Any, as_json: Callable[[Any], Any]
) -> Iterator[_Chunk]:
    """Rows ready for the driver: ``stamp`` is ``now`` as the column stores it, ``as_json`` makes a
    JSON column's value."""
    at = now.isoformat()
    stats = as_json({"channels": {}, "types": {}})
    for start in range(0, count, CHUNK):
        chunk = _Chunk([], [])
        for i in range(start, min(count, start + CHUNK)):
            pid = f"prof_{uuid.uuid4().hex}"
            email = seeded_email(i)
            traits = {
                key: {"value": value, "source_id": source_id, "source": source_name, "at": at}
                for key, value in (("email", email), ("firstName", "Person"), ("lastName", str(i)))
            }
            chunk.profiles.append((pid, "live", None, stamp, stamp, stamp, stamp, as_json(traits), stats, 0))
            chunk.identities.append(("email", email, pid, pid, source_id, stamp))
            chunk.identities.append(("user_id", f"u{i}", pid, pid, source_id, stamp))
        yield chunk


def _source(conn: Connection, name: str) -> str:
    found = conn.execute(select(sources.c.id).where(sources.c.name == name)).scalar()
    if found is None:
        raise RuntimeError(f"no source named {name!r} to attribute the seeded identifiers to")
    return str(found)


def _converter(engine: Engine, column: Column[Any]) -> Callable[[Any], Any]:
    """What the column's SQLAlchemy type makes of a value for this dialect (computed once per value
    kind, so the rows skip SQLAlchemy's per-row parameter processing)."""
    dialect = engine.dialect
    process = column.type.dialect_impl(dialect).bind_processor(dialect)
    return process if process is not None else (lambda value: value)


def _columns(table: Table, columns: tuple[str, ...]) -> str:
    """The column list, checked against the table object (a renamed column fails loudly here)."""
    missing = [name for name in columns if name not in table.c]
    if missing:
        raise RuntimeError(f"{table.name} has no column(s) {missing}: bench/seed.py needs updating")
    return f"{table.name} ({', '.join(columns)})"


def _insert_sql(table: Table, columns: tuple[str, ...]) -> str:
    return f"INSERT INTO {_columns(table, columns)} VALUES ({', '.join('?' for _ in columns)})"


def _seed_sqlite(
    engine: Engine, count: int, source_id: str, source_name: str, advance: Callable[[int], None]
) -> None:
    now = datetime.now(UTC)
    stamp = _converter(engine, profiles.c.created_at)(now)
    chunks = _chunks(count, source_id, source_name, now, stamp, _converter(engine, profiles.c.traits))
    with write_tx(engine) as conn:
        for chunk in chunks:
            conn.exec_driver_sql(_insert_sql(profiles, PROFILE_COLUMNS), chunk.profiles)
            conn.exec_driver_sql(_insert_sql(identities, IDENTITY_COLUMNS), chunk.identities)
            advance(len(chunk.profiles))
        conn.exec_driver_sql("ANALYZE")


def _seed_postgres(
    engine: Engine, count: int, source_id: str, source_name: str, advance: Callable[[int], None]
) -> None:
    now = datetime.now(UTC)
    chunks = _chunks(count, source_id, source_name, now, now, lambda value: orjson.dumps(value).decode())
    raw = engine.raw_connection()
    try:
        pg = raw.driver_connection
        assert pg is not None
        with pg.cursor() as cur:
            for chunk in chunks:
                with cur.copy(f"COPY {_columns(profiles, PROFILE_COLUMNS)} FROM STDIN") as copy:
                    for row in chunk.profiles:
                        copy.write_row(row)
                with cur.copy(f"COPY {_columns(identities, IDENTITY_COLUMNS)} FROM STDIN") as copy:
                    for row in chunk.identities:
                        copy.write_row(row)
                advance(len(chunk.profiles))
        raw.commit()
    finally:
        raw.close()
    with engine.connect() as conn:
        conn.execute(text("ANALYZE profiles"))
        conn.execute(text("ANALYZE identities"))
        conn.commit()


def seed_profiles(url: str, count: int, source_name: str, advance: Callable[[int], None]) -> SeedResult:
    """Insert ``count`` live profiles with two identifiers each; ``advance`` is told the progress."""
    engine = make_engine(Settings(), url)
    try:
        with engine.connect() as conn:
            source_id = _source(conn, source_name)
        started = time.perf_counter()
        if engine.dialect.name == "postgresql":
            _seed_postgres(engine, count, source_id, source_name, advance)
        else:
            _seed_sqlite(engine, count, source_id, source_name, advance)
        return SeedResult(count, 2 * count, time.perf_counter() - started)
    finally:
        engine.dispose()
