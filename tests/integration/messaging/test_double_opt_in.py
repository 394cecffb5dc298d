"""The double opt-in email of the consent capability goes out through messaging, and its link
confirms the consent that the next marketing email needs."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import httpx

from omnikanal.consent.model import ConsentChange, ConsentStatus
from omnikanal.hub import Hub
from tests.integration.messaging.support import SmtpSink, bearer, customer
from tests.integration.messaging.test_email import send


def test_an_email_consent_is_confirmed_through_the_mail_messaging_sends(
    hub: Hub, http: httpx.Client, admin_token: str, smtp: SmtpSink
) -> None:
    pid = customer(hub, "u-doi", email="doi@example.org", firstName="Doris")
    [pending] = hub.consent.record(
        pid,
        [ConsentChange(purpose="email_marketing", status=ConsentStatus.GRANTED, channel="email")],
        source="web",
    )
    assert pending["status"] == "pending"
    before = send(
        http, admin_token, profile_id=pid, channel="email", content={"subject": "Sale", "text": "x"}
    )
    assert before["status"] == "blocked"
    assert before["reason"] == "pending"

    for job in hub.dispatcher.jobs:
        job()
    for job in hub.dispatcher.jobs:  # a second run writes nothing new
        job()
    hub.dispatcher.run_once()
    [mail] = smtp.to("doi@example.org")
    assert mail["List-Unsubscribe"] is None
    text = mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "Hallo Doris," in text
    assert "Please confirm" in text
    link = re.search(r"http://\S+/confirm/\S+", text)
    assert link is not None
    confirmed = http.post(urlsplit(link.group(0)).path)
    assert confirmed.status_code == 200, confirmed.text

    after = send(http, admin_token, profile_id=pid, channel="email", content={"subject": "Sale", "text": "x"})
    assert after["status"] == "sent", after["decision"]
    assert len(smtp.to("doi@example.org")) == 2
    listed = http.get("/api/messages", headers=bearer(admin_token)).json()["messages"]
    [confirmation] = [m for m in listed if (m["idempotency_key"] or "").startswith("consent-confirmation:")]
    assert confirmation["transactional"] is True
    assert confirmation["status"] == "sent"


def test_links_mailed_and_not_clicked_do_not_hold_back_the_newer_ones(
    hub: Hub, http: httpx.Client, admin_token: str, smtp: SmtpSink
) -> None:
    grant = [ConsentChange(purpose="email_marketing", status=ConsentStatus.GRANTED, channel="email")]
    first = customer(hub, "u-doi-1", email="first@example.org")
    hub.consent.record(first, grant, source="web")
    for job in hub.dispatcher.jobs:  # the first link is mailed, and nobody clicks it
        job()
    second = customer(hub, "u-doi-2", email="second@example.org")
    hub.consent.record(second, grant, source="web")

    def listed(**params: object) -> list[str]:
        answer = http.get("/api/consents/confirmations", params=params, headers=bearer(admin_token))
        assert answer.status_code == 200, answer.text
        return [item["email"] for item in answer.json()["items"]]

    everything = listed()  # not clicked yet, oldest first (the test clock stands: ties by id)
    assert sorted(everything) == ["first@example.org", "second@example.org"]
    assert listed(unsent="true") == ["second@example.org"]
    assert listed(limit=1) + listed(offset=1) == everything
    # The mailer reads only the unsent ones, so a queue of unclicked links never stalls it.
    assert [
        job() for job in hub.dispatcher.jobs if getattr(job, "name", "") == "consent-confirmation-mailer"
    ] == [1]
    hub.dispatcher.run_once()
    assert len(smtp.to("first@example.org")) == 1
    assert len(smtp.to("second@example.org")) == 1
    assert listed(unsent="true") == []
