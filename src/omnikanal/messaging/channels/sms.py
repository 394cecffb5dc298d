"""SMS and WhatsApp through Twilio's Messages API, and the check of its status callbacks.

``POST {base}/2010-04-01/Accounts/{AccountSid}/Messages.json``, form-encoded, HTTP Basic with the
account SID and auth token; Twilio answers 201 with the message SID and later calls
``StatusCallback`` with ``MessageSid`` and ``MessageStatus``, signed in ``X-Twilio-Signature``:
base64 HMAC-SHA1, keyed with the auth token, of the full callback URL followed by every POST
parameter as name and value, sorted by name.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping, Sequence

import httpx

from omnikanal.messaging.channels import one_by_one
from omnikanal.messaging.model import Outgoing, PermanentFailure, SendResult, Status, TransientFailure

# Twilio's MessageStatus values, as our statuses (None: nothing to record).
TWILIO_STATUS: dict[str, Status | None] = {
    "accepted": None,
    "scheduled": None,
    "queued": None,
    "sending": None,
    "sent": Status.SENT,
    "delivered": Status.DELIVERED,
    "read": Status.OPENED,
    "undelivered": Status.BOUNCED,
    "failed": Status.FAILED,
    "canceled": Status.FAILED,
}


def twilio_signature(auth_token: str, url: str, params: Mapping[str, str]) -> str:
    payload = url + "".join(f"{key}{params[key]}" for key in sorted(params))
    digest = hmac.new(auth_token.encode(), payload.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def valid_twilio_signature(
    auth_token: str, url: str, params: Mapping[str, str], signature: str | None
) -> bool:
    if not signature or not auth_token:
        return False
    return hmac.compare_digest(twilio_signature(auth_token, url, params), signature)


class TwilioChannel:
    """One adapter per channel name: ``sms`` or ``whatsapp`` (addresses get the whatsapp: prefix)."""

    def __init__(
        self,
        name: str,
        base_url: str,
        account_sid: str,
        auth_token: str,
        sender: str,
        status_callback: str,
        timeout: float,
    ) -> None:
        self.name = name
        self._sid = account_sid
        self._sender = sender
        self._callback = status_callback
        self._client = httpx.Client(
            base_url=base_url.rstrip("/"), auth=(account_sid, auth_token), timeout=timeout
        )

    @property
    def configured(self) -> bool:
        return bool(self._sid and self._sender)

    def send_batch(self, batch: Sequence[Outgoing]) -> list[SendResult | Exception]:
        return one_by_one(self.send, batch)

    def send(self, item: Outgoing) -> SendResult:
        if not self.configured:
            raise TransientFailure(f"{self.name} is not configured (OMNIKANAL_TWILIO_*)")
        prefix = "whatsapp:" if self.name == "whatsapp" else ""
        form = {
            "To": prefix + item.address,
            "From": self._sender if self._sender.startswith(prefix) else prefix + self._sender,
            "Body": item.text,
            # Our id in the callback URL (and so under Twilio's signature): a callback that comes
            # before we recorded Twilio's sid still finds its message.
            "StatusCallback": f"{self._callback}?m={item.message_id}",
        }
        try:
            response = self._client.post(f"/2010-04-01/Accounts/{self._sid}/Messages.json", data=form)
        except httpx.HTTPError as exc:
            raise TransientFailure(f"Twilio: {type(exc).__name__}: {exc}") from None
        if response.status_code == 429 or response.status_code >= 500:
            raise TransientFailure(f"Twilio answered {response.status_code}: {response.text[:300]}")
        if response.status_code >= 400:
            raise PermanentFailure(f"Twilio refused ({response.status_code}): {response.text[:300]}")
        try:
            body = response.json()
            sid = str(body["sid"])
        except (ValueError, KeyError, TypeError):
            raise TransientFailure(f"Twilio answered without a message sid: {response.text[:300]}") from None
        return SendResult(provider_id=sid, status=Status.SENT)

    def close(self) -> None:
        self._client.close()
