"""Staff users: create, list, disable; log in and out; the session behind a console cookie."""

from __future__ import annotations

import hmac
import secrets
from datetime import timedelta

from sqlalchemy import Connection, Engine

from omnikanal.clock import Clock
from omnikanal.db.engine import read_tx, run_write
from omnikanal.errors import Conflict, InvalidInput, NotFound, TooManyRequests, Unauthorized
from omnikanal.ids import hash_secret, new_id
from omnikanal.settings import Settings
from omnikanal.staff import store
from omnikanal.staff.model import Session, StaffUser, check_password, check_role, check_username
from omnikanal.staff.passwords import hash_password, needs_rehash, verify_password


class StaffService:
    def __init__(self, engine: Engine, clock: Clock, settings: Settings) -> None:
        self._engine = engine
        self._clock = clock
        self._session_length = timedelta(hours=settings.console_session_hours)
        self._window = timedelta(seconds=settings.console_login_window_seconds)
        self._max_failures = settings.console_login_max_failures
        self._max_failures_ip = settings.console_login_max_failures_per_ip
        self._min_password = settings.console_password_min_length

    # -- users -----------------------------------------------------------------------------------

    def create_user(self, username: str, role: str, password: str, store_id: str | None = None) -> StaffUser:
        name = check_username(username)
        store_id = (store_id or "").strip() or None
        check_role(role, store_id)
        check_password(password, self._min_password)
        user = StaffUser(new_id("usr"), name, role, store_id, False, self._clock.now())
        # Hashing takes tens of milliseconds: outside the write transaction.
        password_hash = hash_password(password)

        def work(conn: Connection) -> None:
            if store.user_exists(conn, name):
                raise Conflict("username_taken", f"a user {name!r} exists already", "username")
            store.insert_user(conn, user, password_hash)

        run_write(self._engine, work)
        return user

    def users(self) -> list[StaffUser]:
        with read_tx(self._engine) as conn:
            return store.all_users(conn)

    def set_disabled(self, username: str, disabled: bool) -> None:
        """Disable (or enable) a user; disabling ends their sessions at once."""
        name = username.strip().lower()

        def work(conn: Connection) -> None:
            user_id = store.set_disabled(conn, name, disabled, self._clock.now())
            if user_id is None:
                raise NotFound("user_not_found", f"no user {name!r}", "username")
            if disabled:
                store.delete_sessions_of(conn, user_id)

        run_write(self._engine, work)

    # -- login -----------------------------------------------------------------------------------

    def login(self, username: str, password: str, ip: str) -> tuple[str, Session]:
        """A new session (its cookie secret and the session), or 401; 429 past the failure limit."""
        name = username.strip().lower()[:100]
        if not name:
            raise InvalidInput("missing_username", "username is required", "username")
        if len(password) > 1000:
            raise Unauthorized("invalid_login", "unknown user name or wrong password")
        now = self._clock.now()

        # The attempt counts as a failure before the password is checked, in one transaction with
        # the count (serialised by a lock): parallel guesses cannot all pass a count of zero. A
        # right password then takes its attempt back (clear_failures).
        def attempt(conn: Connection) -> tuple[StaffUser, str] | None:
            store.lock_logins(conn)
            by_name, by_ip = store.failures(conn, name, ip, now - self._window)
            if by_name >= self._max_failures or by_ip >= self._max_failures_ip:
                raise TooManyRequests(
                    "too_many_failures", "too many failed logins; wait a few minutes and try again"
                )
            store.add_failure(conn, name, ip, now)
            return store.user_with_hash(conn, name)

        found = run_write(self._engine, attempt)
        ok = verify_password(found[1] if found else None, password)
        if not ok or found is None or found[0].disabled:
            raise Unauthorized("invalid_login", "unknown user name or wrong password")
        user, current_hash = found
        secret = secrets.token_urlsafe(32)
        csrf = secrets.token_urlsafe(32)
        expires = now + self._session_length
        rehashed = hash_password(password) if needs_rehash(current_hash) else None

        def work(conn: Connection) -> None:
            store.insert_session(conn, hash_secret(secret), user.id, csrf, now, expires)
            store.clear_failures(conn, name)
            store.delete_expired(conn, now, now - self._window)
            if rehashed is not None:
                store.set_hash(conn, user.id, rehashed, now)

        run_write(self._engine, work)
        return secret, Session(user, csrf, expires)

    def session(self, secret: str | None) -> Session | None:
        if not secret or len(secret) > 200:
            return None
        with read_tx(self._engine) as conn:
            found = store.session(conn, hash_secret(secret), self._clock.now())
        if found is None:
            return None
        return Session(found[0], found[1], found[2])

    def logout(self, secret: str | None) -> None:
        if secret:
            run_write(self._engine, lambda conn: store.delete_session(conn, hash_secret(secret)))

    @staticmethod
    def csrf_ok(session: Session, sent: str | None) -> bool:
        return bool(sent) and hmac.compare_digest(session.csrf_token, sent or "")
