"""The SLA watch on both engines: an urgent case turning at risk raises a staff task in its queue,
its breach is recorded on the case, and a case whose promises are kept is left alone."""

from __future__ import annotations

from datetime import timedelta

import httpx

from omnikanal.clock import FixedClock
from omnikanal.hub import Hub
from tests.integration.messaging.support import bearer, customer


def _open(http: httpx.Client, token: str, pid: str, subject: str) -> dict:
    response = http.post(
        "/api/service/cases",
        json={"profile_id": pid, "subject": subject, "queue": "hotline", "priority": "urgent"},
        headers=bearer(token),
    )
    assert response.status_code == 201, response.text
    case: dict = response.json()
    return case


def test_at_risk_raises_a_task_and_the_breach_is_recorded(
    hub: Hub, http: httpx.Client, admin_token: str
) -> None:
    clock = hub.clock
    assert isinstance(clock, FixedClock)
    pid = customer(hub, "u-eilig", email="eilig@example.org")
    late = _open(http, admin_token, pid, "Heizung aus")  # urgent: first response within 1 business hour
    kept = _open(http, admin_token, pid, "Frage")
    assert (
        http.post(
            f"/api/service/cases/{kept['id']}/replies",
            json={"text": "Erledigt."},
            headers=bearer(admin_token),
        ).status_code
        == 200
    )

    hub.service.watch.run_once()
    assert hub.messaging.tasks("hotline", None, 10, lambda _: None) == []  # nothing is near yet

    clock.advance(timedelta(minutes=50))  # less than a quarter of the hour left
    hub.service.watch.run_once()
    hub.dispatcher.run_once()
    [task] = hub.messaging.tasks("hotline", None, 10, lambda _: None)
    assert late["ref"] in (task["title"] or "")
    assert task["profile_id"] == pid
    case = http.get(f"/api/service/cases/{late['id']}", headers=bearer(admin_token)).json()
    assert case["sla"]["state"] == "at_risk"

    clock.advance(timedelta(minutes=15))
    hub.service.watch.run_once()
    hub.service.watch.run_once()  # a second pass records nothing twice
    case = http.get(f"/api/service/cases/{late['id']}", headers=bearer(admin_token)).json()
    assert case["sla"]["first_response"]["state"] == "breached"
    assert [e["data"]["state"] for e in case["items"] if e["kind"] == "sla"] == ["at_risk", "breached"]
    other = http.get(f"/api/service/cases/{kept['id']}", headers=bearer(admin_token)).json()
    assert [e for e in other["items"] if e["kind"] == "sla"] == []
    assert len(hub.messaging.tasks("hotline", None, 10, lambda _: None)) == 1
