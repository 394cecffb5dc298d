"""Inbound SMS and WhatsApp through Twilio's incoming-message webhook: opt-out and opt-in keywords.

Twilio POSTs ``From``, ``To``, ``Body``, ``MessageSid`` (form-encoded, signed like the status
callbacks) for every message a customer sends to our number. A body that is one of the stop
keywords (trimmed, any case) withdraws the channel's marketing consent; a start keyword grants it
again. Both follow Twilio's own handling of its default keywords (STOP, STOPALL, UNSUBSCRIBE,
CANCEL, END, QUIT; START, UNSTOP), which blocks and unblocks the number on Twilio's side: our
ledger says what the carrier path already does. German keywords (STOPP, ABMELDEN; ANMELDEN) are
added. A start keyword grants consent because the customer texted it themselves from the number
in question: an explicit, affirmative statement whose proof (the signed message) also proves they
hold the number, which is what a double opt-in establishes for email. "YES" is not a start keyword
here: it is too often the answer to some other question.

The change is stored as a ``Consent Updated`` event through ingest, on the sms (or chat) channel,
identified by the phone number (and ``tel:<number>`` as its anonymous id): the consent ledger
records it with the message as proof, and the timeline shows it where the agent looks. A number
nobody has yet gets a profile of its own with the withdrawal on it, so a later merge with the
customer keeps their "no". Twilio retries are deduplicated on the message sid.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from omnikanal.clock import Clock, isoformat
from omnikanal.ingest.service import IngestService
from omnikanal.sources.model import Source

EVENT_NAME = "Consent Updated"


@dataclass(frozen=True, slots=True)
class InboundResult:
    action: str | None  # "withdrawn", "granted" or None (not a keyword)
    purpose: str | None
    channel: str | None
    accepted: bool


def keyword_action(body: str, stop: frozenset[str], start: frozenset[str]) -> str | None:
    word = body.strip().upper()
    if word in stop:
        return "withdrawn"
    if word in start:
        return "granted"
    return None


class InboundMessages:
    def __init__(
        self,
        ingest: IngestService,
        clock: Clock,
        source: Any,
        stop_keywords: frozenset[str],
        start_keywords: frozenset[str],
        texts: list[Callable[[str, str, str, str], object]] | None = None,
    ) -> None:
        # told of texts that are not keywords (service turns them into cases)
        self._texts = texts if texts is not None else []
        self._ingest = ingest
        self._clock = clock
        self._source = source  # () -> Source: the messaging source, made on first use
        self._stop = frozenset(k.strip().upper() for k in stop_keywords)
        self._start = frozenset(k.strip().upper() for k in start_keywords)

    def receive(self, params: dict[str, str]) -> InboundResult:
        sender = params.get("From", "")
        body = params.get("Body", "")
        sid = params.get("MessageSid") or params.get("SmsSid") or ""
        whatsapp = sender.startswith("whatsapp:")
        number = sender.removeprefix("whatsapp:")
        channel, timeline, purpose = (
            ("whatsapp", "chat", "messenger_marketing") if whatsapp else ("sms", "sms", "sms_marketing")
        )
        action = keyword_action(body, self._stop, self._start)
        if action is None and number and sid and body.strip() and self._texts:
            for listener in self._texts:
                listener(channel, number, body, sid)
            return InboundResult(None, None, channel, True)
        if action is None or not number or not sid:
            return InboundResult(None, None, None, False)
        source: Source = self._source()
        event: dict[str, Any] = {
            "type": "track",
            "event": EVENT_NAME,
            "messageId": f"twilio-inbound:{sid}",
            # Every event needs a userId or anonymousId; the phone number (an external id) is what
            # finds the customer, and "tel:<number>" names the sender where no one else is known.
            "anonymousId": f"tel:{number}",
            "timestamp": isoformat(self._clock.now()),
            "properties": {
                "purpose": purpose,
                "status": action,
                "channel": channel,
                "wording": f"{channel.upper()} {body.strip()[:40]!r} from {number} to {params.get('To', '')}",
                "inbound": {"provider": "twilio", "message_sid": sid, "body": body[:160]},
            },
            "context": {
                "touchpoint": {"channel": timeline},
                "externalIds": [{"type": "phone", "id": number}],
            },
        }
        result = self._ingest.ingest(source, [event])
        accepted = result.accepted == 1 or result.duplicates == 1
        return InboundResult(action, purpose, channel, accepted)
