"""API tokens: create, list, revoke, authenticate a bearer token."""

from __future__ import annotations

import threading
import time

from sqlalchemy import Engine

from omnikanal.auth import store
from omnikanal.auth.model import ROLES, ApiToken, Permission, Principal, store_binding_error
from omnikanal.clock import Clock
from omnikanal.db.engine import read_tx, write_tx
from omnikanal.errors import Forbidden, InvalidInput, NotFound, Unauthorized
from omnikanal.ids import hash_secret, new_id, new_secret

AUTH_CACHE_SECONDS = 2.0


class TokenService:
    def __init__(self, engine: Engine, clock: Clock) -> None:
        self._engine = engine
        self._clock = clock
        self._cache: dict[str, tuple[float, ApiToken | None]] = {}
        self._lock = threading.Lock()

    def create(self, name: str, role: str, store_id: str | None = None) -> tuple[ApiToken, str]:
        """Create a token; the secret is returned only this once."""
        name = name.strip()
        if not name or len(name) > 200:
            raise InvalidInput("invalid_name", "name must be 1 to 200 characters", "name")
        if role not in ROLES:
            raise InvalidInput("invalid_role", f"role must be one of: {', '.join(ROLES)}", "role")
        store_id = (store_id or "").strip() or None
        problem = store_binding_error(role, store_id)
        if problem is not None:
            raise InvalidInput("store_required" if role == "store" else "store_not_allowed", problem, "store")
        secret = new_secret("ok")
        token = ApiToken(new_id("tok"), name, role, self._clock.now(), None, store_id)
        with write_tx(self._engine) as conn:
            store.insert_token(conn, token, hash_secret(secret))
        return token, secret

    def list(self) -> list[ApiToken]:
        with read_tx(self._engine) as conn:
            return store.all_tokens(conn)

    def revoke(self, ref: str) -> None:
        """Revoke a token by id or name."""
        with write_tx(self._engine) as conn:
            if store.revoke(conn, ref, self._clock.now()) == 0:
                raise NotFound("token_not_found", f"no active token {ref!r}")
        with self._lock:
            self._cache.clear()

    def cached(self, secret: str | None) -> Principal | None:
        """The principal if the token was checked moments ago (no database read); else None."""
        if not secret:
            return None
        cached = self._cache.get(hash_secret(secret))
        if cached is None or time.monotonic() - cached[0] >= AUTH_CACHE_SECONDS:
            return None
        token = cached[1]
        if token is None or token.revoked_at is not None or store_binding_error(token.role, token.store_id):
            return None
        return Principal(token.id, token.name, token.role, store_id=token.store_id)

    def authenticate(self, secret: str | None) -> Principal:
        if not secret:
            raise Unauthorized("missing_token", "send an API token as 'Authorization: Bearer <token>'")
        key = hash_secret(secret)
        now = time.monotonic()
        cached = self._cache.get(key)
        if cached is not None and now - cached[0] < AUTH_CACHE_SECONDS:
            token = cached[1]
        else:
            with read_tx(self._engine) as conn:
                token = store.by_hash(conn, key)
            with self._lock:
                self._cache[key] = (now, token)
        if token is None or token.revoked_at is not None:
            raise Unauthorized("invalid_token", "the API token is unknown or revoked")
        if store_binding_error(token.role, token.store_id) is not None:
            # A store token made before the store was required would pass every own-store check.
            raise Unauthorized("token_needs_store", "this store token has no store; create one with --store")
        return Principal(token.id, token.name, token.role, store_id=token.store_id)

    @staticmethod
    def require(principal: Principal, permission: Permission) -> None:
        if not principal.may(permission):
            raise Forbidden(
                "forbidden", f"the role {principal.role!r} may not do this (needs {permission.value})"
            )
