"""The console's service inbox over real HTTP on both engines: the queue's cases with counts and SLA
state, a case with the customer's history beside it, answering from the reply box; a store's staff
see their store's queue only."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from omnikanal.hub import Hub
from tests.console_helpers import PASSWORD, csrf_of, login
from tests.integration.messaging.support import bearer, customer
from tests.live_server import LiveServer


@contextmanager
def _client(live_server: LiveServer, username: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live_server.url, timeout=30) as client:
        assert login(client, username).status_code == 303
        yield client


def test_the_inbox_lists_the_queue_and_the_case_is_answered_from_the_console(
    hub: Hub, http: httpx.Client, admin_token: str, live_server: LiveServer
) -> None:
    pid = customer(hub, "u-lena", email="lena@example.org")
    hub.staff.create_user("agent", "service", PASSWORD, None)
    hub.staff.create_user("kasse", "store", PASSWORD, "store-mitte")
    made = {}
    for queue, subject in (("hotline", "Rechnung falsch"), ("store:store-mitte", "Umtausch Jacke")):
        response = http.post(
            "/api/service/cases",
            json={"profile_id": pid, "subject": subject, "queue": queue, "body": "Bitte helfen"},
            headers=bearer(admin_token),
        )
        made[queue] = response.json()

    with _client(live_server, "agent") as agent:
        inbox = agent.get("/console/cases", params={"queue": "hotline"})
        assert inbox.status_code == 200
        assert "Rechnung falsch" in inbox.text
        assert "Umtausch Jacke" not in inbox.text
        assert 'data-sla="ok"' in inbox.text
        assert "new</a>: 1" in inbox.text
        case_id = made["hotline"]["id"]
        page = agent.get(f"/console/cases/{case_id}")
        assert page.status_code == 200
        assert "Bitte helfen" in page.text
        assert "Case Opened" in page.text
        posted = agent.post(
            f"/console/cases/{case_id}",
            data={"csrf": csrf_of(page.text), "action": "reply", "text": "Ist korrigiert."},
            follow_redirects=False,
        )
        assert posted.status_code == 303
    case = http.get(f"/api/service/cases/{case_id}", headers=bearer(admin_token)).json()
    assert [e["text"] for e in case["items"] if e["kind"] == "outbound"] == ["Ist korrigiert."]
    assert case["status"] == "waiting_customer"

    with _client(live_server, "kasse") as store:
        inbox = store.get("/console/cases", params={"queue": "hotline", "lang": "en"})
        assert "Umtausch Jacke" in inbox.text
        assert "Rechnung falsch" not in inbox.text
        assert store.get(f"/console/cases/{made['hotline']['id']}").status_code == 403
