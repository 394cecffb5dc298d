"""Email end to end over HTTP: a real SMTP server, one-click unsubscribe, the gate's decisions."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx

from omnikanal.clock import FixedClock
from omnikanal.hub import Hub
from tests.helpers import timeline
from tests.integration.messaging.support import SmtpSink, bearer, customer, grant

NEWSLETTER = {
    "name": "newsletter",
    "channel": "email",
    "locale": "de",
    "subject": "Hallo {{ traits.firstName }}, neue Bohrmaschinen",
    "body_text": "Hallo {{ traits.firstName }},\n\ndiese Woche: {{ data.offer }}.\n\n"
    "Abmelden: {{ links.unsubscribe_url }}\n",
    "body_html": "<html><body><p>Hallo {{ traits.firstName }},</p>"
    '<p><a href="{{ track("https://shop.example/angebote") }}">{{ data.offer }}</a></p>'
    '<p><a href="{{ links.unsubscribe_url }}">Abmelden</a></p></body></html>',
}


def save(http: httpx.Client, token: str, template: dict[str, Any]) -> dict[str, Any]:
    response = http.post("/api/messaging/templates", json=template, headers=bearer(token))
    assert response.status_code in (200, 201), response.text
    body: dict[str, Any] = response.json()
    return body


def send(http: httpx.Client, token: str, **body: Any) -> dict[str, Any]:
    response = http.post("/api/messages", json=body, headers=bearer(token))
    assert response.status_code in (200, 201), response.text
    result: dict[str, Any] = response.json()
    return result


def test_consented_email_then_one_click_unsubscribe_blocks_marketing_but_not_transactional(
    hub: Hub, http: httpx.Client, admin_token: str, smtp: SmtpSink
) -> None:
    pid = customer(hub, "u-erika", email="erika@example.org", firstName="Erika")
    grant(hub, pid, "email_marketing", "email")
    save(http, admin_token, NEWSLETTER)

    first = send(
        http,
        admin_token,
        profile_id=pid,
        channel="email",
        template="newsletter",
        data={"offer": "20 % auf Akkus"},
    )
    assert first["status"] == "sent", first
    assert first["decision"]["verdict"] == "allow"
    assert first["decision"]["purpose"] == "email_marketing"
    assert [h["status"] for h in first["history"]] == ["queued", "sent"]

    [mail] = smtp.to("erika@example.org")
    assert mail["Subject"] == "Hallo Erika, neue Bohrmaschinen"
    assert mail["From"] == "Omnikanal Shop <shop@example.org>"
    assert mail["Message-ID"] == f"<{first['id']}@example.org>"
    assert mail["List-Id"]
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    unsubscribe = mail["List-Unsubscribe"].strip("<>")
    assert unsubscribe.startswith(f"{hub.settings.public_url}/unsubscribe/")
    text = mail.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    html = mail.get_body(preferencelist=("html",)).get_content()  # type: ignore[union-attr]
    assert "Hallo Erika," in text
    assert "20 % auf Akkus" in text
    assert unsubscribe in text
    assert f"{hub.settings.public_url}/m/c/" in html  # the tracked link
    assert "20 % auf Akkus" in html

    # The mailbox provider posts the one-click form; nothing else is needed.
    path = urlsplit(unsubscribe).path
    page = http.post(
        path,
        content=b"List-Unsubscribe=One-Click",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert page.status_code == 200
    assert "abgemeldet" in page.text
    assert "unsubscribed" in page.text

    second = send(
        http, admin_token, profile_id=pid, channel="email", template="newsletter", data={"offer": "x"}
    )
    assert second["status"] == "blocked"
    assert second["reason"] == "withdrawn"
    assert second["decision"]["verdict"] == "block"

    receipt = send(
        http,
        admin_token,
        profile_id=pid,
        channel="email",
        transactional=True,
        content={
            "subject": "Ihre Bestellung {{ data.order }}",
            "text": "Danke für Ihre Bestellung {{ data.order }}.",
        },
        data={"order": "A-1001"},
    )
    assert receipt["status"] == "sent", receipt
    mails = smtp.to("erika@example.org")
    assert len(mails) == 2
    assert mails[1]["Subject"] == "Ihre Bestellung A-1001"
    assert mails[1]["List-Unsubscribe"] is None  # transactional mail is no list mail
    assert "Danke für Ihre Bestellung A-1001." in mails[1].get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert mails[1].get_body(("html",)) is not None  # both parts, always

    first_now = http.get(f"/api/messages/{first['id']}", headers=bearer(admin_token)).json()
    assert first_now["status"] == "unsubscribed"
    events = timeline(http, admin_token, pid)
    sent = [e for e in events if e.get("event") == "Message Sent"]
    assert len(sent) == 2
    assert {e["channel"] for e in sent} == {"email"}
    assert any(e.get("event") == "Message Blocked" for e in events)


def test_unsubscribe_page_and_forged_or_expired_tokens(
    hub: Hub, http: httpx.Client, admin_token: str, smtp: SmtpSink, clock: FixedClock
) -> None:
    pid = customer(hub, "u-max", email="max@example.org", firstName="Max")
    grant(hub, pid, "email_marketing", "email")
    save(http, admin_token, NEWSLETTER)
    send(http, admin_token, profile_id=pid, channel="email", template="newsletter", data={"offer": "x"})
    path = urlsplit(smtp.to("max@example.org")[0]["List-Unsubscribe"].strip("<>")).path

    page = http.get(path)
    assert page.status_code == 200
    assert '<form method="post"' in page.text
    assert "Abmelden" in page.text
    assert "Unsubscribe" in page.text

    forged = path[:-4] + ("AAAA" if not path.endswith("AAAA") else "BBBB")
    assert http.post(forged).status_code == 400
    assert http.get("/unsubscribe/not-a-token").status_code == 400
    assert hub.messaging.consent.may_contact(pid, "email_marketing", "email").allowed  # untouched

    clock.advance(timedelta(days=91))
    expired = http.post(path)
    assert expired.status_code == 400
    assert "abgelaufen" in expired.text
    assert hub.messaging.consent.may_contact(pid, "email_marketing", "email").allowed


def test_quiet_hours_defer_a_2300_message_to_0800_local(
    hub: Hub, http: httpx.Client, admin_token: str, smtp: SmtpSink, clock: FixedClock
) -> None:
    pid = customer(hub, "u-night", email="night@example.org", firstName="Nina", timezone="Europe/Berlin")
    grant(hub, pid, "email_marketing", "email")
    save(http, admin_token, NEWSLETTER)
    clock.advance(timedelta(hours=11))  # 21:00 UTC = 23:00 in Berlin (summer time)

    message = send(
        http, admin_token, profile_id=pid, channel="email", template="newsletter", data={"offer": "x"}
    )
    assert message["status"] == "deferred"
    assert message["reason"] == "quiet_hours"
    assert message["due_at"] == "2026-06-11T06:00:00Z"  # 08:00 in Berlin
    assert smtp.to("night@example.org") == []

    clock.advance(timedelta(hours=8, minutes=59))  # 07:59 local: still quiet, nothing due
    assert hub.dispatcher.run_once() == 0
    clock.advance(timedelta(minutes=1))
    assert hub.dispatcher.run_once() == 1
    after = http.get(f"/api/messages/{message['id']}", headers=bearer(admin_token)).json()
    assert after["status"] == "sent"
    assert [h["status"] for h in after["history"]] == ["queued", "deferred", "sent"]
    assert len(smtp.to("night@example.org")) == 1


def test_the_fourth_marketing_message_within_the_cap_window_is_blocked(
    hub: Hub, http: httpx.Client, admin_token: str, smtp: SmtpSink, clock: FixedClock
) -> None:
    pid = customer(hub, "u-cap", email="cap@example.org", firstName="Carl", phone="+4915112345678")
    grant(hub, pid, "email_marketing", "email")
    save(http, admin_token, NEWSLETTER)
    statuses = []
    for day in range(4):
        statuses.append(
            send(
                http, admin_token, profile_id=pid, channel="email", template="newsletter", data={"offer": day}
            )
        )
        clock.advance(timedelta(days=1))
    assert [m["status"] for m in statuses] == ["sent", "sent", "sent", "blocked"]
    assert statuses[3]["reason"] == "frequency_cap"
    cap = next(c for c in statuses[3]["decision"]["checks"] if c["rule"] == "frequency_cap")
    assert cap == {"rule": "frequency_cap", "window_days": 7.0, "count": 3, "limit": 3, "ok": False}
    # transactional messages are not counted and not capped
    receipt = send(
        http,
        admin_token,
        profile_id=pid,
        channel="email",
        transactional=True,
        content={"subject": "Quittung", "text": "ok"},
    )
    assert receipt["status"] == "sent"
    # once the first falls out of the window, there is room again
    clock.advance(timedelta(days=3, minutes=1))
    again = send(
        http, admin_token, profile_id=pid, channel="email", template="newsletter", data={"offer": "y"}
    )
    assert again["status"] == "sent", again["decision"]
    assert len(smtp.to("cap@example.org")) == 5


def test_tracked_links_and_the_open_pixel_record_engagement(
    hub: Hub, http: httpx.Client, admin_token: str, smtp: SmtpSink
) -> None:
    pid = customer(hub, "u-click", email="click@example.org", firstName="Clara")
    grant(hub, pid, "email_marketing", "email")
    save(http, admin_token, NEWSLETTER)
    sent = send(
        http, admin_token, profile_id=pid, channel="email", template="newsletter", data={"offer": "x"}
    )
    html = smtp.to("click@example.org")[0].get_body(("html",)).get_content()  # type: ignore[union-attr]
    pixel = re.search(r'src="[^"]+(/m/o/[^"]+)"', html)
    link = re.search(r'href="[^"]+(/m/c/[^"]+)"', html)
    assert pixel is not None
    assert link is not None

    image = http.get(pixel.group(1))
    assert image.status_code == 200
    assert image.headers["content-type"] == "image/gif"
    redirect = http.get(link.group(1), follow_redirects=False)
    assert redirect.status_code == 302
    assert redirect.headers["location"] == "https://shop.example/angebote"
    assert http.get(link.group(1)[:-3] + "xyz", follow_redirects=False).status_code == 400
    assert http.get("/m/o/forged").status_code == 200  # an image never errors, and records nothing

    after = http.get(f"/api/messages/{sent['id']}", headers=bearer(admin_token)).json()
    assert after["status"] == "clicked"
    assert [h["status"] for h in after["history"]] == ["queued", "sent", "opened", "clicked"]
    names = {e.get("event") for e in timeline(http, admin_token, pid)}
    assert {"Message Sent", "Message Opened", "Message Clicked"} <= names


def test_the_customers_language_picks_the_template_version(
    hub: Hub, http: httpx.Client, admin_token: str, smtp: SmtpSink
) -> None:
    save(http, admin_token, NEWSLETTER)
    save(http, admin_token, {**NEWSLETTER, "locale": "en", "subject": "Hello {{ traits.firstName }}"})
    english = customer(hub, "u-en", email="en@example.org", firstName="Emma", preferredLanguage="en")
    german = customer(hub, "u-de", email="de@example.org", firstName="Dieter")
    for pid in (english, german):
        grant(hub, pid, "email_marketing", "email")
        sent = send(
            http, admin_token, profile_id=pid, channel="email", template="newsletter", data={"offer": "x"}
        )
        assert sent["status"] == "sent"
    assert smtp.to("en@example.org")[0]["Subject"] == "Hello Emma"
    assert smtp.to("de@example.org")[0]["Subject"] == "Hallo Dieter, neue Bohrmaschinen"
