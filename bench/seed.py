"""Many profiles, fast, written straight into the database while no server runs.

Each profile ``i`` gets the identifiers email ``person{i}@example.de`` and user_id ``u{i}`` and a
few traits with provenance, the shape ingest itself writes. SQLite goes through SQLAlchemy Core
executemany with the project's own table objects (so the column types convert the values);
PostgreSQL through COPY.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import Connection, Engine, insert, select, text

from omnikanal.db.engine import make_engine, write_tx
from omnikanal.db.tables import identities, profiles, sources
from omnikanal.settings import Settings

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
    profiles: list[dict[str, Any]]
    identities: list[dict[str, Any]]


def _chunks(count: int, source_id: str, source_name: str, now: datetime) -> Iterator[_Chunk]:
    at = now.isoformat()
    stats = {"channels": {}, "types": {}}
    for start in range(0, count, CHUNK):
        chunk = _Chunk([], [])
        for i in range(start, min(count, start + CHUNK)):
            pid = f"prof_{uuid.uuid4().hex}"
            email = seeded_email(i)

            def trait(value: str) -> dict[str, Any]:
                return {"value": value, "source_id": source_id, "source": source_name, "at": at}

            chunk.profiles.append(
                {
                    "id": pid,
                    "state": "live",
                    "merged_into": None,
                    "created_at": now,
                    "updated_at": now,
                    "first_seen": now,
                    "last_seen": now,
                    "traits": {
                        "email": trait(email),
                        "firstName": trait("Person"),
                        "lastName": trait(str(i)),
                    },
                    "stats": stats,
                    "event_count": 0,
                }
            )
            for identifier_type, value in (("email", email), ("user_id", f"u{i}")):
                chunk.identities.append(
                    {
                        "type": identifier_type,
                        "value": value,
                        "profile_id": pid,
                        "origin_profile_id": pid,
                        "source_id": source_id,
                        "created_at": now,
                    }
                )
        yield chunk


def _source(conn: Connection, name: str) -> str:
    found = conn.execute(select(sources.c.id).where(sources.c.name == name)).scalar()
    if found is None:
        raise RuntimeError(f"no source named {name!r} to attribute the seeded identifiers to")
    return str(found)


def _seed_sqlite(engine: Engine, chunks: Iterator[_Chunk], advance: Callable[[int], None]) -> None:
    with write_tx(engine) as conn:
        for chunk in chunks:
            conn.execute(insert(profiles), chunk.profiles)
            conn.execute(insert(identities), chunk.identities)
            advance(len(chunk.profiles))
        conn.exec_driver_sql("ANALYZE")


def _seed_postgres(engine: Engine, chunks: Iterator[_Chunk], advance: Callable[[int], None]) -> None:
    raw = engine.raw_connection()
    try:
        pg = raw.driver_connection
        assert pg is not None
        with pg.cursor() as cur:
            for chunk in chunks:
                with cur.copy(f"COPY profiles ({', '.join(PROFILE_COLUMNS)}) FROM STDIN") as copy:
                    for row in chunk.profiles:
                        copy.write_row(
                            [
                                orjson.dumps(row[c]).decode() if c in ("traits", "stats") else row[c]
                                for c in PROFILE_COLUMNS
                            ]
                        )
                with cur.copy(f"COPY identities ({', '.join(IDENTITY_COLUMNS)}) FROM STDIN") as copy:
                    for row in chunk.identities:
                        copy.write_row([row[c] for c in IDENTITY_COLUMNS])
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
        chunks = _chunks(count, source_id, source_name, datetime.now(UTC))
        if engine.dialect.name == "postgresql":
            _seed_postgres(engine, chunks, advance)
        else:
            _seed_sqlite(engine, chunks, advance)
        return SeedResult(count, 2 * count, time.perf_counter() - started)
    finally:
        engine.dispose()
