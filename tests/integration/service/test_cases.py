"""Cases over HTTP on both engines: open, list, read, note, assign, reply by email in the customer's
language (real SMTP), resolve with a CSAT survey, and every case event on the timeline."""

from __future__ import annotations

from typing import Any

import httpx

from omnikanal.hub import Hub
from tests.helpers import assert_error, timeline
from tests.integration.messaging.support import SmtpSink, bearer, customer, wait_for


def _open(http: httpx.Client, token: str, **body: Any) -> dict[str, Any]:
    response = http.post("/api/service/cases", json=body, headers=bearer(token))
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def _post(http: httpx.Client, token: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = http.post(path, json=body, headers=bearer(token))
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def test_a_hotline_case_is_answered_by_email_resolved_and_on_the_timeline(
    hub: Hub, http: httpx.Client, admin_token: str, smtp: SmtpSink
) -> None:
    pid = customer(hub, "u-erika", email="erika@example.org", firstName="Erika")
    token = hub.tokens.create("hotline", "service")[1]
    case = _open(
        http,
        token,
        profile_id=pid,
        subject="Bohrmaschine defekt",
        queue="hotline",
        priority="high",
        channel="hotline",
        body="Sie brummt nur noch.",
        order_id="ord-1",
    )
    assert (case["status"], case["channel"], case["entries"], case["links"]) == (
        "new",
        "hotline",
        1,
        {"order_id": "ord-1"},
    )
    assert case["sla"]["state"] == "ok"
    assert case["sla"]["first_response"]["due"] is not None

    listed = http.get("/api/service/cases", params={"profile_id": pid, "limit": 10}, headers=bearer(token))
    assert listed.status_code == 200, listed.text
    [item] = listed.json()["items"]
    assert {k: item[k] for k in ("id", "status", "channel", "subject", "entries")} == {
        "id": case["id"],
        "status": "new",
        "channel": "hotline",
        "subject": "Bohrmaschine defekt",
        "entries": 1,
    }

    path = f"/api/service/cases/{case['id']}"
    _post(http, token, f"{path}/notes", {"text": "Kundin ruft zum zweiten Mal an"})
    assigned = _post(http, token, f"{path}/assign", {"assignee": "anna"})
    assert (assigned["assignee"], assigned["status"]) == ("anna", "open")
    replied = _post(http, token, f"{path}/replies", {"text": "Wir schicken Ihnen ein Austauschgerät."})
    assert replied["status"] == "waiting_customer"
    assert replied["first_response_at"] is not None
    outbound = [e for e in replied["items"] if e["kind"] == "outbound"]
    assert outbound[0]["channel"] == "email"
    assert outbound[0]["message_id"]

    hub.dispatcher.run_once()
    [mail] = wait_for(lambda: smtp.to("erika@example.org"))
    assert mail["Subject"] == f"AW: Bohrmaschine defekt [#{case['ref']}]"  # German: the default locale
    assert "Wir schicken Ihnen ein Austauschgerät." in mail.get_body(("plain",)).get_content()

    resolved = _post(http, token, f"{path}/status", {"status": "resolved"})
    assert resolved["status"] == "resolved"
    assert resolved["resolved_at"] is not None
    hub.dispatcher.run_once()
    mails = wait_for(lambda: [m for m in smtp.to("erika@example.org") if "zufrieden" in m["Subject"]])
    assert "/service/csat/" in mails[0].get_body(("plain",)).get_content()

    events = {
        e["event"]: e for e in timeline(http, admin_token, pid) if (e.get("event") or "").startswith("Case")
    }
    assert set(events) == {"Case Opened", "Case Replied", "Case Resolved"}
    assert events["Case Opened"]["channel"] == "hotline"
    assert events["Case Replied"]["channel"] == "email"
    assert events["Case Opened"]["properties"]["order_id"] == "ord-1"


def test_an_english_customer_gets_the_english_answer(hub: Hub, http: httpx.Client, smtp: SmtpSink) -> None:
    pid = customer(hub, "u-john", email="john@example.org", preferredLanguage="en")
    token = hub.tokens.create("hotline", "service")[1]
    case = _open(http, token, profile_id=pid, subject="Parcel missing", channel="web", queue="email")
    _post(http, token, f"/api/service/cases/{case['id']}/replies", {"text": "It is on its way."})
    hub.dispatcher.run_once()
    [mail] = wait_for(lambda: smtp.to("john@example.org"))
    assert mail["Subject"] == f"Re: Parcel missing [#{case['ref']}]"
    assert "Kind regards" in mail.get_body(("plain",)).get_content()


def test_store_staff_work_only_their_store_queue_and_bad_input_names_the_field(
    hub: Hub, http: httpx.Client
) -> None:
    pid = customer(hub, "u-kim", email="kim@example.org")
    store = hub.tokens.create("till", "store", store_id="store-mitte")[1]
    own = _open(http, store, profile_id=pid, subject="Umtausch", queue="store:store-mitte", channel="store")
    refused = http.post(
        "/api/service/cases",
        json={"profile_id": pid, "subject": "x", "queue": "hotline"},
        headers=bearer(store),
    )
    assert_error(refused, 403, "other_queue")
    service = hub.tokens.create("hotline", "service")[1]
    other = _open(http, service, profile_id=pid, subject="Rechnung", queue="hotline")
    assert_error(http.get(f"/api/service/cases/{other['id']}", headers=bearer(store)), 403, "other_queue")
    listed = http.get("/api/service/cases", params={"limit": 50}, headers=bearer(store)).json()["items"]
    assert [c["id"] for c in listed] == [own["id"]]

    bad = http.post(
        f"/api/service/cases/{other['id']}/status", json={"status": "done"}, headers=bearer(service)
    )
    assert_error(bad, 400, "invalid_status", "status")
    unknown = http.post(
        "/api/service/cases", json={"profile_id": "prof_nobody", "subject": "x"}, headers=bearer(service)
    )
    assert_error(unknown, 404, "profile_not_found", "profile_id")
    no_limit = http.get("/api/service/cases", params={"limit": 501}, headers=bearer(service))
    assert no_limit.status_code in (400, 422), no_limit.text
    assert http.get("/api/service/cases", params={"limit": 5}).status_code == 401
