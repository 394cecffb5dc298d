"""Asynchronous bounce and complaint reports: what a mail server or an email service learns after
it accepted a message (a later non-delivery report, a recipient's "this is spam").

A report is a small JSON document POSTed to ``/callbacks/email-reports``, signed per the Standard
Webhooks specification with a shared secret (``webhook-id``, ``webhook-timestamp`` and
``webhook-signature: v1,<base64 HMAC-SHA256 of id.timestamp.body>``): the same scheme our own
outbound webhooks use, so a relay script or a provider adapter needs one library. A signature
older than the tolerance is refused (a replayed report); a report repeated within it changes
nothing twice (a status is recorded once per message).

``{"type": "bounce"|"complaint", "bounceType": "hard"|"soft", "messageId": <our id or the
Message-ID header>, "recipient": <address>, "diagnostic": <text>}``. A hard bounce and a complaint
mark the message (bounced, complained) and put the address on the suppression list; a soft bounce
changes nothing (the mail server retries it itself) and is answered as ignored.
"""

from __future__ import annotations

import binascii
import hmac
from dataclasses import dataclass
from typing import Any

from omnikanal.errors import InvalidInput, Unauthorized
from omnikanal.messaging.channels.webhook import sign

MAX_REPORT_BYTES = 16384


@dataclass(frozen=True, slots=True)
class Report:
    kind: str  # bounce or complaint
    hard: bool
    message_id: str | None
    recipient: str | None
    diagnostic: str | None


def verify(secret: str, headers: dict[str, str], body: bytes, now: float, tolerance: float) -> None:
    """Refuse a report whose Standard Webhooks signature is missing, wrong or too old."""
    if not secret:
        raise Unauthorized("reports_disabled", "no report secret is configured (OMNIKANAL_REPORT_SECRET)")
    headers = {k.lower(): v for k, v in headers.items()}
    msg_id = headers.get("webhook-id", "")
    stamp = headers.get("webhook-timestamp", "")
    given = headers.get("webhook-signature", "")
    if not msg_id or not stamp.isdigit() or not given:
        raise Unauthorized(
            "invalid_signature",
            "webhook-id, webhook-timestamp and webhook-signature are required",
            "webhook-signature",
        )
    if abs(now - int(stamp)) > tolerance:
        raise Unauthorized(
            "stale_signature", "webhook-timestamp is outside the tolerance", "webhook-timestamp"
        )
    try:
        expected = sign(secret, msg_id, int(stamp), body)
    except (binascii.Error, ValueError):
        raise Unauthorized("reports_disabled", "the report secret is not a whsec_ base64 secret") from None
    # the header may carry several space-separated signatures (key rotation)
    if not any(hmac.compare_digest(expected, candidate) for candidate in given.split()):
        raise Unauthorized("invalid_signature", "webhook-signature does not match", "webhook-signature")


def parse(body: Any) -> Report:
    if not isinstance(body, dict):
        raise InvalidInput("invalid_report", "a report is a JSON object", None)
    kind = body.get("type")
    if kind not in ("bounce", "complaint"):
        raise InvalidInput("invalid_report", "type must be bounce or complaint", "type")
    bounce_type = body.get("bounceType", "hard")
    if kind == "bounce" and bounce_type not in ("hard", "soft"):
        raise InvalidInput("invalid_report", "bounceType must be hard or soft", "bounceType")
    message_id = body.get("messageId")
    recipient = body.get("recipient")
    if message_id is not None and not isinstance(message_id, str):
        raise InvalidInput("invalid_report", "messageId must be a string", "messageId")
    if recipient is not None and not isinstance(recipient, str):
        raise InvalidInput("invalid_report", "recipient must be a string", "recipient")
    if not message_id and not recipient:
        raise InvalidInput("invalid_report", "messageId or recipient is required", "messageId")
    diagnostic = body.get("diagnostic")
    return Report(
        kind,
        kind == "complaint" or bounce_type == "hard",
        _our_id(message_id) if message_id else None,
        recipient,
        diagnostic[:500] if isinstance(diagnostic, str) else None,
    )


def _our_id(value: str) -> str:
    """Our message id from itself or from the Message-ID header we set (``<id@domain>``)."""
    return value.strip().removeprefix("<").removesuffix(">").split("@", 1)[0]
