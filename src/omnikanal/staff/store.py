"""SQL for staff users, sessions and failed logins."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, text, update

from omnikanal.staff.model import StaffUser
from omnikanal.staff.tables import staff_login_failures, staff_sessions, staff_users

u = staff_users.c
s = staff_sessions.c
f = staff_login_failures.c
_COLS = (u.id, u.username, u.role, u.store_id, u.disabled, u.created_at)


def _user(row: Any) -> StaffUser:
    return StaffUser(row.id, row.username, row.role, row.store_id, bool(row.disabled), row.created_at)


def insert_user(conn: Connection, user: StaffUser, password_hash: str) -> None:
    conn.execute(
        insert(staff_users).values(
            id=user.id,
            username=user.username,
            password_hash=password_hash,
            role=user.role,
            store_id=user.store_id,
            disabled=user.disabled,
            created_at=user.created_at,
            updated_at=user.created_at,
        )
    )


def user_exists(conn: Connection, username: str) -> bool:
    return conn.execute(select(u.id).where(u.username == username)).first() is not None


def all_users(conn: Connection) -> list[StaffUser]:
    return [_user(r) for r in conn.execute(select(*_COLS).order_by(u.username))]


def user_with_hash(conn: Connection, username: str) -> tuple[StaffUser, str] | None:
    row = conn.execute(select(*_COLS, u.password_hash).where(u.username == username)).first()
    return (_user(row), row.password_hash) if row else None


def set_hash(conn: Connection, user_id: str, password_hash: str, now: datetime) -> None:
    conn.execute(
        update(staff_users).where(u.id == user_id).values(password_hash=password_hash, updated_at=now)
    )


def set_disabled(conn: Connection, username: str, disabled: bool, now: datetime) -> str | None:
    row = conn.execute(select(u.id).where(u.username == username)).first()
    if row is None:
        return None
    conn.execute(update(staff_users).where(u.id == row.id).values(disabled=disabled, updated_at=now))
    return str(row.id)


def insert_session(
    conn: Connection, id_hash: str, user_id: str, csrf: str, now: datetime, expires: datetime
) -> None:
    conn.execute(
        insert(staff_sessions).values(
            id_hash=id_hash, user_id=user_id, csrf_token=csrf, created_at=now, expires_at=expires
        )
    )


def session(conn: Connection, id_hash: str, now: datetime) -> tuple[StaffUser, str, datetime] | None:
    """The user and CSRF token of a session that has not expired and whose user is not disabled."""
    row = conn.execute(
        select(*_COLS, s.csrf_token, s.expires_at)
        .join(staff_users, u.id == s.user_id)
        .where(s.id_hash == id_hash, s.expires_at > now, u.disabled.is_(False))
    ).first()
    return (_user(row), row.csrf_token, row.expires_at) if row else None


def delete_session(conn: Connection, id_hash: str) -> None:
    conn.execute(delete(staff_sessions).where(s.id_hash == id_hash))


def delete_sessions_of(conn: Connection, user_id: str) -> None:
    conn.execute(delete(staff_sessions).where(s.user_id == user_id))


def delete_expired(conn: Connection, now: datetime, failures_before: datetime) -> None:
    conn.execute(delete(staff_sessions).where(s.expires_at <= now))
    conn.execute(delete(staff_login_failures).where(f.at < failures_before))


# Any constant: the advisory lock that serialises the login attempts' count-and-record on PostgreSQL.
_LOGIN_LOCK = 0x4F4B4C47


def lock_logins(conn: Connection) -> None:
    """Serialise login attempts until the transaction ends (SQLite's writer already is one at a time)."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOGIN_LOCK})


def add_failure(conn: Connection, username: str, ip: str, now: datetime) -> None:
    conn.execute(insert(staff_login_failures).values(username=username, ip=ip, at=now))


def failures(conn: Connection, username: str, ip: str, since: datetime) -> tuple[int, int]:
    """Failed logins since a time: for the user name, and from the address."""
    by_name = conn.execute(
        select(func.count()).select_from(staff_login_failures).where(f.username == username, f.at >= since)
    ).scalar_one()
    by_ip = conn.execute(
        select(func.count()).select_from(staff_login_failures).where(f.ip == ip, f.at >= since)
    ).scalar_one()
    return int(by_name), int(by_ip)


def clear_failures(conn: Connection, username: str) -> None:
    conn.execute(delete(staff_login_failures).where(f.username == username))
