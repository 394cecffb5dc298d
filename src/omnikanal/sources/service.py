"""Use cases for sources: create, list, disable, rotate the write key, authenticate a write key."""

from __future__ import annotations

import threading
import time

from sqlalchemy import Engine

from omnikanal.clock import Clock
from omnikanal.db.engine import read_tx, write_tx
from omnikanal.errors import Conflict, Forbidden, InvalidInput, NotFound, Unauthorized
from omnikanal.ids import hash_secret, new_id, new_secret
from omnikanal.sources import store
from omnikanal.sources.model import CHANNELS, Source

# How long a write key's source is trusted from memory before it is read again. Disabling or rotating
# in this process takes effect at once; in another process after at most this long.
AUTH_CACHE_SECONDS = 2.0


class SourceService:
    def __init__(self, engine: Engine, clock: Clock) -> None:
        self._engine = engine
        self._clock = clock
        self._cache: dict[str, tuple[float, Source | None]] = {}
        self._lock = threading.Lock()

    def create(self, name: str, channel: str) -> tuple[Source, str]:
        """Create a source; returns it with its write key, which is shown only this once."""
        name = name.strip()
        if not name or len(name) > 200:
            raise InvalidInput("invalid_name", "name must be 1 to 200 characters", "name")
        if channel not in CHANNELS:
            raise InvalidInput("invalid_channel", f"channel must be one of: {', '.join(CHANNELS)}", "channel")
        key = new_secret("wk")
        source = Source(
            id=new_id("src"),
            name=name,
            channel=channel,
            enabled=True,
            created_at=self._clock.now(),
            key_rotated_at=None,
        )
        with write_tx(self._engine) as conn:
            if store.by_name(conn, name) is not None:
                raise Conflict("source_exists", f"a source named {name!r} exists already", "name")
            store.insert_source(conn, source, hash_secret(key))
        return source, key

    def list(self) -> list[Source]:
        with read_tx(self._engine) as conn:
            return store.all_sources(conn)

    def get(self, ref: str) -> Source:
        """A source by id or by name."""
        with read_tx(self._engine) as conn:
            source = store.by_id(conn, ref) or store.by_name(conn, ref)
        if source is None:
            raise NotFound("source_not_found", f"no source {ref!r}")
        return source

    def set_enabled(self, ref: str, enabled: bool) -> Source:
        source = self.get(ref)
        with write_tx(self._engine) as conn:
            store.set_enabled(conn, source.id, enabled)
        self._forget()
        return self.get(source.id)

    def rotate_key(self, ref: str) -> tuple[Source, str]:
        """Give the source a new write key; the old one stops working."""
        source = self.get(ref)
        key = new_secret("wk")
        with write_tx(self._engine) as conn:
            store.set_key(conn, source.id, hash_secret(key), self._clock.now())
        self._forget()
        return self.get(source.id), key

    def cached(self, write_key: str | None) -> Source | None:
        """The enabled source of a write key checked moments ago (no database read); else None."""
        if not write_key:
            return None
        cached = self._cache.get(hash_secret(write_key))
        if cached is None or time.monotonic() - cached[0] >= AUTH_CACHE_SECONDS:
            return None
        source = cached[1]
        return source if source is not None and source.enabled else None

    def authenticate(self, write_key: str | None) -> Source:
        """The enabled source a write key belongs to, or an error saying why not."""
        if not write_key:
            raise Unauthorized(
                "missing_write_key",
                "no write key: send it as the HTTP Basic user name or as writeKey in the body",
            )
        key_hash = hash_secret(write_key)
        now = time.monotonic()
        cached = self._cache.get(key_hash)
        if cached is not None and now - cached[0] < AUTH_CACHE_SECONDS:
            source = cached[1]
        else:
            with read_tx(self._engine) as conn:
                source = store.by_key_hash(conn, key_hash)
            with self._lock:
                if len(self._cache) > 10_000:
                    self._cache.clear()
                self._cache[key_hash] = (now, source)
        if source is None:
            raise Unauthorized("invalid_write_key", "the write key is not known")
        if not source.enabled:
            raise Forbidden("source_disabled", f"the source {source.name!r} is disabled")
        return source

    def _forget(self) -> None:
        with self._lock:
            self._cache.clear()
