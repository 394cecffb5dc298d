"""Attachments of inbound mail: kept when their content type is allowed and they are within the
size limit (both settings), refused otherwise (named on the entry, so staff know something was
left out); downloadable by staff who may read the case; deleted with the person on erasure and
with the case by retention."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from omnikanal.db.engine import read_tx
from omnikanal.errors import NotFound
from omnikanal.ids import new_id

from . import store
from .cases import ServiceDesk
from .mail import Attachment


@dataclass(frozen=True)
class AttachmentLimits:
    max_bytes: int
    types: frozenset[str]
    max_count: int


def sort_out(
    found: tuple[Attachment, ...], limits: AttachmentLimits
) -> tuple[list[Attachment], list[dict[str, Any]]]:
    """The attachments to keep, and those refused with the reason."""
    kept: list[Attachment] = []
    refused: list[dict[str, Any]] = []
    for item in found:
        reason = None
        if item.content_type.lower() not in limits.types:
            reason = "content type not allowed"
        elif len(item.content) > limits.max_bytes:
            reason = f"larger than {limits.max_bytes} bytes"
        elif len(kept) >= limits.max_count:
            reason = f"more than {limits.max_count} attachments"
        if reason is None:
            kept.append(item)
        else:
            refused.append(
                {
                    "filename": item.filename,
                    "content_type": item.content_type,
                    "size": len(item.content),
                    "reason": reason,
                }
            )
    return kept, refused


def save(conn: Connection, entry_id: str, profile_id: str, kept: list[Attachment], now: Any) -> None:
    for item in kept:
        store.insert_attachment(
            conn,
            {
                "id": new_id("att"),
                "entry_id": entry_id,
                "profile_id": profile_id,
                "filename": item.filename,
                "content_type": item.content_type.lower(),
                "size": len(item.content),
                "content": item.content,
                "created_at": now,
            },
        )


class AttachmentFiles:
    def __init__(self, desk: ServiceDesk) -> None:
        self._desk = desk

    def download(self, attachment_id: str, store_id: str | None) -> Any:
        """The attachment with its content, if the caller may read its case (else NotFound)."""
        with read_tx(self._desk.engine) as conn:
            row = store.attachment(conn, attachment_id)
            if row is None:
                raise NotFound("attachment_not_found", f"no attachment {attachment_id!r}")
            self._desk.case_row(conn, row.case_id, store_id)  # a store's staff: their queue only
        return row
