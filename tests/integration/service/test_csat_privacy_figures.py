"""After resolution: the CSAT survey answered on its signed page, the figures per queue and channel,
and cases with their entries in the customer's export and gone after erasure (both engines)."""

from __future__ import annotations

import re
from datetime import timedelta

import httpx

from omnikanal.clock import FixedClock
from omnikanal.hub import Hub
from tests.helpers import timeline
from tests.integration.messaging.support import SmtpSink, bearer, customer, wait_for


def _resolved_case(hub: Hub, http: httpx.Client, token: str, pid: str, queue: str = "hotline") -> dict:
    case = http.post(
        "/api/service/cases",
        json={"profile_id": pid, "subject": "Lieferung fehlt", "queue": queue, "body": "Wo ist sie?"},
        headers=bearer(token),
    ).json()
    assert isinstance(hub.clock, FixedClock)
    hub.clock.advance(timedelta(minutes=30))
    path = f"/api/service/cases/{case['id']}"
    assert http.post(f"{path}/replies", json={"text": "Morgen."}, headers=bearer(token)).status_code == 200
    hub.clock.advance(timedelta(hours=2))
    assert http.post(f"{path}/status", json={"status": "resolved"}, headers=bearer(token)).status_code == 200
    result: dict = http.get(path, headers=bearer(token)).json()
    return result


def test_the_survey_link_records_one_answer_on_the_case_and_the_timeline(
    hub: Hub, http: httpx.Client, admin_token: str, smtp: SmtpSink
) -> None:
    pid = customer(hub, "u-ida", email="ida@example.org")
    case = _resolved_case(hub, http, admin_token, pid)
    hub.dispatcher.run_once()
    [survey] = wait_for(lambda: [m for m in smtp.to("ida@example.org") if "zufrieden" in m["Subject"]])
    url = re.search(r"http://\S+/service/csat/\S+", survey.get_body(("plain",)).get_content())
    assert url is not None
    page = http.get(url.group(0))
    assert page.status_code == 200
    assert 'name="score"' in page.text
    answer = http.post(
        url.group(0),
        content="score=4&comment=Schnell+und+nett",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert answer.status_code == 200
    assert "Vielen Dank" in answer.text
    again = http.post(
        url.group(0), content="score=1", headers={"content-type": "application/x-www-form-urlencoded"}
    )
    assert again.status_code == 409
    rated = http.get(f"/api/service/cases/{case['id']}", headers=bearer(admin_token)).json()
    assert rated["csat"]["score"] == 4
    assert rated["csat"]["comment"] == "Schnell und nett"
    rated_events = [e for e in timeline(http, admin_token, pid) if e.get("event") == "Case Rated"]
    assert rated_events[0]["properties"]["score"] == 4
    assert http.get(url.group(0)[:-4] + "xxxx").status_code == 400  # a damaged link


def test_figures_give_times_compliance_and_csat_per_queue_and_channel(
    hub: Hub, http: httpx.Client, admin_token: str
) -> None:
    pid = customer(hub, "u-ole", email="ole@example.org")
    start = hub.clock.now()
    _resolved_case(hub, http, admin_token, pid, queue="hotline")
    _resolved_case(hub, http, admin_token, pid, queue="email")
    response = http.get(
        "/api/service/figures",
        params={
            "since": (start - timedelta(hours=1)).isoformat(),
            "until": (start + timedelta(days=1)).isoformat(),
        },
        headers=bearer(admin_token),
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body["queues"]) == {"hotline", "email"}
    assert set(body["channels"]) == {"hotline"}
    hotline = body["queues"]["hotline"]
    assert hotline["cases"] == 1
    assert hotline["first_response_seconds"]["p50"] == 1800
    assert hotline["resolution_seconds"]["p90"] == 1800 + 7200
    assert body["all"]["sla_compliance"] == 1.0
    assert body["all"]["csat"]["answers"] == 0
    naive = http.get(
        "/api/service/figures", params={"since": "2026-01-01T00:00:00"}, headers=bearer(admin_token)
    )
    assert naive.status_code == 400
    assert naive.json()["error"]["field"] == "since"


def test_cases_are_exported_with_the_person_and_erased_with_them(hub: Hub, http: httpx.Client) -> None:
    pid = customer(hub, "u-gone", email="gone@example.org")
    admin = hub.tokens.create("admin", "admin")[1]
    dpo = hub.tokens.create("dpo", "privacy")[1]
    case = _resolved_case(hub, http, admin, pid)
    exported = http.post(
        "/api/privacy/requests", json={"type": "export", "profile_id": pid}, headers=bearer(admin)
    )
    assert exported.status_code == 201, exported.text
    parts = http.get(exported.json()["export"]["json"], headers=bearer(admin)).json()["parts"]
    assert [c["id"] for c in parts["service"]["cases"]] == [case["id"]]
    assert "Wo ist sie?" in [e["text"] for e in parts["service"]["entries"]]

    erased = http.post(
        "/api/privacy/requests", json={"type": "erasure", "profile_id": pid}, headers=bearer(dpo)
    )
    assert erased.status_code == 201, erased.text
    assert (
        erased.json()["result"]["removed"]["service"] == 4
    )  # the case, its message in and out, its status change
    assert http.get(f"/api/service/cases/{case['id']}", headers=bearer(admin)).status_code == 404
