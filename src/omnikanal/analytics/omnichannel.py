"""Research online, purchase offline and channel preference, for everyone or for a segment's
current members (read through the segments capability's public service, handed in by the
composition root), with the ROPO of everyone else beside a segment's."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any, Protocol

from omnikanal.analytics.products import preference, ropo
from omnikanal.errors import NotFound


class SegmentReader(Protocol):
    """The segments capability's public read (its service)."""

    def get(self, segment_id: str) -> dict[str, Any]: ...

    def iter_members(self, segment_id: str, page: int = 1000) -> Iterator[tuple[str, datetime]]: ...


def _unknown(segment_id: str) -> NotFound:
    return NotFound("segment_not_found", f"segment: no segment {segment_id!r}", "segment")


def segment_members(reader: SegmentReader | None, segment_id: str) -> tuple[dict[str, Any], set[str]]:
    """The segment's id, name and member count, and its current members' profile ids."""
    if reader is None:
        raise _unknown(segment_id)
    try:
        view = reader.get(segment_id)
        members = {pid for pid, _ in reader.iter_members(segment_id)}
    except NotFound:
        raise _unknown(segment_id) from None
    return {"id": segment_id, "name": view.get("name"), "members": len(members)}, members


def omnichannel_answer(
    rows: Sequence[Any], since: datetime, days: int, chosen: tuple[dict[str, Any], set[str]] | None
) -> dict[str, Any]:
    """``ropo`` and ``preference`` of everyone, or of the chosen segment's members, with
    ``ropo_rest`` (the same figure of everyone else) beside them."""
    if chosen is None:
        return {"segment": None, "ropo": ropo(rows, since, days), "preference": preference(rows, since)}
    head, members = chosen
    inside = [r for r in rows if r.profile_id in members]
    rest = [r for r in rows if r.profile_id not in members]
    return {
        "segment": head,
        "ropo": ropo(inside, since, days),
        "ropo_rest": ropo(rest, since, days),
        "preference": preference(inside, since),
    }
