"""SQL for the sources table."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update

from omnikanal.sources.model import Source
from omnikanal.sources.tables import sources

_COLUMNS = (
    sources.c.id,
    sources.c.name,
    sources.c.channel,
    sources.c.enabled,
    sources.c.created_at,
    sources.c.key_rotated_at,
    sources.c.allowed_origins,
    sources.c.public,
    sources.c.ip_policy,
)


def _row(row: Any) -> Source:
    return Source(
        id=row.id,
        name=row.name,
        channel=row.channel,
        enabled=bool(row.enabled),
        created_at=row.created_at,
        key_rotated_at=row.key_rotated_at,
        allowed_origins=tuple(row.allowed_origins or ()),
        public=bool(row.public),
        ip_policy=row.ip_policy,
    )


def insert_source(conn: Connection, source: Source, key_hash: str) -> None:
    conn.execute(
        insert(sources).values(
            id=source.id,
            name=source.name,
            channel=source.channel,
            write_key_hash=key_hash,
            enabled=source.enabled,
            created_at=source.created_at,
            key_rotated_at=None,
            allowed_origins=list(source.allowed_origins),
            public=source.public,
            ip_policy=source.ip_policy,
        )
    )


def by_id(conn: Connection, source_id: str) -> Source | None:
    row = conn.execute(select(*_COLUMNS).where(sources.c.id == source_id)).first()
    return _row(row) if row else None


def by_name(conn: Connection, name: str) -> Source | None:
    row = conn.execute(select(*_COLUMNS).where(sources.c.name == name)).first()
    return _row(row) if row else None


def by_key_hash(conn: Connection, key_hash: str) -> Source | None:
    row = conn.execute(select(*_COLUMNS).where(sources.c.write_key_hash == key_hash)).first()
    return _row(row) if row else None


def all_sources(conn: Connection) -> list[Source]:
    return [_row(r) for r in conn.execute(select(*_COLUMNS).order_by(sources.c.created_at, sources.c.name))]


def set_enabled(conn: Connection, source_id: str, enabled: bool) -> bool:
    return conn.execute(update(sources).where(sources.c.id == source_id).values(enabled=enabled)).rowcount > 0


def set_key(conn: Connection, source_id: str, key_hash: str, at: datetime) -> bool:
    result = conn.execute(
        update(sources).where(sources.c.id == source_id).values(write_key_hash=key_hash, key_rotated_at=at)
    )
    return result.rowcount > 0


def set_browser(
    conn: Connection, source_id: str, allowed_origins: tuple[str, ...], public: bool, ip_policy: str
) -> bool:
    result = conn.execute(
        update(sources)
        .where(sources.c.id == source_id)
        .values(allowed_origins=list(allowed_origins), public=public, ip_policy=ip_policy)
    )
    return result.rowcount > 0


def all_origins(conn: Connection) -> set[str]:
    """Every origin some source allows (answers preflights, which carry no write key).

    A disabled source's origins are among them, so its pages learn that it is disabled.
    """
    found: set[str] = set()
    rows = conn.execute(select(sources.c.allowed_origins))
    for (origins,) in rows:
        found.update(origins or ())
    return found


def names(conn: Connection) -> dict[str, str]:
    """source id -> name, of every source."""
    return {r.id: r.name for r in conn.execute(select(sources.c.id, sources.c.name))}
