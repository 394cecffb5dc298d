"""Merging duplicate cases with undo, over real HTTP and SMTP on both engines: the thread moves to
the survivor, the duplicate points at it (a mail to its reference lands on the survivor), the undo
puts everything back, both are audited; cases of different customers never merge."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage

import httpx

from omnikanal.audit.service import access_entries
from omnikanal.db.engine import read_tx
from omnikanal.hub import Hub
from tests.integration.messaging.support import bearer, customer


def _open(http: httpx.Client, token: str, pid: str, subject: str, **more: object) -> dict[str, object]:
    response = http.post(
        "/api/service/cases",
        json={"profile_id": pid, "subject": subject, "body": subject, **more},
        headers=bearer(token),
    )
    assert response.status_code == 201, response.text
    found: dict[str, object] = response.json()
    return found


def test_a_duplicate_merges_and_the_merge_is_undone(
    hub: Hub, http: httpx.Client, admin_token: str, inbound_port: int
) -> None:
    pid = customer(hub, "u-doppelt", email="doppelt@example.org")
    survivor = _open(http, admin_token, pid, "Paket fehlt", tags=["versand"])
    duplicate = _open(http, admin_token, pid, "Paket immer noch nicht da", order_id="WEB-9", tags=["eilig"])
    http.post(
        f"/api/service/cases/{duplicate['id']}/notes", json={"text": "Anruf"}, headers=bearer(admin_token)
    )

    merged = http.post(
        f"/api/service/cases/{duplicate['id']}/merge",
        json={"into": survivor["id"]},
        headers=bearer(admin_token),
    )
    assert merged.status_code == 200, merged.text
    kept = merged.json()
    texts = [e["text"] for e in kept["items"] if e["text"]]
    assert sorted(texts) == ["Anruf", "Paket fehlt", "Paket immer noch nicht da"]
    assert kept["links"]["order_id"] == "WEB-9"
    assert kept["tags"] == ["versand", "eilig"]
    gone = http.get(f"/api/service/cases/{duplicate['id']}", headers=bearer(admin_token)).json()
    assert (gone["status"], gone["merged_into"], gone["entries"]) == ("closed", survivor["id"], 1)
    again = http.post(
        f"/api/service/cases/{duplicate['id']}/merge",
        json={"into": survivor["id"]},
        headers=bearer(admin_token),
    )
    assert again.status_code == 409

    # the customer answers the duplicate's reference: it lands on the survivor
    mail = EmailMessage()
    mail["From"], mail["To"] = "doppelt@example.org", "service@shop.example"
    mail["Subject"] = f"Re: [#{duplicate['ref']}]"
    mail.set_content("Noch etwas")
    with smtplib.SMTP("127.0.0.1", inbound_port, timeout=30) as client:
        client.send_message(mail)
    kept = http.get(f"/api/service/cases/{survivor['id']}", headers=bearer(admin_token)).json()
    assert "Noch etwas" in [e["text"] for e in kept["items"]]

    undone = http.post(f"/api/service/cases/{duplicate['id']}/unmerge", headers=bearer(admin_token))
    assert undone.status_code == 200, undone.text
    back = undone.json()
    assert back["merged_into"] is None
    assert back["status"] == "new"
    assert sorted(e["text"] for e in back["items"] if e["text"]) == ["Anruf", "Paket immer noch nicht da"]
    kept = http.get(f"/api/service/cases/{survivor['id']}", headers=bearer(admin_token)).json()
    assert kept["tags"] == ["versand"]
    assert "order_id" not in kept["links"]
    assert "Noch etwas" in [e["text"] for e in kept["items"]]  # it came after the merge: it stays
    assert (
        http.post(f"/api/service/cases/{duplicate['id']}/unmerge", headers=bearer(admin_token)).status_code
        == 404
    )
    hub.audit.flush()
    with read_tx(hub.engine) as conn:
        actions = [a["action"] for a in access_entries(conn, [pid], 100, None)]
    assert "service.merge" in actions
    assert "service.unmerge" in actions


def test_cases_of_different_customers_never_merge(hub: Hub, http: httpx.Client, admin_token: str) -> None:
    one = _open(http, admin_token, customer(hub, "u-eins", email="eins@example.org"), "Eins")
    two = _open(http, admin_token, customer(hub, "u-zwei", email="zwei@example.org"), "Zwei")
    refused = http.post(
        f"/api/service/cases/{one['id']}/merge", json={"into": two["id"]}, headers=bearer(admin_token)
    )
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "other_customer"
    itself = http.post(
        f"/api/service/cases/{one['id']}/merge", json={"into": one["id"]}, headers=bearer(admin_token)
    )
    assert itself.status_code in (400, 422)
    assert itself.json()["error"]["field"] == "into"
