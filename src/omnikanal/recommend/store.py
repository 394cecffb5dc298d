"""SQL for the recommend capability's tables."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, delete, func, insert, select, update

from omnikanal.recommend.tables import (
    recommend_interactions,
    recommend_item_factors,
    recommend_models,
    recommend_popular,
    recommend_user_factors,
)

i = recommend_interactions.c
CHUNK = 500
# Rows read per round while training: the whole history never sits in one result list.
PAGE = 50_000


def add_interactions(conn: Connection, rows: list[dict[str, Any]]) -> None:
    if rows:
        conn.execute(insert(recommend_interactions), rows)


def interactions(
    conn: Connection, since: datetime | None, until: datetime | None = None
) -> Iterator[Row[Any]]:
    """Every interaction in [since, until), by id, page after page (keyset)."""
    after = 0
    while True:
        stmt = select(i.id, i.profile_id, i.sku, i.product_id, i.kind, i.weight, i.store_id, i.at).where(
            i.id > after
        )
        if since is not None:
            stmt = stmt.where(i.at >= since)
        if until is not None:
            stmt = stmt.where(i.at < until)
        rows: list[Row[Any]] = list(conn.execute(stmt.order_by(i.id).limit(PAGE)))
        yield from rows
        if len(rows) < PAGE:
            return
        after = rows[-1].id


def count_interactions(conn: Connection) -> int:
    return int(conn.execute(select(func.count()).select_from(recommend_interactions)).scalar_one())


def history(conn: Connection, profile_ids: Sequence[str]) -> list[Row[Any]]:
    """A customer's interactions (under every id they had), newest first, at most 1,000."""
    return list(
        conn.execute(
            select(i.sku, i.product_id, i.kind, i.weight, i.quantity, i.at)
            .where(i.profile_id.in_(list(profile_ids)))
            .order_by(i.at.desc())
            .limit(1000)
        )
    )


def new_model(
    conn: Connection, trained_at: datetime, algorithm: str, params: dict[str, Any], figures: dict[str, Any]
) -> int:
    result = conn.execute(
        insert(recommend_models)
        .values(trained_at=trained_at, algorithm=algorithm, params=params, figures=figures, ready=False)
        .returning(recommend_models.c.version)
    )
    return int(result.scalar_one())


def mark_ready(conn: Connection, version: int) -> None:
    conn.execute(update(recommend_models).where(recommend_models.c.version == version).values(ready=True))


def latest_model(conn: Connection) -> Row[Any] | None:
    """The model in force: the newest one whose factors are all written."""
    m = recommend_models.c
    return conn.execute(
        select(recommend_models).where(m.ready.is_(True)).order_by(m.version.desc()).limit(1)
    ).first()


def models(conn: Connection, limit: int = 20) -> list[Row[Any]]:
    return list(
        conn.execute(select(recommend_models).order_by(recommend_models.c.version.desc()).limit(limit))
    )


def add_user_factors(conn: Connection, version: int, rows: list[tuple[str, bytes]]) -> None:
    for start in range(0, len(rows), CHUNK):
        conn.execute(
            insert(recommend_user_factors),
            [
                {"model_version": version, "profile_id": p, "factors": f}
                for p, f in rows[start : start + CHUNK]
            ],
        )


def add_item_factors(conn: Connection, version: int, rows: list[tuple[str, bytes]]) -> None:
    for start in range(0, len(rows), CHUNK):
        conn.execute(
            insert(recommend_item_factors),
            [
                {"model_version": version, "product_id": p, "factors": f}
                for p, f in rows[start : start + CHUNK]
            ],
        )


def add_popular(conn: Connection, version: int, rows: list[tuple[str, str, float]]) -> None:
    for start in range(0, len(rows), CHUNK):
        conn.execute(
            insert(recommend_popular),
            [
                {"model_version": version, "scope": s, "product_id": p, "score": v}
                for s, p, v in rows[start : start + CHUNK]
            ],
        )


def drop_models_before(conn: Connection, version: int) -> None:
    """Older models' factors and lists go: only the newest is used (their figures stay)."""
    for table in (recommend_user_factors, recommend_item_factors, recommend_popular):
        conn.execute(delete(table).where(table.c.model_version < version))


def user_factors(conn: Connection, version: int, profile_id: str) -> bytes | None:
    u = recommend_user_factors.c
    value = conn.execute(
        select(u.factors).where(u.model_version == version, u.profile_id == profile_id)
    ).scalar_one_or_none()
    return bytes(value) if value is not None else None


def item_factors(conn: Connection, version: int) -> list[Row[Any]]:
    t = recommend_item_factors.c
    return list(
        conn.execute(select(t.product_id, t.factors).where(t.model_version == version).order_by(t.product_id))
    )


def popular(conn: Connection, version: int) -> list[Row[Any]]:
    p = recommend_popular.c
    return list(
        conn.execute(
            select(p.scope, p.product_id, p.score)
            .where(p.model_version == version)
            .order_by(p.scope, p.score.desc(), p.product_id)
        )
    )


# -- erasure ------------------------------------------------------------------------------------


def personal_rows(conn: Connection, profile_ids: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
    ids = list(profile_ids)
    return {
        "interactions": [
            {"sku": r.sku, "product_id": r.product_id, "kind": r.kind, "quantity": r.quantity, "at": r.at}
            for r in conn.execute(
                select(i.sku, i.product_id, i.kind, i.quantity, i.at)
                .where(i.profile_id.in_(ids))
                .order_by(i.id)
            )
        ],
        "models_with_factors": [
            {"model_version": v}
            for v in conn.execute(
                select(recommend_user_factors.c.model_version)
                .where(recommend_user_factors.c.profile_id.in_(ids))
                .distinct()
            ).scalars()
        ],
    }


def erase(conn: Connection, profile_ids: Sequence[str]) -> int:
    ids = list(profile_ids)
    count = conn.execute(delete(recommend_interactions).where(i.profile_id.in_(ids))).rowcount
    u = recommend_user_factors.c
    return count + conn.execute(delete(recommend_user_factors).where(u.profile_id.in_(ids))).rowcount
