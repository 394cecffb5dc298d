"""The tracking API over real HTTP: storing, deduplicating, stitching."""

from __future__ import annotations

import httpx

from omnikanal.hub import Hub


def test_track_then_identify_lands_in_one_profile(
    hub: Hub, http: httpx.Client, make_channel, admin_token: str
) -> None:
    shop = make_channel("webshop", "web")
    auth = (shop.write_key, "")
    r = http.post("/v1/track", json={"anonymousId": "dev-1", "event": "Product Viewed"}, auth=auth)
    assert r.status_code == 200, r.text
    assert r.json()["accepted"] == 1
    r = http.post(
        "/v1/identify",
        json={"anonymousId": "dev-1", "userId": "u-1", "traits": {"email": " Max@Example.DE "}},
        auth=auth,
    )
    assert r.status_code == 200, r.text
    headers = {"Authorization": f"Bearer {admin_token}"}
    by_email = http.get(
        "/api/profiles/lookup", params={"type": "email", "value": "MAX@example.de"}, headers=headers
    )
    assert by_email.status_code == 200, by_email.text
    by_device = http.get(
        "/api/profiles/lookup", params={"type": "anonymous_id", "value": "dev-1"}, headers=headers
    )
    assert by_email.json()["id"] == by_device.json()["id"]
    assert by_email.json()["computed"]["event_count"] == 2
