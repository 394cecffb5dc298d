"""The console's service inbox over real HTTP on both engines: the queue's cases with counts and SLA
state, a case with the customer's history beside it, answering from the reply box, merging a
duplicate and undoing it, the mail's attachments to download; a store's staff see their store's
queue only."""

from __future__ import annotations

import re
import smtplib
from collections.abc import Iterator
from contextlib import contextmanager
from email.message import EmailMessage

import httpx

from omnikanal.audit.service import access_entries
from omnikanal.db.engine import read_tx
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
        assert 'status=new">Neu</a>: 1' in inbox.text  # the status new, in the page's German
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


def _case(http: httpx.Client, token: str, pid: str, subject: str, body: str) -> dict:
    response = http.post(
        "/api/service/cases",
        json={"profile_id": pid, "subject": subject, "queue": "hotline", "body": body},
        headers=bearer(token),
    )
    assert response.status_code == 201, response.text
    made: dict = response.json()
    return made


def test_a_duplicate_is_merged_from_the_case_view_and_the_merge_undone(
    hub: Hub, http: httpx.Client, admin_token: str, live_server: LiveServer
) -> None:
    pid = customer(hub, "u-jana", email="jana@example.org")
    hub.staff.create_user("agent", "service", PASSWORD, None)
    first = _case(http, admin_token, pid, "Paket fehlt", "Seit einer Woche")
    second = _case(http, admin_token, pid, "Wo ist mein Paket?", "Noch einmal")
    with _client(live_server, "agent") as agent:
        page = agent.get(f"/console/cases/{second['id']}", params={"lang": "en"})
        assert "This case is a duplicate of" in page.text
        assert f'<option value="{first["id"]}">{first["ref"]} · Paket fehlt' in page.text
        merged = agent.post(
            f"/console/cases/{second['id']}",
            data={"csrf": csrf_of(page.text), "action": "merge", "into": first["id"]},
            follow_redirects=False,
        )
        assert merged.status_code == 303
        assert merged.headers["location"] == f"/console/cases/{first['id']}"
        survivor = agent.get(merged.headers["location"])
        assert "Seit einer Woche" in survivor.text
        assert "Noch einmal" in survivor.text  # the duplicate's thread moved here

        duplicate = agent.get(f"/console/cases/{second['id']}", params={"lang": "de"})
        assert "Zusammengeführt in" in duplicate.text
        assert "Dieser Fall ist eine Dublette von" not in duplicate.text  # no second merge offered
        undone = agent.post(
            f"/console/cases/{second['id']}",
            data={"csrf": csrf_of(duplicate.text), "action": "unmerge"},
            follow_redirects=False,
        )
        assert undone.status_code == 303
    back = http.get(f"/api/service/cases/{second['id']}", headers=bearer(admin_token)).json()
    assert back["merged_into"] is None
    assert back["status"] == "new"
    assert "Noch einmal" in [e["text"] for e in back["items"]]
    kept = http.get(f"/api/service/cases/{first['id']}", headers=bearer(admin_token)).json()
    assert "Noch einmal" not in [e["text"] for e in kept["items"]]
    hub.audit.flush()
    with read_tx(hub.engine) as conn:
        actions = {a["action"] for a in access_entries(conn, [pid], 100, None)}
    assert {"service.merge", "service.unmerge"} <= actions  # as through the API


def test_the_case_view_links_the_attachments_of_a_mail_for_download(
    hub: Hub, live_server: LiveServer, inbound_port: int
) -> None:
    hub.staff.create_user("agent", "service", PASSWORD, None)
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = "foto@example.net", "service@shop.example", "Kratzer"
    mail.set_content("Foto anbei.")
    mail.add_attachment(b"\x89PNG" + b"1" * 100, maintype="image", subtype="png", filename="kratzer.png")
    mail.add_attachment(b"MZ\x90\x00", maintype="application", subtype="x-msdownload", filename="tool.exe")
    with smtplib.SMTP("127.0.0.1", inbound_port, timeout=30) as client:
        client.send_message(mail)
    pid = hub.profiles.lookup("email", "foto@example.net")["id"]
    [case] = hub.service.desk.list_cases({}, pid, None, 10)["items"]
    with _client(live_server, "agent") as agent:
        page = agent.get(f"/console/cases/{case['id']}", params={"lang": "en"})
        found = re.search(r'<a href="(/api/service/attachments/[^"]+)" download="kratzer.png">', page.text)
        assert found, page.text
        assert "tool.exe (content type not allowed)" in page.text  # named as not kept
        file = agent.get(found.group(1))  # the console's session downloads it
        assert file.status_code == 200
        assert file.content == b"\x89PNG" + b"1" * 100
        assert file.headers["content-disposition"].startswith("attachment")
