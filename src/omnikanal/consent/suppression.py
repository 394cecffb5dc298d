"""The suppression list: salted hashes of identifiers that must not be stored again or contacted.

An erased person's identifiers land here, so an event that arrives later with their email is
dropped (and counted) instead of re-creating them; bounced or complaining addresses land here so no
sender uses them. Only a keyed hash is kept: the list cannot be read back into addresses.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import threading
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, select, update

from omnikanal.consent.tables import hub_meta, suppressions
from omnikanal.db.engine import insert_ignoring_duplicates, read_tx, write_tx
from omnikanal.db.fast import Raw
from omnikanal.profiles.identity.model import Identifier, IdentityRules, normalise

SALT_KEY = "suppression_salt"
CHUNK = 500


class SuppressionList:
    def __init__(self, engine: Engine, rules: IdentityRules) -> None:
        self._engine = engine
        self._rules = rules
        self._salt: bytes | None = None
        self._keyed: hmac.HMAC | None = None
        self._lock = threading.Lock()

    def _key(self) -> bytes:
        if self._salt is None:
            with self._lock:
                if self._salt is None:
                    self._salt = self._load_salt()
        return self._salt

    def _load_salt(self) -> bytes:
        # The salt is per installation and lives in the database (made by migration 0002), so every
        # process hashes alike and rotating the signing secret does not forget who was erased. Read on
        # its own connection: a WAL reader never waits for the writer that may be calling us.
        with read_tx(self._engine) as conn:
            found = conn.execute(select(hub_meta.c.value).where(hub_meta.c.key == SALT_KEY)).scalar()
        if found is None:
            with write_tx(self._engine) as conn:
                insert_ignoring_duplicates(conn, hub_meta, [{"key": SALT_KEY, "value": os.urandom(32).hex()}])
                found = conn.execute(select(hub_meta.c.value).where(hub_meta.c.key == SALT_KEY)).scalar_one()
        return bytes.fromhex(found)

    def warm(self) -> None:
        """Read the salt now (a serving process does it at start, so no request waits on it)."""
        self._key()

    def hash(self, identifier_type: str, value: str) -> str:
        """The hash of an already normalised identifier."""
        keyed = self._keyed
        if keyed is None:
            # Keyed once: a copy of it skips the key schedule, a third of the cost of each hash,
            # and ingest hashes every identifier of every event.
            keyed = self._keyed = hmac.new(self._key(), digestmod=hashlib.sha256)
        digest = keyed.copy()
        digest.update(f"{identifier_type}\x00{value}".encode())
        return digest.hexdigest()

    def normalise(self, identifier_type: str, value: Any) -> str | None:
        return normalise(identifier_type, value, self._rules)

    def hash_raw(self, identifier_type: str, value: Any) -> str | None:
        """The hash of an identifier as a person would type it (normalised first), or None if junk."""
        normalised = self.normalise(identifier_type, value)
        return self.hash(identifier_type, normalised) if normalised else None

    def add(self, conn: Connection, identifiers: Iterable[Identifier], reason: str, now: datetime) -> int:
        rows = [
            {
                "hash": self.hash(t, v),
                "identifier_type": t,
                "reason": reason,
                "created_at": now,
                "dropped_events": 0,
                "last_dropped_at": None,
            }
            for t, v in set(identifiers)
        ]
        insert_ignoring_duplicates(conn, suppressions, rows)
        return len(rows)

    def present(self, conn: Connection, hashes: Iterable[str]) -> set[str]:
        """Which of these hashes are suppressed."""
        wanted = list(set(hashes))
        found: set[str] = set()
        raw = Raw(conn)
        # Driver-level SQL: this sits on the contact question's hot path, where building an
        # expanding IN through the ORM layer costs more than the index lookup itself.
        for start in range(0, len(wanted), CHUNK):
            chunk = wanted[start : start + CHUNK]
            sql = f"SELECT hash FROM suppressions WHERE hash IN ({raw.in_list(len(chunk))})"  # noqa: S608
            found.update(row[0] for row in raw.fetch(sql, chunk))
        return found

    def count_drops(self, conn: Connection, counts: dict[str, int], now: datetime) -> None:
        for hashed, count in counts.items():
            conn.execute(
                update(suppressions)
                .where(suppressions.c.hash == hashed)
                .values(dropped_events=suppressions.c.dropped_events + count, last_dropped_at=now)
            )

    def has_any(self, conn: Connection) -> bool:
        return conn.execute(select(suppressions.c.hash).limit(1)).first() is not None
