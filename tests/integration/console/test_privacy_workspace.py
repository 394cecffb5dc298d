"""The privacy officer's workspace over real HTTP on both engines: the queue with deadlines, an
export filed, run, read and downloaded, an erasure that needs its confirmation and leaves a receipt,
the access log and the consent history with its proof; and who may do which of it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from omnikanal.consent.model import ConsentChange, ConsentStatus
from omnikanal.hub import Hub
from omnikanal.privacy.model import RequestType
from tests.conftest import LiveServer
from tests.console_helpers import Shop, build_shop, csrf_of, login, make_users

ARTEFACTS = Path("test-artifacts")
ARTEFACTS.mkdir(exist_ok=True)


@pytest.fixture
def shop(hub: Hub, http: httpx.Client) -> Shop:
    make_users(hub)
    return build_shop(http, hub)


@pytest.fixture
def officer(live_server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live_server.url, timeout=30) as client:
        assert login(client, "privacy").status_code == 303
        yield client


def _visible_text(html: str) -> str:
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", body))


def test_only_the_privacy_role_and_admin_open_the_workspace(shop: Shop, live_server: LiveServer) -> None:
    for username, expected in (("privacy", 200), ("admin", 200), ("marketing", 403), ("service", 403)):
        with httpx.Client(base_url=live_server.url, timeout=30) as client:
            login(client, username)
            assert client.get("/console/privacy").status_code == expected, username


def test_an_export_is_filed_run_read_in_german_and_downloaded(
    shop: Shop, officer: httpx.Client, hub: Hub
) -> None:
    queue = officer.get("/console/privacy")
    assert queue.status_code == 200
    filed = officer.post(
        "/console/privacy/requests",
        data={"csrf": csrf_of(queue.text), "type": "export", "identifier": "eva@example.de"},
    )
    assert filed.status_code == 303
    page_url = filed.headers["location"]
    request_id = page_url.rsplit("/", 1)[-1]
    assert hub.privacy.get(request_id)["profile_id"] == shop.eva

    listed = officer.get("/console/privacy").text
    assert "Eva Müller" in listed
    assert "Auskunft (Art. 15)" in listed
    assert re.search(r"noch (28|29|30|31) Tage", listed)
    assert shop.eva not in _visible_text(listed)  # the id only on hover

    page = officer.get(page_url).text
    ran = officer.post(f"{page_url}/run", data={"csrf": csrf_of(page)})
    assert ran.status_code == 303
    assert hub.privacy.get(request_id)["status"] == "completed"
    done = officer.get(page_url).text
    assert "Erledigt" in done
    assert f"{page_url}/export" in done

    readable = officer.get(f"{page_url}/export")
    assert readable.status_code == 200
    text = _visible_text(readable.text)
    (ARTEFACTS / "privacy-export-de.txt").write_text(text)
    for heading in ("Profil und Kontakte", "Einwilligungen", "Kennungen", "Merkmale", "Eva"):
        assert heading in text, heading
    assert "{" not in text
    assert '":' not in text
    assert "created_at" not in text

    english = _visible_text(officer.get(f"{page_url}/export?lang=en").text)
    assert "Profile and contacts" in english
    assert "Identifiers" in english

    download = officer.get(f"{page_url}/export.json")
    assert download.status_code == 200
    assert download.headers["content-type"] == "application/json"
    assert download.json()["profile_id"] == shop.eva

    log = officer.get(f"/console/privacy/people/{shop.eva}/access-log?lang=de").text
    assert "Auskunft heruntergeladen" in log
    assert "Mitarbeiter/in privacy" in log


def test_an_erasure_needs_its_confirmation_and_leaves_a_receipt(
    shop: Shop, officer: httpx.Client, hub: Hub
) -> None:
    filed = hub.privacy.file(RequestType.ERASURE, profile_id=shop.other, origin="api", requested_by="t")
    url = f"/console/privacy/requests/{filed['id']}"
    page = officer.get(url).text
    assert f"{url}/erase" in page
    assert f'action="{url}/run"' not in page

    confirm = officer.get(f"{url}/erase").text
    assert "Jonas Berg" in confirm
    assert "nicht rückgängig" in confirm
    csrf = csrf_of(confirm)
    unconfirmed = officer.post(f"{url}/run", data={"csrf": csrf, "word": "LÖSCHEN"})
    assert unconfirmed.status_code == 303
    assert unconfirmed.headers["location"].endswith("/erase?error=confirm")
    wrong_word = officer.post(f"{url}/run", data={"csrf": csrf, "identity": "checked", "word": "ja"})
    assert wrong_word.headers["location"].endswith("/erase?error=confirm")
    assert hub.privacy.get(filed["id"])["status"] == "received"
    assert "Bitte die Identitätsprüfung" in officer.get(f"{url}/erase?error=confirm").text

    erased = officer.post(f"{url}/run", data={"csrf": csrf, "identity": "checked", "word": "löschen"})
    assert erased.status_code == 303
    assert erased.headers["location"] == f"{url}/receipt"
    assert hub.privacy.get(filed["id"])["status"] == "completed"
    receipt = _visible_text(officer.get(f"{url}/receipt").text)
    assert "Löschbestätigung" in receipt
    assert "Gesperrte Kennungen" in receipt
    assert "Profil und Kontakte" in receipt  # the areas by name, not "core"
    assert "Jonas" not in receipt


def test_admin_sees_the_queue_but_may_not_erase(shop: Shop, live_server: LiveServer, hub: Hub) -> None:
    filed = hub.privacy.file(RequestType.ERASURE, profile_id=shop.other, origin="api", requested_by="t")
    url = f"/console/privacy/requests/{filed['id']}"
    with httpx.Client(base_url=live_server.url, timeout=30) as admin:
        login(admin, "admin")
        page = admin.get(url)
        assert page.status_code == 200
        assert f"{url}/erase" not in page.text
        assert admin.get(f"{url}/erase").status_code == 403
        data = {"csrf": csrf_of(page.text), "identity": "checked", "word": "ERASE"}
        assert admin.post(f"{url}/run", data=data).status_code == 403
    assert hub.privacy.get(filed["id"])["status"] == "received"


def test_a_form_without_the_csrf_token_runs_nothing(shop: Shop, officer: httpx.Client, hub: Hub) -> None:
    filed = hub.privacy.file(RequestType.EXPORT, profile_id=shop.other, origin="api", requested_by="t")
    refused = officer.post(f"/console/privacy/requests/{filed['id']}/run", data={"csrf": "forged"})
    assert refused.status_code == 403
    assert hub.privacy.get(filed["id"])["status"] == "received"


def test_consent_history_shows_the_proof_in_words(shop: Shop, officer: httpx.Client, hub: Hub) -> None:
    proof = {"ip": "203.0.113.7", "staff_user": "kasse-3"}
    change = ConsentChange("analytics", ConsentStatus.GRANTED, channel="store", proof=proof)
    hub.consent.record(shop.eva, [change], source="test", actor="t")
    page = officer.get(f"/console/privacy/people/{shop.eva}/consents")
    assert page.status_code == 200
    text = _visible_text(page.text)
    assert "IP-Adresse 203.0.113.7" in text
    assert "Mitarbeiter/in kasse-3" in text
    assert "Angebote per SMS" in text
    assert "Erteilt" in text
    assert "sms_marketing" not in text
    assert "granted" not in text

    found = officer.get("/console/privacy/people", params={"q": "eva@example.de"}, follow_redirects=False)
    assert found.headers["location"] == f"/console/privacy/people/{shop.eva}/consents"
    unknown = officer.get("/console/privacy/people", params={"q": "nobody@example.de"}, follow_redirects=True)
    assert "Keine Person mit dieser Kennung" in unknown.text
    whole_log = officer.get("/console/privacy/access-log").text
    assert "Einwilligungen mit Nachweis gelesen" in whole_log
    assert "Eva Müller" in whole_log


def test_the_customer_view_names_requests_as_the_queue_does_and_sends_an_erasure_to_its_confirmation(
    shop: Shop, officer: httpx.Client, hub: Hub
) -> None:
    hub.privacy.file(RequestType.EXPORT, profile_id=shop.other, origin="api", requested_by="t")
    erasure = hub.privacy.file(RequestType.ERASURE, profile_id=shop.other, origin="api", requested_by="t")
    page = officer.get(f"/console/customers/{shop.other}?lang=de").text
    section = _visible_text(page.split('id="h-dsr"', 1)[1].split("</section>", 1)[0])
    for label in ("Auskunft (Art. 15)", "Löschung (Art. 17)", "Offen"):
        assert label in section, label
    for raw in ("export", "erasure", "received"):
        assert not re.search(rf"\b{raw}\b", section), raw
    english = officer.get(f"/console/customers/{shop.other}?lang=en").text
    assert "Access (Art. 15)" in english
    assert "Erasure (Art. 17)" in english
    # the erasure is a link to the confirmation step, and its old one-click form leads there too
    assert f'href="/console/privacy/requests/{erasure["id"]}/erase"' in page
    ran = officer.post(
        f"/console/customers/{shop.other}/privacy/{erasure['id']}/run", data={"csrf": csrf_of(page)}
    )
    assert ran.status_code == 303
    assert ran.headers["location"] == f"/console/privacy/requests/{erasure['id']}/erase"
    assert hub.privacy.get(erasure["id"])["status"] == "received"
