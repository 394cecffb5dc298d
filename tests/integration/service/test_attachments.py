"""Attachments of inbound mail over real SMTP on both engines: an allowed file within the limit is
kept and downloadable by staff who may read the case (a store's staff of another queue may not);
a file of a type not allowed, or too large, is refused and named on the entry; erasure deletes them."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage

import httpx
import pytest

from omnikanal.hub import Hub
from omnikanal.settings import Settings
from tests.integration.messaging.support import bearer

PDF = b"%PDF-1.4\n" + b"0" * 500


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"service_attachment_max_bytes": 2_000})


def _send_with_files(port: int) -> None:
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = "datei@example.net", "service@shop.example", "Rechnung anbei"
    mail.set_content("Siehe Anhang.")
    mail.add_attachment(PDF, maintype="application", subtype="pdf", filename="Rechnung März.pdf")
    mail.add_attachment(b"MZ\x90\x00", maintype="application", subtype="x-msdownload", filename="tool.exe")
    mail.add_attachment(b"\x89PNG" + b"1" * 5_000, maintype="image", subtype="png", filename="../../big.png")
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
        client.send_message(mail)


def test_allowed_attachments_are_kept_and_downloadable_others_refused(
    hub: Hub, http: httpx.Client, admin_token: str, inbound_port: int
) -> None:
    _send_with_files(inbound_port)
    profile = hub.profiles.lookup("email", "datei@example.net")
    [case] = http.get(
        "/api/service/cases", params={"profile_id": profile["id"]}, headers=bearer(admin_token)
    ).json()["items"]
    full = http.get(f"/api/service/cases/{case['id']}", headers=bearer(admin_token)).json()
    [entry] = [e for e in full["items"] if e["kind"] == "inbound"]
    [kept] = entry["attachments"]
    assert (kept["filename"], kept["content_type"], kept["size"]) == (
        "Rechnung März.pdf",
        "application/pdf",
        len(PDF),
    )
    refused = {r["filename"]: r["reason"] for r in entry["data"]["attachments_refused"]}
    assert refused == {"tool.exe": "content type not allowed", "big.png": "larger than 2000 bytes"}

    file = http.get(kept["url"], headers=bearer(admin_token))
    assert file.status_code == 200
    assert file.content == PDF
    assert file.headers["content-type"] == "application/pdf"
    assert file.headers["content-disposition"].startswith('attachment; filename="Rechnung M_rz.pdf"')
    assert file.headers["x-content-type-options"] == "nosniff"
    till = hub.tokens.create("till", "store", store_id="store-mitte")[1]
    assert http.get(kept["url"], headers=bearer(till)).status_code == 403  # not her store's queue
    assert http.get("/api/service/attachments/att_none", headers=bearer(admin_token)).status_code == 404

    dpo = hub.tokens.create("dpo", "privacy")[1]
    erased = http.post(
        "/api/privacy/requests", json={"type": "erasure", "profile_id": profile["id"]}, headers=bearer(dpo)
    )
    assert erased.status_code == 201, erased.text
    assert http.get(kept["url"], headers=bearer(admin_token)).status_code == 404
