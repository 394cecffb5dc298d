"""SQL for the matching tables."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, func, insert, or_, select, update

from omnikanal.db.engine import insert_ignoring_duplicates
from omnikanal.matching.card import FIELDS, Card, CardProblem
from omnikanal.matching.tables import matching_cards, matching_dirty, matching_models, matching_pairs

CHUNK = 400
# Columns of a card that blocking keys are read from in an incremental run.
KEYS = ("last_name", "birth_date", "email", "phone", "postcode")


def latest_model(conn: Connection) -> dict[str, Any] | None:
    row = conn.execute(
        select(matching_models)
        .order_by(matching_models.c.created_at.desc(), matching_models.c.id.desc())
        .limit(1)
    ).first()
    return dict(row._mapping) if row is not None else None


def save_model(conn: Connection, row: dict[str, Any]) -> None:
    conn.execute(insert(matching_models), [row])


def put_cards(conn: Connection, cards: Sequence[tuple[Card, list[CardProblem]]], now: datetime) -> None:
    ids = [c.profile_id for c, _ in cards]
    drop_cards(conn, ids)
    rows = [
        {**c.row(), "problems": [{"field": p.field, "reason": p.reason} for p in problems], "updated_at": now}
        for c, problems in cards
        if not c.empty
    ]
    for start in range(0, len(rows), CHUNK):
        conn.execute(insert(matching_cards), rows[start : start + CHUNK])


def drop_cards(conn: Connection, profile_ids: Iterable[str]) -> None:
    ids = list(profile_ids)
    for start in range(0, len(ids), CHUNK):
        conn.execute(
            delete(matching_cards).where(matching_cards.c.profile_id.in_(ids[start : start + CHUNK]))
        )


def _card_rows(rows: Iterable[Any]) -> list[dict[str, Any]]:
    return [{"profile_id": r.profile_id, **{f: getattr(r, f) for f in FIELDS}} for r in rows]


def all_cards(conn: Connection) -> list[dict[str, Any]]:
    cols = [matching_cards.c.profile_id, *(matching_cards.c[f] for f in FIELDS)]
    return _card_rows(conn.execute(select(*cols)))


def cards(conn: Connection, profile_ids: Sequence[str]) -> list[dict[str, Any]]:
    cols = [matching_cards.c.profile_id, *(matching_cards.c[f] for f in FIELDS)]
    out: list[dict[str, Any]] = []
    for start in range(0, len(profile_ids), CHUNK):
        chunk = list(profile_ids[start : start + CHUNK])
        out += _card_rows(conn.execute(select(*cols).where(matching_cards.c.profile_id.in_(chunk))))
    return out


def candidates(conn: Connection, new: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Cards sharing at least one blocking key with the new ones: a superset of Splink's pairs."""
    cols = [matching_cards.c.profile_id, *(matching_cards.c[f] for f in FIELDS)]
    found: dict[str, dict[str, Any]] = {}
    for key in KEYS:
        values = sorted({c[key] for c in new if c.get(key)})
        for start in range(0, len(values), CHUNK):
            stmt = select(*cols).where(matching_cards.c[key].in_(values[start : start + CHUNK]))
            for row in _card_rows(conn.execute(stmt)):
                found[row["profile_id"]] = row
    return list(found.values())


def name_counts(conn: Connection, fields: Sequence[str]) -> tuple[dict[str, Counter[str]], int]:
    """How often each name is held, over all cards (term frequencies)."""
    total = conn.execute(select(func.count()).select_from(matching_cards)).scalar_one()
    counts: dict[str, Counter[str]] = {}
    for field in fields:
        column = matching_cards.c[field]
        stmt = select(column, func.count()).where(column.isnot(None)).group_by(column)
        counts[field] = Counter({value: n for value, n in conn.execute(stmt)})
    return counts, int(total)


def mark_dirty(conn: Connection, profile_ids: Iterable[str], now: datetime) -> None:
    rows = [{"profile_id": p, "marked_at": now} for p in sorted(set(profile_ids))]
    insert_ignoring_duplicates(conn, matching_dirty, rows)


def dirty(conn: Connection, limit: int) -> list[str]:
    stmt = select(matching_dirty.c.profile_id).order_by(matching_dirty.c.marked_at).limit(limit)
    return [r.profile_id for r in conn.execute(stmt)]


def clear_dirty(conn: Connection, profile_ids: Sequence[str], before: datetime) -> None:
    # A profile marked again while it was being matched stays marked.
    for start in range(0, len(profile_ids), CHUNK):
        conn.execute(
            delete(matching_dirty).where(
                matching_dirty.c.profile_id.in_(list(profile_ids[start : start + CHUNK])),
                matching_dirty.c.marked_at <= before,
            )
        )


def decided(conn: Connection, pairs: Iterable[tuple[str, str]]) -> set[tuple[str, str]]:
    wanted = sorted(set(pairs))
    ids = sorted({p for pair in wanted for p in pair})
    found: set[tuple[str, str]] = set()
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        stmt = select(matching_pairs.c.profile_a, matching_pairs.c.profile_b).where(
            or_(matching_pairs.c.profile_a.in_(chunk), matching_pairs.c.profile_b.in_(chunk))
        )
        found |= {(r.profile_a, r.profile_b) for r in conn.execute(stmt)}
    return found & set(wanted)


def add_pair(conn: Connection, row: dict[str, Any]) -> None:
    insert_ignoring_duplicates(conn, matching_pairs, [row])


def pair(conn: Connection, pair_id: str) -> dict[str, Any] | None:
    row = conn.execute(select(matching_pairs).where(matching_pairs.c.id == pair_id)).first()
    return dict(row._mapping) if row is not None else None


def set_pair(conn: Connection, pair_id: str, **values: Any) -> None:
    conn.execute(update(matching_pairs).where(matching_pairs.c.id == pair_id).values(**values))


def pairs(conn: Connection, status: str, limit: int, offset: int) -> list[dict[str, Any]]:
    stmt = (
        select(matching_pairs)
        .where(matching_pairs.c.status == status)
        .order_by(matching_pairs.c.probability.desc(), matching_pairs.c.id)
        .limit(limit)
        .offset(offset)
    )
    return [dict(r._mapping) for r in conn.execute(stmt)]


def pair_counts(conn: Connection) -> dict[str, int]:
    stmt = select(matching_pairs.c.status, func.count()).group_by(matching_pairs.c.status)
    return {status: int(n) for status, n in conn.execute(stmt)}


def export(conn: Connection, profile_ids: Sequence[str]) -> dict[str, Any]:
    ids = list(profile_ids)
    pair_rows = conn.execute(
        select(matching_pairs).where(
            or_(matching_pairs.c.profile_a.in_(ids), matching_pairs.c.profile_b.in_(ids))
        )
    )
    return {
        "matching_cards": cards(conn, ids),
        "matching_pairs": [
            {k: v for k, v in r._mapping.items() if k not in ("created_at", "decided_at")} for r in pair_rows
        ],
    }


def erase(conn: Connection, profile_ids: Sequence[str]) -> int:
    ids = list(profile_ids)
    removed = 0
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        for stmt in (
            delete(matching_cards).where(matching_cards.c.profile_id.in_(chunk)),
            delete(matching_dirty).where(matching_dirty.c.profile_id.in_(chunk)),
            delete(matching_pairs).where(
                or_(matching_pairs.c.profile_a.in_(chunk), matching_pairs.c.profile_b.in_(chunk))
            ),
        ):
            removed += conn.execute(stmt).rowcount or 0
    return removed
