"""Canned replies and macros over real HTTP on both engines: saved per queue, filled from the case
and the customer in her language, one click answers (through messaging, by real SMTP), tags,
assigns and sets the status; the console applies them; bad macros are refused naming the field."""

from __future__ import annotations

import httpx

from omnikanal.hub import Hub
from tests.console_helpers import PASSWORD, csrf_of, login
from tests.integration.messaging.support import SmtpSink, bearer, customer, wait_for
from tests.live_server import LiveServer

TEXTS = {
    "de": "Hallo {{ customer.first_name }}, Ihre Bestellung {{ case.order_id }} ist unterwegs. {{ agent }}",
    "en": "Hello {{ customer.first_name }}, your order {{ case.order_id }} is on its way. {{ agent }}",
}


def _macro(http: httpx.Client, token: str, **body: object) -> httpx.Response:
    return http.post("/api/service/macros", json=body, headers=bearer(token))


def _case(http: httpx.Client, token: str, pid: str, queue: str = "hotline") -> dict[str, object]:
    response = http.post(
        "/api/service/cases",
        json={"profile_id": pid, "subject": "Wo ist mein Paket?", "queue": queue, "order_id": "WEB-7"},
        headers=bearer(token),
    )
    assert response.status_code == 201, response.text
    found: dict[str, object] = response.json()
    return found


def test_a_macro_answers_tags_assigns_and_sets_the_status_in_one_click(
    hub: Hub, http: httpx.Client, admin_token: str, smtp: SmtpSink
) -> None:
    pid = customer(hub, "u-macro", email="eva@example.org", firstName="Eva", preferredLanguage="en")
    made = _macro(
        http,
        admin_token,
        name="Versand",
        queue="hotline",
        texts=TEXTS,
        status="resolved",
        tags=["versand"],
        assignee="anna",
    )
    assert made.status_code == 201, made.text
    macro = made.json()
    assert _macro(http, admin_token, name="Versand", queue="hotline", texts=TEXTS).status_code == 409
    case = _case(http, admin_token, pid)
    path = f"/api/service/cases/{case['id']}"
    [offered] = http.get(f"{path}/macros", headers=bearer(admin_token)).json()["items"]
    assert offered["locale"] == "en"
    assert offered["preview"] == "Hello Eva, your order WEB-7 is on its way. test-admin"

    applied = http.post(f"{path}/macros/{macro['id']}", json={}, headers=bearer(admin_token))
    assert applied.status_code == 200, applied.text
    after = applied.json()
    assert (after["status"], after["assignee"], after["tags"]) == ("resolved", "anna", ["versand"])
    assert sorted(e["kind"] for e in after["items"]) == ["assign", "macro", "outbound", "status"]
    hub.dispatcher.run_once()
    mails = wait_for(lambda: smtp.to("eva@example.org"))
    assert any("Hello Eva, your order WEB-7 is on its way." in str(m.get_body()) for m in mails)
    # a resolved case cannot take the same status twice, but a closed one refuses any macro
    http.post(f"{path}/status", json={"status": "closed"}, headers=bearer(admin_token))
    closed = http.post(f"{path}/macros/{macro['id']}", json={}, headers=bearer(admin_token))
    assert closed.status_code == 409


def test_bad_macros_are_refused_naming_the_field(hub: Hub, http: httpx.Client, admin_token: str) -> None:
    typo = _macro(http, admin_token, name="Tippfehler", texts={"de": "Hallo {{ customer.vorname }}"})
    assert typo.status_code in (400, 422)
    assert typo.json()["error"]["field"] == "texts.de"
    status = _macro(http, admin_token, name="Status", status="vielleicht")
    assert status.json()["error"]["field"] == "status"
    locale = _macro(http, admin_token, name="Sprache", texts={"fr": "Bonjour"})
    assert locale.status_code in (400, 422)
    assert "texts" in locale.json()["error"]["field"]


def test_a_store_keeps_its_own_macros_and_the_console_applies_them(
    hub: Hub, http: httpx.Client, admin_token: str, live_server: LiveServer
) -> None:
    hub.staff.create_user("kasse", "store", PASSWORD, "store-mitte")
    store_token = hub.tokens.create("kasse-api", "store", store_id="store-mitte")[1]
    foreign = _macro(http, store_token, name="Hotline", queue="hotline", texts={"de": "x"})
    assert foreign.status_code == 403
    own = _macro(http, store_token, name="Abholbereit", queue="store:store-mitte", status="waiting_us")
    assert own.status_code == 201, own.text
    shared = _macro(http, admin_token, name="Danke", texts={"de": "Danke, {{ customer.name }}!"}).json()
    listed = http.get("/api/service/macros", headers=bearer(store_token)).json()["items"]
    assert sorted(m["name"] for m in listed) == ["Abholbereit", "Danke"]  # hers and the shared one
    assert http.delete(f"/api/service/macros/{shared['id']}", headers=bearer(store_token)).status_code == 403

    pid = customer(hub, "u-theke", email="theke@example.org", name="Tom Theke")
    case = _case(http, admin_token, pid, queue="store:store-mitte")
    with httpx.Client(base_url=live_server.url, timeout=30) as client:
        assert login(client, "kasse").status_code == 303
        page = client.get(f"/console/cases/{case['id']}", params={"lang": "de"})
        assert "Textbausteine und Makros" in page.text
        assert "Danke, Tom Theke!" in page.text
        posted = client.post(
            f"/console/cases/{case['id']}",
            data={"csrf": csrf_of(page.text), "action": "macro", "macro": own.json()["id"]},
            follow_redirects=False,
        )
        assert posted.status_code == 303
        assert "error" not in posted.headers["location"]
    after = http.get(f"/api/service/cases/{case['id']}", headers=bearer(admin_token)).json()
    assert after["status"] == "waiting_us"
