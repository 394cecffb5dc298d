"""Scenario 2's last step: "ready for pick-up" reaches the customer on the channel they prefer.

Commerce writes the notification into its outbox with the state change; messaging's job turns it
into one transactional message (channel auto: the stated preference), sent once however often the
job runs.
"""

from __future__ import annotations

import httpx

from omnikanal.hub import Hub
from tests.commerce_helpers import get, post, receive, setup_shop
from tests.integration.messaging.support import FakeTwilio, SmtpSink, bearer, customer


def test_ready_for_pickup_goes_out_by_sms_when_the_customer_prefers_sms(
    hub: Hub, http: httpx.Client, admin_token: str, twilio: FakeTwilio, smtp: SmtpSink
) -> None:
    setup_shop(http, admin_token)
    receive(http, admin_token, "store-mitte", "DRILL-18V-BLUE", 2)
    pid = customer(hub, "c-pick", email="pia@example.org", phone="+49 151 22233344", preferredChannel="sms")
    order = {
        "id": "web-2001",
        "profile_id": pid,
        "channel": "web",
        "fulfilment": "click_and_collect",
        "fulfilment_location_id": "store-mitte",
        "lines": [{"sku": "DRILL-18V-BLUE", "quantity": 1}],
    }
    post(http, admin_token, "/api/commerce/orders", order, 201)
    for status in ("confirmed", "ready_for_pickup"):
        post(http, admin_token, "/api/commerce/orders/web-2001/status", {"status": status}, 200)

    for _ in range(2):  # a second run of the job writes nothing new
        for job in hub.dispatcher.jobs:
            job()
    hub.dispatcher.run_once()

    [sms] = twilio.requests
    assert sms["To"] == "+4915122233344"
    assert "web-2001" in sms["Body"]
    assert "Berlin Mitte" in sms["Body"]
    assert smtp.to("pia@example.org") == []  # one message, on the preferred channel only
    [message] = http.get(f"/api/profiles/{pid}/messages", headers=bearer(admin_token)).json()["messages"]
    assert message["channel"] == "sms"
    assert message["transactional"] is True
    assert message["status"] in ("sent", "delivered")
    notes = get(http, admin_token, "/api/commerce/notifications", profile_id=pid)["notifications"]
    assert [(n["kind"], n["status"]) for n in notes] == [("order_ready_for_pickup", "queued")]
