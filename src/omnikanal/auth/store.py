"""SQL for API tokens."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update

from omnikanal.auth.model import ApiToken
from omnikanal.auth.tables import api_token_stores, api_tokens

_COLS = (
    api_tokens.c.id,
    api_tokens.c.name,
    api_tokens.c.role,
    api_tokens.c.created_at,
    api_tokens.c.revoked_at,
)


def _row(row: Any) -> ApiToken:
    return ApiToken(row.id, row.name, row.role, row.created_at, row.revoked_at, row.store_id)


_WITH_STORE = api_tokens.outerjoin(api_token_stores, api_token_stores.c.token_id == api_tokens.c.id)


def insert_token(conn: Connection, token: ApiToken, token_hash: str) -> None:
    conn.execute(
        insert(api_tokens).values(
            id=token.id, name=token.name, role=token.role, token_hash=token_hash, created_at=token.created_at
        )
    )
    if token.store_id is not None:
        conn.execute(insert(api_token_stores).values(token_id=token.id, store_id=token.store_id))


def by_hash(conn: Connection, token_hash: str) -> ApiToken | None:
    row = conn.execute(
        select(*_COLS, api_token_stores.c.store_id)
        .select_from(_WITH_STORE)
        .where(api_tokens.c.token_hash == token_hash)
    ).first()
    return _row(row) if row else None


def all_tokens(conn: Connection) -> list[ApiToken]:
    stmt = select(*_COLS, api_token_stores.c.store_id).select_from(_WITH_STORE)
    return [_row(r) for r in conn.execute(stmt.order_by(api_tokens.c.created_at))]


def revoke(conn: Connection, ref: str, at: datetime) -> int:
    stmt = (
        update(api_tokens)
        .where((api_tokens.c.id == ref) | (api_tokens.c.name == ref))
        .where(api_tokens.c.revoked_at.is_(None))
        .values(revoked_at=at)
    )
    return conn.execute(stmt).rowcount
