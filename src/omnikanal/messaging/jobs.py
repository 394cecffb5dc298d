"""Scheduled work of messaging beside the dispatcher: double opt-in emails and commerce notifications.

The consent capability opens a confirmation when an email consent is granted without proof of a
confirmed opt-in; this job turns each one into a transactional email through the outbox (keyed by
the confirmation, so it is written once however often the job runs) and marks it sent.
"""

from __future__ import annotations

import logging
from functools import partial
from typing import Any, Protocol

from sqlalchemy import Connection, Engine

from omnikanal.commerce import touchpoints
from omnikanal.db.engine import run_write
from omnikanal.errors import NotFound, OmnikanalError
from omnikanal.messaging import store as messaging_store
from omnikanal.messaging.service import MessagingService, SendRequest
from omnikanal.profiles import access as profiles

log = logging.getLogger(__name__)

CONFIRMATION_SUBJECT = "Bitte bestätigen Sie Ihre Anmeldung / Please confirm your subscription"
CONFIRMATION_TEXT = """Hallo {{ traits.firstName or "" }},

bitte bestätigen Sie, dass Sie unseren Newsletter per E-Mail erhalten möchten:
{{ data.confirm_url }}

Wenn Sie das nicht angefordert haben, ignorieren Sie diese E-Mail einfach.

---

Please confirm that you would like to receive our newsletter by email:
{{ data.confirm_url }}

If you did not ask for this, simply ignore this email.
"""


class Confirmations(Protocol):
    def pending_confirmations(
        self, limit: int = 100, *, unsent: bool = False, offset: int = 0
    ) -> list[dict[str, Any]]: ...

    def mark_confirmations_sent(self, token_ids: list[str]) -> None: ...


class ConfirmationMailer:
    name = "consent-confirmation-mailer"

    def __init__(self, engine: Engine, messaging: MessagingService, consent: Any) -> None:
        self._engine = engine
        self._messaging = messaging
        self._consent = consent

    def __call__(self) -> int:
        pending = getattr(self._consent, "pending_confirmations", None)
        if pending is None:
            return 0
        # only unsent ones: sent links nobody clicked yet must not hide the newer ones from the mailer
        items = [x for x in pending(limit=500, unsent=True) if not x.get("sent_at") and x.get("email")]
        if not items:
            return 0
        requests = [
            SendRequest(
                profile_id=item["profile_id"],
                channel="email",
                transactional=True,
                content={"subject": CONFIRMATION_SUBJECT, "text": CONFIRMATION_TEXT},
                data={"confirm_url": item["confirm_url"], "purpose": item["purpose"]},
                idempotency_key=f"consent-confirmation:{item['id']}",
                to=item["email"],
            )
            for item in items
        ]
        # One transaction for the round's emails (each keyed by its confirmation, so written once),
        # then the confirmations marked sent in one more.
        try:
            run_write(self._engine, partial(self._enqueue, requests=requests))
        except NotFound:  # a profile the batch names cannot take mail: one by one, leaving it out
            for request in requests:
                try:
                    run_write(self._engine, partial(self._enqueue, requests=[request]))
                except NotFound:
                    log.info("confirmation for %s: the profile is gone", request.profile_id)
        self._consent.mark_confirmations_sent([item["id"] for item in items])
        return len(items)

    def _enqueue(self, conn: Connection, requests: list[SendRequest]) -> None:
        # The profiles' rows, shared-locked first: an erasure locks a profile for update before it
        # deletes the person's messages, so the two take turns. Either the email is written first and
        # the erasure removes it, or the erasure goes first and the profile is gone here: its email
        # is left out (PostgreSQL; on SQLite writers take turns anyway).
        wanted = sorted({r.profile_id for r in requests})
        found = profiles.share_lock_existing(conn, wanted)
        for gone in sorted(set(wanted) - found):
            log.info("confirmation for %s: the profile is gone", gone)
        self._messaging.enqueue_many(conn, [r for r in requests if r.profile_id in found], "consent")


# What commerce tells the customer, in German and English; a retailer's own template named like the
# notification kind (e.g. "order_ready_for_pickup") takes precedence over these defaults.
COMMERCE_TEXTS: dict[str, tuple[str, str]] = {
    "order_ready_for_pickup": (
        "Ihre Bestellung ist abholbereit / Your order is ready for pick-up",
        "Ihre Bestellung {{ data.order_id }} liegt für Sie bereit"
        "{% if data.store_name %} in {{ data.store_name }}{% endif %}.\n"
        "Your order {{ data.order_id }} is ready for pick-up"
        "{% if data.store_name %} at {{ data.store_name }}{% endif %}.",
    ),
    "reservation_ready": (
        "Ihre Reservierung liegt bereit / Your reservation is ready",
        "Ihre Reservierung ist bis {{ data.expires_at }} für Sie zurückgelegt.\n"
        "Your reservation is held for you until {{ data.expires_at }}.",
    ),
    "reservation_expiring": (
        "Ihre Reservierung läuft bald ab / Your reservation ends soon",
        "Ihre Reservierung endet um {{ data.expires_at }}.\nYour reservation ends at {{ data.expires_at }}.",
    ),
    "reservation_expired": (
        "Ihre Reservierung ist abgelaufen / Your reservation has expired",
        "Ihre Reservierung ist abgelaufen; die Ware ist wieder im Verkauf.\n"
        "Your reservation has expired; the item is back on sale.",
    ),
}


class CommerceNotifier:
    """Sends commerce's transactional notifications (ready for pick-up, reservation reminders).

    Commerce writes each one into its own outbox table in the transaction of the state change; this
    job turns it into a transactional message on the customer's preferred channel (``auto``) in one
    transaction with marking it queued, keyed by the notification, so it is written exactly once.
    """

    name = "commerce-notifier"

    def __init__(self, engine: Engine, messaging: MessagingService, batch: int = 200) -> None:
        self._engine = engine
        self._messaging = messaging
        self._batch = batch

    def __call__(self) -> int:
        return run_write(self._engine, self._round)

    def _round(self, conn: Connection) -> int:
        handled = 0
        for row in touchpoints.pending_notifications(conn, self._batch):
            subject, text = COMMERCE_TEXTS.get(row.kind, (row.kind, "{{ data | tojson }}"))
            has_template = bool(messaging_store.template_rows(conn, name=row.kind))
            request = SendRequest(
                profile_id=row.profile_id,
                channel="auto",
                transactional=True,
                template=row.kind if has_template else None,
                content=None if has_template else {"subject": subject, "text": text},
                data=dict(row.payload or {}),
                idempotency_key=f"commerce-notification:{row.id}",
            )
            status = "queued"
            try:
                with conn.begin_nested():
                    self._messaging.enqueue(conn, request, actor="commerce")
            except (NotFound, OmnikanalError) as exc:
                log.info("commerce notification %s not sent: %s", row.id, exc)
                status = "failed"
            touchpoints.mark_notification(conn, row.id, status)
            handled += 1
        return handled
