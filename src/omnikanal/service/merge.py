"""Merging duplicate cases, with undo.

A merge moves the duplicate's thread to the survivor, which takes the tags and links it lacks; the
duplicate is closed and points at the survivor (``merged_into``), so a customer's later message to
its reference lands on the survivor. The merge record keeps what moved and how both cases were, so
an undo puts the entries back and restores both. Both are entries of the cases (kind ``merge``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from omnikanal.clock import isoformat
from omnikanal.commerce.touchpoints import live_profile
from omnikanal.errors import Conflict, InvalidInput, NotFound
from omnikanal.ids import new_id

from . import store
from .cases import ServiceDesk


class CaseMerger:
    def __init__(self, desk: ServiceDesk) -> None:
        self._desk = desk

    def merge(self, case_id: str, into: str, actor: str, store_id: str | None) -> dict[str, Any]:
        """Merge ``case_id`` (the duplicate) into ``into`` (the survivor); answers the survivor."""
        if case_id == into:
            raise InvalidInput("same_case", "into: a case cannot be merged into itself", "into")
        desk = self._desk

        def work(conn: Connection) -> None:
            # lock in id order, so two merges of the same pair cannot deadlock
            first, second = sorted((case_id, into))
            rows = {r.id: r for r in (desk.case_row(conn, i, store_id, lock=True) for i in (first, second))}
            duplicate, survivor = rows[case_id], rows[into]
            for row, name in ((duplicate, "case"), (survivor, "into")):
                if row.merged_into is not None:
                    raise Conflict("case_merged", f"{name}: case {row.id} is merged into {row.merged_into}")
            if survivor.status == "closed":
                raise Conflict("case_closed", f"into: case {survivor.id} is closed")
            if live_profile(conn, duplicate.profile_id) != live_profile(conn, survivor.profile_id):
                raise Conflict("other_customer", "into: the cases belong to different customers")
            moved = store.entry_ids(conn, duplicate.id)
            store.move_entries(conn, moved, survivor.id)
            now = desk.clock_now()
            store.insert_merge(
                conn,
                {
                    "id": new_id("cmg"),
                    "merged_id": duplicate.id,
                    "survivor_id": survivor.id,
                    "profile_id": survivor.profile_id,
                    "entry_ids": moved,
                    "before": {"merged": _state(duplicate), "survivor": _state(survivor)},
                    "actor": actor,
                    "created_at": now,
                },
            )
            links = {**duplicate.links, **survivor.links}
            tags = list(dict.fromkeys([*survivor.tags, *duplicate.tags]))[:50]
            store.update_case(conn, survivor.id, {"tags": tags, "links": links})
            store.update_case(
                conn,
                duplicate.id,
                {"merged_into": survivor.id, "status": "closed", "closed_at": now, "sla_check_at": None},
            )
            data = {"merged": duplicate.id, "ref": duplicate.ref, "into": survivor.id, "entries": len(moved)}
            for row in (duplicate, survivor):
                desk.add_entry(conn, row.id, row.profile_id, "merge", None, actor, None, data=data)
                store.recount(conn, row.id)

        desk.write(work)
        return desk.get(into, store_id)

    def undo(self, case_id: str, actor: str, store_id: str | None) -> dict[str, Any]:
        """Undo the merge of ``case_id`` (the duplicate): its entries back, both cases as they were."""
        desk = self._desk

        def work(conn: Connection) -> None:
            duplicate = desk.case_row(conn, case_id, store_id, lock=True)
            merge = store.open_merge(conn, case_id)
            if merge is None or duplicate.merged_into is None:
                raise NotFound("merge_not_found", f"case {case_id} is not merged into another")
            survivor = desk.case_row(conn, merge.survivor_id, store_id, lock=True)
            store.move_entries(conn, merge.entry_ids, duplicate.id)
            before = merge.before
            was, kept = before["merged"], before["survivor"]
            store.update_case(conn, duplicate.id, _restored(duplicate, was, desk.clock_now()))
            store.update_case(conn, survivor.id, {"tags": kept["tags"], "links": kept["links"]})
            store.merge_undone(conn, merge.id, desk.clock_now())
            data = {"undone": merge.id, "merged": duplicate.id, "into": survivor.id}
            for row in (duplicate, survivor):
                desk.add_entry(conn, row.id, row.profile_id, "merge", None, actor, None, data=data)
                store.recount(conn, row.id)

        desk.write(work)
        return desk.get(case_id, store_id)


def _state(row: Any) -> dict[str, Any]:
    closed = isoformat(row.closed_at) if row.closed_at is not None else None
    return {"status": row.status, "tags": list(row.tags), "links": dict(row.links), "closed_at": closed}


def _restored(row: Any, was: dict[str, Any], now: datetime) -> dict[str, Any]:
    """The duplicate's columns as they were before the merge; the SLA watch looks at it again
    (not while its clock stands still: it waits for the customer)."""
    closed = was.get("closed_at")
    return {
        "merged_into": None,
        "status": was["status"],
        "closed_at": datetime.fromisoformat(closed.replace("Z", "+00:00")) if closed else None,
        "sla_check_at": None if row.sla_paused_at is not None else now,
    }
