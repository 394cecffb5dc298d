"""Signed webhooks from channel systems: chat and social messages open or continue cases, and a
phone system's call events (started, ended, missed) land on the caller's timeline and may open a
case.

Signed as Standard Webhooks (the format the hub's own webhook channel sends): headers
``webhook-id``, ``webhook-timestamp`` (Unix seconds) and ``webhook-signature`` ("v1,<base64
HMAC-SHA256 of id.timestamp.body>", several separated by spaces while a secret is rotated), keyed
with the source's secret. A timestamp outside the tolerance is refused, so a captured request
cannot be replayed later; within it, the message id makes a repeat one entry.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection

from omnikanal.clock import isoformat
from omnikanal.commerce.touchpoints import live_profile
from omnikanal.errors import NotFound, OmnikanalError
from omnikanal.ingest.service import IngestService
from omnikanal.messaging.channels.webhook import secret_bytes, sign
from omnikanal.profiles.service import ProfileService

from . import store
from .cases import ServiceDesk
from .inbound import follow_up, survivor
from .model import OPEN_STATUSES, CallIn, ChatMessageIn

log = logging.getLogger(__name__)
CALL_EVENTS = {"started": "Call Started", "ended": "Call Ended", "missed": "Call Missed"}


class Unsigned(OmnikanalError):
    status = 401


def check_secrets(secrets: Mapping[str, str]) -> None:
    for source, secret in secrets.items():
        try:
            if not secret_bytes(secret):
                raise ValueError
        except ValueError:
            raise ValueError(f"service webhook secret of {source!r}: not whsec_<base64>") from None


def verify(secret: str, headers: Mapping[str, str], body: bytes, now: float, tolerance: float) -> None:
    """Unsigned (401) unless the request is signed with ``secret`` and its timestamp is fresh."""
    msg_id = headers.get("webhook-id") or ""
    stamp = headers.get("webhook-timestamp") or ""
    if not msg_id or not stamp.isdigit():
        raise Unsigned("unsigned", "webhook-id and webhook-timestamp are required", "webhook-signature")
    if abs(now - int(stamp)) > tolerance:
        raise Unsigned(
            "stale_timestamp", "webhook-timestamp is too far from now (a replay?)", "webhook-timestamp"
        )
    expected = sign(secret, msg_id, int(stamp), body)
    offered = (headers.get("webhook-signature") or "").split()
    if not any(hmac.compare_digest(expected, s) for s in offered):
        raise Unsigned("invalid_signature", "webhook-signature does not match", "webhook-signature")


class ChannelHooks:
    def __init__(
        self, desk: ServiceDesk, ingest: IngestService, profiles: ProfileService, queue: str
    ) -> None:
        self._desk = desk
        self._ingest = ingest
        self._profiles = profiles
        self._queue = queue

    def sender_profile(self, source: str, key: str, traits: dict[str, Any], channel: str) -> str:
        """The sender's live profile through identity (an identify event), by email or phone."""
        anonymous = f"{source}:{traits.get('email') or traits.get('phone')}"
        event = {
            "type": "identify",
            "anonymousId": anonymous[:200],
            "messageId": f"service-hook:{source}:{key}"[:200],
            "timestamp": isoformat(self._desk.clock_now()),
            "traits": traits,
            "context": {"touchpoint": {"channel": channel}},
        }
        self._ingest.ingest(self._desk.touchpoints.source(), [event])
        kind = "email" if traits.get("email") else "phone"
        try:
            return str(self._profiles.lookup(kind, str(traits[kind]))["id"])
        except NotFound:  # an erased person: suppressed, nothing is recorded about them again
            raise Unsigned("sender_suppressed", "the sender cannot be recorded", "sender") from None

    def message(self, source: str, body: ChatMessageIn) -> dict[str, Any]:
        sender = body.sender
        traits = {
            k: v for k, v in (("email", sender.email), ("phone", sender.phone), ("name", sender.name)) if v
        }
        profile_id = self.sender_profile(source, body.id, traits, body.channel)
        key = f"{source}:{body.id}"
        author = f"{source}:{sender.handle or sender.email or sender.phone}"
        entry = {"mail_message_id": key, "data": {"source": source, "handle": sender.handle}}

        def work(conn: Connection) -> dict[str, Any]:
            if store.mail_known(conn, key):  # the chat tool sent it again
                return {"outcome": "duplicate", "case_id": None, "profile_id": profile_id}
            case = self._case_of(conn, body, profile_id)
            if case is None or case.status == "closed":
                links = {"follows_case": case.id} if case is not None else None
                case_id = self._desk.create(
                    conn,
                    profile_id=profile_id,
                    subject=(body.subject or body.text)[:80],
                    queue=self._queue,
                    priority="normal",
                    channel=body.channel,
                    actor=author,
                    body=body.text,
                    links=links,
                    entry=entry,
                )
                return {"outcome": "opened", "case_id": case_id, "profile_id": profile_id}
            follow_up(self._desk, conn, case, body.channel, author, body.text, entry)
            return {"outcome": "threaded", "case_id": case.id, "profile_id": profile_id}

        return self._desk.write(work)

    def _case_of(self, conn: Connection, body: ChatMessageIn, profile_id: str) -> Any:
        """The case named (if it is the sender's), else the sender's open case on that channel."""
        if body.case_ref:
            found = store.case_by_ref(conn, body.case_ref)
            if found is not None and live_profile(conn, found.profile_id) == profile_id:
                return survivor(conn, found.id)
        case_id = store.open_case_of(conn, profile_id, body.channel, sorted(OPEN_STATUSES | {"resolved"}))
        return store.get_case(conn, case_id, lock=True) if case_id else None

    def call(self, source: str, body: CallIn) -> dict[str, Any]:
        profile_id = self.sender_profile(source, f"call:{body.id}", {"phone": body.caller}, "hotline")
        desk = self._desk
        props: dict[str, Any] = {"call_id": body.id, "caller": body.caller, "source": source}
        if body.duration_seconds is not None:
            props["duration_seconds"] = body.duration_seconds
        if body.agent:
            props["agent"] = body.agent
        author = f"{source}:{body.caller}"

        def work(conn: Connection) -> str | None:
            event = CALL_EVENTS[body.event]
            key = f"{source}:call:{body.id}:{body.event}"
            desk.emit(
                conn, profile_id, event, props, "hotline", f"service-call:{source}:{body.id}:{body.event}"
            )
            if not body.open_case or store.mail_known(conn, key):
                return None
            entry: dict[str, Any] = {"mail_message_id": key, "data": props | {"event": body.event}}
            found = store.open_case_of(conn, profile_id, "hotline", sorted(OPEN_STATUSES))
            if found is not None:
                case = store.get_case(conn, found, lock=True)
                desk.add_entry(
                    conn, case.id, profile_id, "call", "hotline", f"{source}:{body.caller}", None, **entry
                )
                return str(case.id)
            subject = body.subject or {"missed": "Verpasster Anruf"}.get(body.event, "Anruf")
            case_id = desk.create(
                conn,
                profile_id=profile_id,
                subject=subject,
                queue=self._queue,
                priority="normal",
                channel="hotline",
                actor=author,
            )
            desk.add_entry(
                conn, case_id, profile_id, "call", "hotline", f"{source}:{body.caller}", None, **entry
            )
            return case_id

        case_id = desk.write(work)
        # the caller's view in the console: the hotline page finds her by the number
        return {
            "profile_id": profile_id,
            "case_id": case_id,
            "console_url": f"/console/hotline?phone={body.caller.replace('+', '%2B')}",
        }
