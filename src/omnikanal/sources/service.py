"""Use cases for sources: create, list, disable, rotate the write key, authenticate a write key."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence

from sqlalchemy import Connection, Engine

from omnikanal.clock import Clock
from omnikanal.db.engine import read_tx, write_tx
from omnikanal.errors import Conflict, Forbidden, InvalidInput, NotFound, Unauthorized
from omnikanal.ids import hash_secret, new_id, new_secret
from omnikanal.sources import store
from omnikanal.sources.cors import normalise_origins
from omnikanal.sources.model import CHANNELS, IP_POLICIES, Source

# How long a write key's source is trusted from memory before it is read again. Disabling or rotating
# in this process takes effect at once; in another process after at most this long.
AUTH_CACHE_SECONDS = 2.0


class SourceService:
    def __init__(self, engine: Engine, clock: Clock) -> None:
        self._engine = engine
        self._clock = clock
        self._cache: dict[str, tuple[float, Source | None]] = {}
        self._lock = threading.Lock()
        # every origin a source allows, and when it was read (for preflights)
        self._origins: tuple[float, frozenset[str]] = (-AUTH_CACHE_SECONDS, frozenset())

    def create(
        self,
        name: str,
        channel: str,
        *,
        allowed_origins: Sequence[str] = (),
        public: bool | None = None,
        ip_policy: str | None = None,
    ) -> tuple[Source, str]:
        """Create a source; returns it with its write key, which is shown only this once.

        A source with browser origins is public (rate limited per client address) and truncates IP
        addresses unless told otherwise: privacy by default for what a visitor's browser sends.
        """
        origins = normalise_origins(allowed_origins)
        public = bool(origins) if public is None else public
        ip_policy = _ip_policy(ip_policy if ip_policy is not None else ("truncate" if public else "keep"))
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
            allowed_origins=origins,
            public=public,
            ip_policy=ip_policy,
        )
        with write_tx(self._engine) as conn:
            if store.by_name(conn, name) is not None:
                raise Conflict("source_exists", f"a source named {name!r} exists already", "name")
            store.insert_source(conn, source, hash_secret(key))
        self._forget()  # its origins pass preflights at once
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

    def set_browser(
        self,
        ref: str,
        *,
        allowed_origins: Sequence[str] | None = None,
        public: bool | None = None,
        ip_policy: str | None = None,
    ) -> Source:
        """Change what a source allows browsers (origins, public key, IP policy); None keeps a value."""
        source = self.get(ref)
        origins = source.allowed_origins if allowed_origins is None else normalise_origins(allowed_origins)
        with write_tx(self._engine) as conn:
            store.set_browser(
                conn,
                source.id,
                origins,
                source.public if public is None else public,
                source.ip_policy if ip_policy is None else _ip_policy(ip_policy),
            )
        self._forget()
        return self.get(source.id)

    def origins_cached(self) -> frozenset[str] | None:
        """Every origin a source allows, as read moments ago; None when it must be read."""
        read_at, origins = self._origins
        return origins if time.monotonic() - read_at < AUTH_CACHE_SECONDS else None

    def all_origins(self) -> frozenset[str]:
        """Every origin a source allows (a preflight carries no write key to find its source)."""
        cached = self.origins_cached()
        if cached is not None:
            return cached
        now = time.monotonic()
        with read_tx(self._engine) as conn:
            origins = frozenset(store.all_origins(conn))
        self._origins = (now, origins)
        return origins

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
            self._origins = (-AUTH_CACHE_SECONDS, frozenset())


def _ip_policy(value: str) -> str:
    if value not in IP_POLICIES:
        raise InvalidInput(
            "invalid_ip_policy", f"ip_policy must be one of: {', '.join(IP_POLICIES)}", "ip_policy"
        )
    return value


def source_names(conn: Connection) -> dict[str, str]:
    """source id -> name, of every source, in the caller's transaction (timelines, exports)."""
    return store.names(conn)
