"""Inbound SMS and WhatsApp texts to cases: a text that is no STOP/START keyword joins the sender's
open case on that channel, or opens one. messaging's Twilio webhook (signed) hands them over.

The sender becomes a profile through identity by their phone number (``tel:<number>`` as the
anonymous id, as messaging does for keywords); Twilio's retries are one entry (its message sid).
"""

from __future__ import annotations

import logging

from sqlalchemy import Connection

from omnikanal.clock import isoformat
from omnikanal.errors import NotFound
from omnikanal.ingest.service import IngestService
from omnikanal.profiles.service import ProfileService

from . import store
from .cases import ServiceDesk
from .inbound import follow_up
from .model import OPEN_STATUSES

log = logging.getLogger(__name__)
TIMELINE = {"sms": "sms", "whatsapp": "chat"}


class TextIntake:
    def __init__(
        self, desk: ServiceDesk, ingest: IngestService, profiles: ProfileService, queue: str
    ) -> None:
        self._desk = desk
        self._ingest = ingest
        self._profiles = profiles
        self._queue = queue

    def receive(self, channel: str, number: str, body: str, sid: str) -> str | None:
        """The case the text went to (None: the sender cannot be recorded, an erased person)."""
        event = {
            "type": "identify",
            "anonymousId": f"tel:{number}",
            "messageId": f"service-text:{sid}",
            "timestamp": isoformat(self._desk.clock_now()),
            "traits": {"phone": number},
            "context": {"touchpoint": {"channel": TIMELINE.get(channel, "sms")}},
        }
        self._ingest.ingest(self._desk.touchpoints.source(), [event])
        try:
            profile_id = str(self._profiles.lookup("phone", number)["id"])
        except NotFound:
            log.info("inbound text %s not filed: its sender is suppressed", sid)
            return None
        return self._desk.write(lambda conn: self._file(conn, channel, number, body, sid, profile_id))

    def _file(self, conn: Connection, channel: str, number: str, body: str, sid: str, profile_id: str) -> str:
        key = f"twilio:{sid}"
        timeline = TIMELINE.get(channel, "sms")
        entry = {"mail_message_id": key, "data": {"from": number, "provider": "twilio"}}
        found = store.open_case_of(conn, profile_id, timeline, sorted(OPEN_STATUSES | {"resolved"}))
        if store.mail_known(conn, key):  # Twilio delivered it again
            return found or ""
        text = body.strip()[:10_000]
        if found is None:
            return self._desk.create(
                conn,
                profile_id=profile_id,
                subject=text[:80],
                queue=self._queue,
                priority="normal",
                channel=timeline,
                actor=f"{channel}:{number}",
                body=text,
                entry=entry,
            )
        case = store.get_case(conn, found, lock=True)
        follow_up(self._desk, conn, case, timeline, f"{channel}:{number}", text, entry)
        return str(case.id)
