"""Scheduled work of messaging beside the dispatcher: the double opt-in confirmation emails.

The consent capability opens a confirmation when an email consent is granted without proof of a
confirmed opt-in; this job turns each one into a transactional email through the outbox (keyed by
the confirmation, so it is written once however often the job runs) and marks it sent.
"""

from __future__ import annotations

import logging
from functools import partial
from typing import Any, Protocol

from sqlalchemy import Engine

from omnikanal.db.engine import run_write
from omnikanal.errors import NotFound
from omnikanal.messaging.service import MessagingService, SendRequest

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
    def pending_confirmations(self, limit: int = 100) -> list[dict[str, Any]]: ...

    def mark_confirmation_sent(self, token_id: str) -> None: ...


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
        written = 0
        for item in pending(limit=500):
            if item.get("sent_at") or not item.get("email"):
                continue
            request = SendRequest(
                profile_id=item["profile_id"],
                channel="email",
                transactional=True,
                content={"subject": CONFIRMATION_SUBJECT, "text": CONFIRMATION_TEXT},
                data={"confirm_url": item["confirm_url"], "purpose": item["purpose"]},
                idempotency_key=f"consent-confirmation:{item['id']}",
                to=item["email"],
            )
            try:
                run_write(self._engine, partial(self._messaging.enqueue, request=request, actor="consent"))
            except NotFound:
                log.info("confirmation %s: the profile is gone", item["id"])
            self._consent.mark_confirmation_sent(item["id"])
            written += 1
        return written
