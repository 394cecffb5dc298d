"""A retry sends a message again, so the rules of sending decide who may: marketing retries
marketing, service retries transactional messages (admin both)."""

from __future__ import annotations

import httpx

from omnikanal.hub import Hub
from tests.helpers import assert_error
from tests.integration.messaging.support import FakeTwilio, bearer, customer, grant
from tests.integration.messaging.test_email import send


def test_retry_applies_the_marketing_and_transactional_rules_of_sending(
    hub: Hub, http: httpx.Client, admin_token: str, twilio: FakeTwilio
) -> None:
    pid = customer(hub, "u-retry", phone="+4915144445555")
    grant(hub, pid, "sms_marketing", "sms")
    twilio.answer_status = 400
    receipt = send(
        http, admin_token, profile_id=pid, channel="sms", transactional=True, content={"text": "A"}
    )
    promo = send(http, admin_token, profile_id=pid, channel="sms", content={"text": "B"})
    assert (receipt["status"], promo["status"]) == ("failed", "failed"), (receipt, promo)
    twilio.answer_status = None
    marketing = hub.tokens.create("campaigns", "marketing")[1]
    service = hub.tokens.create("hotline", "service")[1]

    def retry(message_id: str, token: str) -> httpx.Response:
        return http.post(f"/api/messages/{message_id}/retry", headers=bearer(token))

    assert_error(retry(receipt["id"], marketing), 403, "forbidden")
    assert_error(retry(promo["id"], service), 403, "forbidden")
    assert twilio.requests[2:] == []  # the two failed sends only
    assert retry(receipt["id"], service).status_code == 200
    assert retry(promo["id"], marketing).status_code == 200
