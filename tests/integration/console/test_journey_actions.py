"""Journeys from the console over real HTTP: a document checked (a problem named with its place),
created as a draft, activated and paused; readers may not change them."""

from __future__ import annotations

import json

import httpx
import pytest

from omnikanal.console.journey_actions import EXAMPLE
from omnikanal.hub import Hub
from tests.conftest import LiveServer
from tests.console_helpers import Shop, build_shop, csrf_of, login, make_users


@pytest.fixture
def shop(hub: Hub, http: httpx.Client) -> Shop:
    make_users(hub)
    return build_shop(http, hub)


def test_marketing_checks_creates_activates_and_pauses_a_journey(
    shop: Shop, live_server: LiveServer, hub: Hub
) -> None:
    with httpx.Client(base_url=live_server.url, timeout=30) as client:
        login(client, "marketing")
        page = client.get("/console/journeys/new?lang=de")
        assert page.status_code == 200
        csrf = csrf_of(page.text)
        broken = {**EXAMPLE, "steps": [{"id": "warten", "wait": {"duration": "nie"}}]}
        refused = client.post(
            "/console/journeys/new", data={"csrf": csrf, "action": "validate", "document": json.dumps(broken)}
        )
        assert refused.status_code == 400
        assert "/steps/0/wait/duration" in refused.text  # the place of the problem
        checked = client.post(
            "/console/journeys/new",
            data={"csrf": csrf, "action": "validate", "document": json.dumps(EXAMPLE)},
        )
        assert "Das Dokument ist gültig." in checked.text
        assert hub.journeys.all() == []
        made = client.post(
            "/console/journeys/new", data={"csrf": csrf, "action": "create", "document": json.dumps(EXAMPLE)}
        )
        assert made.status_code == 303
        url = made.headers["location"]
        journey_id = url.rsplit("/", 1)[-1]
        assert hub.journeys.get(journey_id)["status"] == "draft"
        shown = client.get(url).text
        assert "Aktivieren" in shown
        assert "journey-diagram" in shown
        client.post(f"{url}/status", data={"csrf": csrf, "status": "active"})
        assert hub.journeys.get(journey_id)["status"] == "active"
        client.post(f"{url}/status", data={"csrf": csrf, "status": "paused"})
        assert hub.journeys.get(journey_id)["status"] == "paused"

    with httpx.Client(base_url=live_server.url, timeout=30) as reader:
        login(reader, "service")
        page = reader.get(url).text
        assert "Aktivieren" not in page
        assert (
            reader.post(f"{url}/status", data={"csrf": csrf_of(page), "status": "active"}).status_code == 403
        )
        assert reader.get("/console/journeys/new").status_code == 403
    assert hub.journeys.get(journey_id)["status"] == "paused"
