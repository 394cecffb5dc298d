"""Inbound mail to cases: a new case, or an entry of the case it answers.

Threading, in this order: the In-Reply-To/References Message-IDs (our own outbound messages, or a
mail already on a case), then the case reference in the subject or in the recipient address
(``service+C-1A2B3C4D5E@...``), so replies from clients that rewrite the headers still thread.
The sender becomes a profile through identity, like any identify event, by their email address.
A mail that opens a case and names one of the sender's orders (in the subject or body) links it.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from omnikanal.clock import isoformat
from omnikanal.commerce.touchpoints import branch, orders_among
from omnikanal.errors import NotFound
from omnikanal.ingest.service import IngestService
from omnikanal.profiles.service import ProfileService

from . import attachments, store
from .attachments import AttachmentLimits
from .cases import ServiceDesk
from .mail import InboundMail, order_words, parse
from .model import MESSAGE_RECEIVED

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Received:
    outcome: str  # "opened", "threaded", "duplicate", "ignored", "refused"
    case_id: str | None = None
    reason: str | None = None


def follow_up(
    desk: ServiceDesk,
    conn: Connection,
    case: Any,
    channel: str,
    author: str,
    text: str,
    entry: dict[str, Any],
) -> None:
    """A further message of the customer on an open case: an entry, the case open again, the timeline."""
    entry_id = desk.add_entry(conn, case.id, case.profile_id, "inbound", channel, author, text, **entry)
    if case.status in ("waiting_customer", "resolved"):
        desk.change_status(conn, case, "open", None)
    props = {"case_id": case.id, "ref": case.ref, "subject": case.subject}
    desk.emit(conn, case.profile_id, MESSAGE_RECEIVED, props, channel, f"service:{entry_id}")


class MailIntake:
    def __init__(
        self, desk: ServiceDesk, ingest: IngestService, profiles: ProfileService, limits: AttachmentLimits
    ) -> None:
        self._desk = desk
        self._ingest = ingest
        self._profiles = profiles
        self._limits = limits

    def receive(self, raw: bytes, recipients: list[str], envelope_sender: str | None = None) -> Received:
        mail = parse(raw, recipients, envelope_sender)
        if mail.automatic:  # no case, no answer: that is how mail loops are avoided
            log.info("inbound mail ignored: %s", mail.automatic)
            return Received("ignored", reason=mail.automatic)
        if "@" not in mail.sender:
            return Received("refused", reason="no sender address")
        key = mail.message_id or hashlib.sha256(raw).hexdigest()
        profile_id = self._profile_of(mail, key)
        if profile_id is None:
            return Received("refused", reason="the sender cannot be recorded")
        self._desk.prepare()
        return self._desk.write(lambda conn: self._file(conn, mail, key, profile_id))

    def _profile_of(self, mail: InboundMail, key: str) -> str | None:
        """The sender's live profile, created through ingest if they are unknown."""
        digest = hashlib.sha256(key.encode()).hexdigest()[:40]
        traits: dict[str, Any] = {"email": mail.sender}
        if mail.name:
            traits["name"] = mail.name
        event = {
            "type": "identify",
            "anonymousId": f"mailto:{mail.sender}",
            "messageId": f"service-mail:{digest}",
            "timestamp": isoformat(self._desk.clock_now()),
            "traits": traits,
            "context": {"touchpoint": {"channel": "email"}},
        }
        self._ingest.ingest(self._desk.touchpoints.source(), [event])
        try:
            return str(self._profiles.lookup("email", mail.sender)["id"])
        except NotFound:  # an erased person's address: suppressed, so nothing is recorded
            return None

    def _file(self, conn: Connection, mail: InboundMail, key: str, profile_id: str) -> Received:
        if store.mail_known(conn, key):  # the sender's server delivered it again
            return Received("duplicate")
        desk = self._desk
        kept, refused = attachments.sort_out(mail.attachments, self._limits)
        data: dict[str, Any] = {"from": mail.sender, "subject": mail.subject}
        if refused:
            data["attachments_refused"] = refused
        entry: dict[str, Any] = {"html": mail.html, "mail_message_id": key, "data": data}
        received = self._filed(conn, mail, profile_id, entry)
        entry_id = store.entry_of_mail(conn, key)
        if kept and entry_id is not None:
            attachments.save(conn, entry_id, profile_id, kept, desk.clock_now())
        return received

    def _filed(self, conn: Connection, mail: InboundMail, profile_id: str, entry: dict[str, Any]) -> Received:
        desk = self._desk
        case = self._thread(conn, mail)
        if case is None or case.status == "closed":
            links = {"follows_case": case.id} if case is not None else {}
            order_id = _named_order(conn, mail, profile_id)
            if order_id is not None:  # a complaint naming one of her orders is about that order
                links["order_id"] = order_id
            case_id = desk.create(
                conn,
                profile_id=profile_id,
                subject=mail.subject,
                queue=desk.config.mail_queue,
                priority="normal",
                channel="email",
                actor=f"email:{mail.sender}",
                body=mail.text,
                links=links or None,
                entry=entry,
            )
            return Received("opened", case_id)
        follow_up(desk, conn, case, "email", f"email:{mail.sender}", mail.text, entry)
        return Received("threaded", case.id)

    @staticmethod
    def _thread(conn: Connection, mail: InboundMail) -> Any:
        case_id = store.case_of_mail(conn, mail.references, mail.own_message_ids)
        if case_id is None:
            found = next(filter(None, (store.case_by_ref(conn, ref) for ref in mail.refs)), None)
            case_id = found.id if found is not None else None
        return survivor(conn, case_id) if case_id is not None else None


def survivor(conn: Connection, case_id: str) -> Any:
    """The case, locked; for a merged duplicate the case it was merged into (a short chain)."""
    case = store.get_case(conn, case_id, lock=True)
    for _ in range(10):
        if case is None or case.merged_into is None:
            break
        case = store.get_case(conn, case.merged_into, lock=True)
    return case


def _named_order(conn: Connection, mail: InboundMail, profile_id: str) -> str | None:
    """The first order the subject or body names that is one of the sender's own orders."""
    words = order_words(mail.subject, mail.text)
    if not words:
        return None
    found = orders_among(conn, branch(conn, profile_id), words)
    return found[0] if found else None
