"""The messaging templates of service answers and surveys, German and English.

They are ordinary messaging templates (name, channel, locale): messaging picks the version by the
customer's language, and staff may change the wording through the templates API. The hub writes
only those that are missing, so a changed wording stays.
"""

from __future__ import annotations

import contextlib
from datetime import timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError

from omnikanal.messaging.service import MessagingService, SendRequest
from omnikanal.signing import Signer

from .model import ANSWER_CHANNEL, CSAT_TEMPLATE, REPLY_TEMPLATE

_REPLY = {
    "de": (
        "AW: {{ data.subject }} [#{{ data.ref }}]",
        "Guten Tag,\n\n{{ data.text }}\n\nFreundliche Grüße\nIhr Kundenservice\n(Vorgang {{ data.ref }})\n",
    ),
    "en": (
        "Re: {{ data.subject }} [#{{ data.ref }}]",
        "Hello,\n\n{{ data.text }}\n\nKind regards\nCustomer service\n(Case {{ data.ref }})\n",
    ),
}
_CSAT = {
    "de": (
        "Wie zufrieden waren Sie? [#{{ data.ref }}]",
        "Guten Tag,\n\nIhr Anliegen „{{ data.subject }}“ ist erledigt. Wie zufrieden waren Sie mit "
        "unserer Hilfe? Bitte bewerten Sie uns von 1 bis 5:\n{{ data.url }}\n\nVielen Dank!\n",
    ),
    "en": (
        "How did we do? [#{{ data.ref }}]",
        'Hello,\n\nYour request "{{ data.subject }}" is resolved. How satisfied were you with our '
        "help? Please rate us from 1 to 5:\n{{ data.url }}\n\nThank you!\n",
    ),
}
_SHORT = {
    REPLY_TEMPLATE: {
        "de": "{{ data.text }} (Vorgang {{ data.ref }})",
        "en": "{{ data.text }} (case {{ data.ref }})",
    },
    CSAT_TEMPLATE: {
        "de": "Wie zufrieden waren Sie mit unserer Hilfe (1-5)? {{ data.url }}",
        "en": "How satisfied were you with our help (1-5)? {{ data.url }}",
    },
}


def ensure_templates(messaging: MessagingService) -> None:
    for name, versions in ((REPLY_TEMPLATE, _REPLY), (CSAT_TEMPLATE, _CSAT)):
        have = {(t["channel"], t["locale"]) for t in messaging.list_templates(name=name)}
        for locale, (subject, text) in versions.items():
            for channel in ("email", "sms", "whatsapp"):
                if (channel, locale) in have:
                    continue
                long = channel == "email"
                body = text if long else _SHORT[name][locale]
                # another process may write it meanwhile: theirs stands
                with contextlib.suppress(IntegrityError):
                    messaging.save_template(name, channel, locale, subject if long else None, body, None)


def survey_request(signer: Signer, case: Any, public_url: str, days: int) -> SendRequest:
    """The satisfaction survey after a resolution, on the customer's channel.

    Sent as a transactional message: it follows the customer's own request and carries no
    advertising, so it needs no marketing consent; the gate still applies suppression.
    """
    token = signer.sign("csat", {"c": case.id}, timedelta(days=days))
    url = f"{public_url.rstrip('/')}/service/csat/{token}"
    return SendRequest(
        profile_id=case.profile_id,
        channel=ANSWER_CHANNEL.get(case.channel, "email"),
        transactional=True,
        template=CSAT_TEMPLATE,
        data={"url": url, "subject": case.subject, "ref": case.ref},
        idempotency_key=f"service-csat:{case.id}",
    )


MAX_REFERENCES = 20  # Message-IDs an answer names in References (the newest of the thread)


def reply_request(case: Any, channel: str, text: str, key: str, thread: list[str]) -> SendRequest:
    """An agent's answer as a transactional message; by email it names the customer's mails of the
    thread (In-Reply-To the newest, References all), so their mail client threads it."""
    data: dict[str, Any] = {"text": text, "subject": case.subject, "ref": case.ref}
    if thread:
        ids = [f"<{m}>" for m in thread]
        data["thread"] = {"in_reply_to": ids[-1], "references": ids}
    return SendRequest(
        profile_id=case.profile_id,
        channel=channel,
        transactional=True,
        template=REPLY_TEMPLATE,
        data=data,
        idempotency_key=key,
    )
