"""SQL for the next-best-channel tables (recommend's own): messages and reactions taken from the
event log, the scores per customer and channel, the channels' population rates."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, case, delete, exists, func, null, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from omnikanal.db.engine import insert_ignoring_duplicates
from omnikanal.recommend.tables import (
    recommend_channel_messages,
    recommend_channel_rates,
    recommend_channel_reactions,
    recommend_channel_scores,
    recommend_interactions,
)

from .channels import ANY_CHANNEL, PHONE_CHANNELS, SCORED, Counts

m = recommend_channel_messages.c
r = recommend_channel_reactions.c
s = recommend_channel_scores.c
i = recommend_interactions.c
CHUNK = 500
# times read per customer for the best hour, newest first
HOUR_ROWS = 1000


def add_messages(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Messages as they went out; one already known (its id) stays as it is."""
    insert_ignoring_duplicates(conn, recommend_channel_messages, rows)


def react(conn: Connection, message_id: str, kind: str, at: datetime) -> None:
    """The first direct reaction to a message (opened, clicked) is kept."""
    conn.execute(
        update(recommend_channel_messages)
        .where(m.message_id == message_id, m.reacted_at.is_(None))
        .values(reacted_at=at, reaction=kind)
    )


def add_reactions(conn: Connection, rows: list[dict[str, Any]]) -> None:
    if rows:
        conn.execute(recommend_channel_reactions.insert(), rows)


def _answers() -> Any:
    """A reaction row answers a message: a reply on its channel, a call (phone channels, NULL), a
    pick-up (any channel)."""
    return or_(
        r.channel == m.channel,
        r.channel == ANY_CHANNEL,
        and_(r.channel.is_(None), m.channel.in_(PHONE_CHANNELS)),
    )


def _acted() -> Any:
    """A message was acted on: a direct reaction, or a reply on its channel, a call (phone
    channels), or an interaction with products after it and before its window ends."""
    reply = exists().where(
        r.profile_id == m.profile_id,
        r.at > m.sent_at,
        r.at <= m.window_end,
        _answers(),
    )
    visit = exists().where(i.profile_id == m.profile_id, i.at > m.sent_at, i.at <= m.window_end, i.weight > 0)
    return or_(m.reacted_at.is_not(None), reply, visit)


def counts(conn: Connection, profile_ids: Sequence[str] | None) -> dict[str, dict[str, Counts]]:
    """profile id -> channel -> (messages, acted on); every customer when ``profile_ids`` is None."""
    stmt = select(m.profile_id, m.channel, func.count(), func.sum(case((_acted(), 1), else_=0))).group_by(
        m.profile_id, m.channel
    )
    out: dict[str, dict[str, Counts]] = {}
    chunks = (
        [None]
        if profile_ids is None
        else [list(profile_ids)[n : n + CHUNK] for n in range(0, len(profile_ids), CHUNK)]
    )
    for chunk in chunks:
        query = stmt if chunk is None else stmt.where(m.profile_id.in_(chunk))
        for pid, channel, sent, acted in conn.execute(query):
            out.setdefault(pid, {})[channel] = Counts(int(sent), int(acted or 0))
    return out


def history(conn: Connection) -> list[Any]:
    """Every message with whether (and when first) it was acted on, in time order (evaluation)."""
    first_reply = (
        select(func.min(r.at))
        .where(
            r.profile_id == m.profile_id,
            r.at > m.sent_at,
            r.at <= m.window_end,
            _answers(),
        )
        .scalar_subquery()
    )
    first_visit = (
        select(func.min(i.at))
        .where(i.profile_id == m.profile_id, i.at > m.sent_at, i.at <= m.window_end, i.weight > 0)
        .scalar_subquery()
    )
    stmt = select(
        m.message_id, m.profile_id, m.channel, m.sent_at, m.window_end, m.reacted_at, first_reply, first_visit
    ).order_by(m.sent_at, m.message_id)
    return list(conn.execute(stmt))


def rekey(conn: Connection, live: Mapping[str, str]) -> None:
    """Rows of profiles merged into another move to the surviving profile."""
    for old, new in live.items():
        if old != new:
            for table in (recommend_channel_messages, recommend_channel_reactions):
                conn.execute(update(table).where(table.c.profile_id == old).values(profile_id=new))
            conn.execute(delete(recommend_channel_scores).where(s.profile_id == old))


def write_scores(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Each (customer, channel) score replaced by the new one. An upsert, not delete and insert: the
    processor and a full refresh may write the same customer at once without a key conflict."""
    if not rows:
        return
    insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    stmt = insert(recommend_channel_scores)
    changed = {c: stmt.excluded[c] for c in ("messages", "reactions", "score", "updated_at")}
    upsert = stmt.on_conflict_do_update(index_elements=["profile_id", "channel"], set_=changed)
    for n in range(0, len(rows), CHUNK):
        conn.execute(upsert, rows[n : n + CHUNK])


def write_rates(conn: Connection, rows: list[dict[str, Any]]) -> None:
    conn.execute(delete(recommend_channel_rates))
    if rows:
        conn.execute(recommend_channel_rates.insert(), rows)


def rates(conn: Connection) -> dict[str, Any]:
    return {row.channel: row for row in conn.execute(select(recommend_channel_rates))}


def scores(conn: Connection, profile_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    ids = sorted(set(profile_ids))
    for n in range(0, len(ids), CHUNK):
        stmt = select(s.profile_id, s.channel, s.score, s.messages, s.reactions).where(
            s.profile_id.in_(ids[n : n + CHUNK])
        )
        for row in conn.execute(stmt):
            out.setdefault(row.profile_id, {})[row.channel] = row
    return out


def activity_times(conn: Connection, profile_id: str) -> list[tuple[str | None, datetime]]:
    """When the customer opened or clicked a message, replied, called or touched a product, each
    with the messaging channel it was on: a message's or a reply's channel; None for a call, a
    pick-up and a visit (they say when the customer is active, not where they read)."""
    times: list[tuple[str | None, datetime]] = []
    for stmt in (
        select(m.channel, m.reacted_at)
        .where(m.profile_id == profile_id, m.reacted_at.is_not(None))
        .order_by(m.reacted_at.desc()),
        select(r.channel, r.at).where(r.profile_id == profile_id).order_by(r.at.desc()),
        select(null(), i.at).where(i.profile_id == profile_id, i.weight > 0).order_by(i.at.desc()),
    ):
        for channel, at in conn.execute(stmt.limit(HOUR_ROWS)):
            times.append((channel if channel in SCORED else None, at))
    return times


# -- erasure ------------------------------------------------------------------------------------


def personal_rows(conn: Connection, profile_ids: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
    ids = list(profile_ids)
    return {
        "channel_messages": [
            {
                "message_id": row.message_id,
                "channel": row.channel,
                "sent_at": row.sent_at,
                "reacted_at": row.reacted_at,
                "reaction": row.reaction,
            }
            for row in conn.execute(
                select(recommend_channel_messages).where(m.profile_id.in_(ids)).order_by(m.sent_at)
            )
        ],
        "channel_scores": [
            {"channel": row.channel, "score": row.score, "messages": row.messages}
            for row in conn.execute(
                select(recommend_channel_scores).where(s.profile_id.in_(ids)).order_by(s.channel)
            )
        ],
    }


def erase(conn: Connection, profile_ids: Sequence[str]) -> int:
    ids = list(profile_ids)
    count = 0
    for table in (recommend_channel_messages, recommend_channel_reactions, recommend_channel_scores):
        count += conn.execute(delete(table).where(table.c.profile_id.in_(ids))).rowcount
    return count
