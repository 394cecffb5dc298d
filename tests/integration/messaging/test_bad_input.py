"""Bad input and failure paths: template errors, unknown profiles and channels, roles, idempotency,
bounces and an SMTP server that is away."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest

from omnikanal.clock import FixedClock
from omnikanal.hub import Hub
from tests.helpers import assert_error
from tests.integration.messaging.support import SmtpSink, bearer, customer, free_port, grant
from tests.integration.messaging.test_email import NEWSLETTER, save, send


def test_saving_a_template_with_errors_says_which_field_and_line(
    http: httpx.Client, admin_token: str
) -> None:
    unknown = {**NEWSLETTER, "body_text": "Hallo,\n\n{{ traits.firstName }}\n{{ customer.name }}\n"}
    error = assert_error(
        http.post("/api/messaging/templates", json=unknown, headers=bearer(admin_token)),
        400,
        "template_unknown_variable",
        "body_text",
    )
    assert "line 4" in error["message"]
    assert "'customer'" in error["message"]

    broken = {**NEWSLETTER, "body_html": "<p>{% if traits.vip %}VIP</p>"}
    error = assert_error(
        http.post("/api/messaging/templates", json=broken, headers=bearer(admin_token)),
        400,
        "template_syntax",
        "body_html",
    )
    assert "line 1" in error["message"]

    no_subject = {**NEWSLETTER, "subject": None}
    assert_error(
        http.post("/api/messaging/templates", json=no_subject, headers=bearer(admin_token)),
        400,
        "missing_subject",
        "subject",
    )
    bad_channel = {**NEWSLETTER, "channel": "pigeon"}
    assert_error(
        http.post("/api/messaging/templates", json=bad_channel, headers=bearer(admin_token)),
        400,
        "invalid_channel",
        "channel",
    )
    bad_locale = {**NEWSLETTER, "locale": "fr"}
    assert_error(
        http.post("/api/messaging/templates", json=bad_locale, headers=bearer(admin_token)),
        400,
        "invalid_locale",
        "locale",
    )
    assert http.get("/api/messaging/templates", headers=bearer(admin_token)).json()["templates"] == []


def test_templates_are_versioned_per_channel_and_locale_and_previewed_for_a_profile(
    hub: Hub, http: httpx.Client, admin_token: str
) -> None:
    german = save(http, admin_token, NEWSLETTER)
    english = save(
        http,
        admin_token,
        {
            **NEWSLETTER,
            "locale": "en",
            "subject": "Hello {{ traits.firstName }}",
            "body_text": "Hi {{ data.offer }}",
        },
    )
    assert german["id"] != english["id"]
    replaced = http.post(
        "/api/messaging/templates",
        json={**NEWSLETTER, "subject": "Neu: {{ traits.firstName }}"},
        headers=bearer(admin_token),
    )
    assert replaced.status_code == 200
    assert replaced.json()["id"] == german["id"]
    listed = http.get(
        "/api/messaging/templates", params={"name": "newsletter"}, headers=bearer(admin_token)
    ).json()
    assert [(t["channel"], t["locale"]) for t in listed["templates"]] == [("email", "de"), ("email", "en")]

    pid = customer(hub, "u-preview", email="p@example.org", firstName="Petra")
    preview = http.post(
        f"/api/messaging/templates/{german['id']}/preview",
        json={"profile_id": pid, "data": {"offer": "<b>Akkus</b>"}},
        headers=bearer(admin_token),
    )
    assert preview.status_code == 200, preview.text
    body = preview.json()
    assert body["subject"] == "Neu: Petra"
    assert "<b>Akkus</b>" in body["body_text"]  # text is not HTML
    assert "&lt;b&gt;Akkus&lt;/b&gt;" in body["body_html"]  # HTML escapes every value
    assert f"{hub.settings.public_url}/unsubscribe/" in body["body_text"]
    assert_error(
        http.post(
            f"/api/messaging/templates/{german['id']}/preview",
            json={"profile_id": "prof_nope"},
            headers=bearer(admin_token),
        ),
        404,
        "profile_not_found",
        "profile_id",
    )


def test_the_sandbox_refuses_unsafe_template_code(hub: Hub, http: httpx.Client, admin_token: str) -> None:
    evil = {**NEWSLETTER, "body_text": "{{ traits.__class__.__mro__[1].__subclasses__() }}"}
    template = save(http, admin_token, evil)
    pid = customer(hub, "u-evil", email="evil@example.org")
    response = http.post(
        f"/api/messaging/templates/{template['id']}/preview",
        json={"profile_id": pid},
        headers=bearer(admin_token),
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "template_render"


def test_sending_refuses_unknown_profiles_channels_templates_and_bad_content(
    hub: Hub, http: httpx.Client, admin_token: str
) -> None:
    pid = customer(hub, "u-bad", email="bad@example.org")
    save(http, admin_token, NEWSLETTER)

    def post(**body: Any) -> httpx.Response:
        return http.post("/api/messages", json=body, headers=bearer(admin_token))

    assert_error(
        post(profile_id="prof_missing", channel="email", template="newsletter"),
        404,
        "profile_not_found",
        "profile_id",
    )
    assert_error(
        post(profile_id=pid, channel="pigeon", template="newsletter"), 400, "invalid_channel", "channel"
    )
    assert_error(
        post(profile_id=pid, channel="email", template="nope"), 404, "template_not_found", "template"
    )
    assert_error(
        post(profile_id=pid, channel="sms", template="newsletter"), 400, "template_channel", "template"
    )
    assert_error(post(profile_id=pid, channel="email"), 400, "template_or_content", "template")
    assert_error(
        post(profile_id=pid, channel="sms", content={"text": "{{ secret }}"}),
        400,
        "template_unknown_variable",
        "content.body_text",
    )
    assert_error(
        post(profile_id=pid, channel="email", content={"text": "x"}),
        400,
        "missing_subject",
        "content.subject",
    )
    assert_error(
        post(profile_id=pid, channel="webhook", content={"text": "x"}), 400, "purpose_required", "purpose"
    )
    assert_error(
        post(profile_id=pid, channel="task", transactional=True, queue="attic", content={"text": "x"}),
        400,
        "invalid_queue",
        "queue",
    )
    assert_error(
        post(profile_id=pid, channel="email", template="newsletter", locale="fr"),
        400,
        "invalid_locale",
        "locale",
    )
    assert_error(
        post(profile_id=pid, channel="email", template="newsletter", purpose="spam"),
        400,
        "unknown_purpose",
        "purpose",
    )
    assert_error(post(channel="email", template="newsletter"), 400, "invalid_request", "profile_id")
    assert http.get("/api/messages", headers=bearer(admin_token)).json()["messages"] == []
    assert_error(http.get("/api/messages/msg_nope", headers=bearer(admin_token)), 404, "message_not_found")


def test_roles_decide_who_sends_what(hub: Hub, http: httpx.Client) -> None:
    pid = customer(hub, "u-roles", email="roles@example.org")
    marketing = hub.tokens.create("mkt", "marketing")[1]
    service = hub.tokens.create("svc", "service")[1]
    store = hub.tokens.create("store", "store", "berlin-1")[1]
    transactional = {
        "profile_id": pid,
        "channel": "email",
        "transactional": True,
        "content": {"subject": "s", "text": "t"},
    }
    promo = {"profile_id": pid, "channel": "email", "content": {"subject": "s", "text": "t"}}
    assert_error(http.post("/api/messages", json=transactional, headers=bearer(marketing)), 403, "forbidden")
    assert_error(http.post("/api/messages", json=promo, headers=bearer(service)), 403, "forbidden")
    assert_error(http.post("/api/messages", json=promo, headers=bearer(store)), 403, "forbidden")
    assert_error(
        http.post("/api/messaging/templates", json=NEWSLETTER, headers=bearer(service)), 403, "forbidden"
    )
    assert http.post("/api/messages", json=transactional, headers=bearer(service)).status_code == 201
    assert http.post("/api/messages", json=promo, headers=bearer(marketing)).status_code == 201
    assert_error(http.post("/api/messages", json=promo), 401, "missing_token")


def test_an_idempotency_key_sends_once(
    hub: Hub, http: httpx.Client, admin_token: str, smtp: SmtpSink
) -> None:
    pid = customer(hub, "u-idem", email="idem@example.org")
    body = {
        "profile_id": pid,
        "channel": "email",
        "transactional": True,
        "content": {"subject": "Bestellung", "text": "Danke"},
        "idempotency_key": "order-1001-confirmation",
    }
    first = http.post("/api/messages", json=body, headers=bearer(admin_token))
    again = http.post("/api/messages", json=body, headers=bearer(admin_token))
    assert first.status_code == 201
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    assert len(smtp.to("idem@example.org")) == 1


def test_a_hard_bounce_suppresses_the_address(
    hub: Hub, http: httpx.Client, admin_token: str, smtp: SmtpSink
) -> None:
    pid = customer(hub, "u-bounce", email="gone@example.org")
    smtp.refuse["gone@example.org"] = 550
    mail = {
        "profile_id": pid,
        "channel": "email",
        "transactional": True,
        "content": {"subject": "s", "text": "t"},
    }
    bounced = send(http, admin_token, **mail)
    assert bounced["status"] == "bounced"
    assert "no such user" in bounced["error"]
    assert hub.messaging.consent.is_suppressed("email", "gone@example.org")
    again = send(http, admin_token, **mail)
    assert again["status"] == "blocked"
    assert again["reason"] == "suppressed"  # transactional mail never skips suppression


class TestSmtpAway:
    @pytest.fixture
    def extra_settings(self) -> dict[str, Any]:
        return {
            "smtp_url": f"smtp://127.0.0.1:{free_port()}",
            "messaging_max_attempts": 3,
            "smtp_timeout_seconds": 2.0,
        }

    def test_an_unreachable_smtp_server_means_retries_with_backoff_then_failed(
        self, hub: Hub, http: httpx.Client, admin_token: str, clock: FixedClock
    ) -> None:
        pid = customer(hub, "u-away", email="away@example.org")
        grant(hub, pid, "email_marketing", "email")
        message = send(
            http, admin_token, profile_id=pid, channel="email", content={"subject": "s", "text": "t"}
        )
        assert message["status"] == "queued"
        assert message["attempts"] == 1
        assert "SMTP" in message["error"]
        delays = []
        for _ in range(2):
            clock.advance(timedelta(hours=1))
            assert hub.dispatcher.run_once() == 1
            current = http.get(f"/api/messages/{message['id']}", headers=bearer(admin_token)).json()
            delays.append(
                [h["detail"].get("retry_in_seconds") for h in current["history"] if h["status"] == "queued"]
            )
        assert current["status"] == "failed"
        assert current["attempts"] == 3
        retries = [d for d in delays[-1] if d is not None]
        assert len(retries) == 2
        assert 5 <= retries[0] <= 10  # base 10 s, jitter in the upper half
        assert 10 <= retries[1] <= 20  # doubled
        # a failed retry does not count towards the frequency cap
        assert current["decision"]["verdict"] == "allow"
