"""What other capabilities change of consent inside their own transaction (the privacy requests)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection

from omnikanal.consent import store


def set_restricted(
    conn: Connection, profile_id: str, request_id: str | None, now: datetime, on: bool
) -> None:
    """Restrict the processing of the person's data (DSGVO Art. 18), or lift the restriction."""
    store.set_restricted(conn, profile_id, request_id, now, on)
