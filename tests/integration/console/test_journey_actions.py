"""Journeys from the console over real HTTP: a document checked (a problem named with its place),
created as a draft from the JSON or from the form with every step kind, edited into a new version,
activated and paused; readers may not change them."""

from __future__ import annotations

import json

import httpx
import pytest

from omnikanal.console.journey_actions import EXAMPLE
from omnikanal.console.journey_form_load import form_of_document
from omnikanal.hub import Hub
from tests.conftest import LiveServer
from tests.console_helpers import Shop, build_shop, csrf_of, login, make_users
from tests.journey_documents import EVERY_KIND, posted


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
        # the place of the problem and what is wrong, in German
        assert "Schritt 1, Dauer (z. B. PT2H, P3D): „nie“ ist keine Dauer wie P3D" in refused.text
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


def test_a_journey_with_every_step_kind_is_made_from_the_form_and_edited_into_a_new_version(
    shop: Shop, live_server: LiveServer, hub: Hub
) -> None:
    hub.segments.create(
        "Stammkunden", None, {"trait": {"key": "lastName", "op": "eq", "value": "Müller"}}, "t"
    )
    fields = posted(form_of_document(EVERY_KIND))
    with httpx.Client(base_url=live_server.url, timeout=30) as client:
        login(client, "marketing")
        page = client.get("/console/journeys/new?lang=de").text
        for kind in ("Warten", "Warten auf", "Verzweigung", "A/B-Test", "Nachricht", "Merkmal setzen"):
            assert f">{kind}</option>" in page, kind
        csrf = csrf_of(page)
        checked = client.post("/console/journeys/new", data={"csrf": csrf, "action": "validate", **fields})
        assert checked.status_code == 200
        assert "Das Dokument ist gültig." in checked.text
        assert (
            "Eine Vorlage „<code>cart-reminder</code>“ gibt es noch nicht." in checked.text
        )  # a warning, in German
        made = client.post("/console/journeys/new", data={"csrf": csrf, "action": "create", **fields})
        assert made.status_code == 303, made.text
        journey_id = made.headers["location"].rsplit("/", 1)[-1]
        assert hub.journeys.get(journey_id)["document"] == EVERY_KIND

        edit = client.get(f"/console/journeys/{journey_id}/edit").text
        assert 'value="Warenkorb liegt"' not in edit  # a text is a textarea's content
        assert ">Warenkorb liegt</textarea>" in edit
        assert 'name="s3_v1_next" value="frage"' in edit
        changed = {**fields, "s0_duration": "PT3H"}
        saved = client.post(
            f"/console/journeys/{journey_id}/edit", data={"csrf": csrf, "action": "create", **changed}
        )
        assert saved.status_code == 303
    journey = hub.journeys.get(journey_id)
    assert journey["version"] == 2
    assert journey["document"]["steps"][0] == {"id": "warten", "wait": {"duration": "PT3H"}}


def test_a_refused_form_names_the_step_and_field_in_the_page_language(
    shop: Shop, live_server: LiveServer, hub: Hub
) -> None:
    fields = {"source": "form", "name": "Kaputt", "trigger": "event", "trigger_subject": "Signed Up"}
    fields |= {"s0_kind": "wait", "s0_duration": "P1D", "s1_kind": "send", "s1_channel": "email"}
    fields |= {"s1_template": "x", "s1_next": "fehlt"}
    with httpx.Client(base_url=live_server.url, timeout=30) as client:
        login(client, "marketing")
        csrf = csrf_of(client.get("/console/journeys/new").text)
        german = client.post(
            "/console/journeys/new?lang=de", data={"csrf": csrf, "action": "create", **fields}
        )
        assert german.status_code == 400
        assert (
            "Schritt 2, weiter mit (Kennung, sonst der folgende Schritt): "
            "Es gibt keinen Schritt mit der Kennung „fehlt“." in german.text
        )
        assert 'id="s1_next" name="s1_next" value="fehlt" size="16" aria-invalid="true"' in german.text
        assert "no step with id" not in german.text
        fields["s0_duration"] = "bald"
        english = client.post(
            "/console/journeys/new?lang=en", data={"csrf": csrf, "action": "validate", **fields}
        )
        assert "Step 1, Duration (e.g. PT2H, P3D): &#39;bald&#39; is not a duration like P3D" in english.text
        fields |= {"s0_duration": "P1D", "s1_next": "", "s2_kind": "split", "s2_holdout": "viel"}
        no_variant = client.post(
            "/console/journeys/new?lang=de", data={"csrf": csrf, "action": "validate", **fields}
        )
        assert "Schritt 3, Varianten: Bitte ausfüllen." in no_variant.text
        fields |= {"s2_v0_name": "A", "s2_v0_next": "schritt-1"}
        unknown = client.post(
            "/console/journeys/new?lang=de", data={"csrf": csrf, "action": "validate", **fields}
        )
        assert "Schritt 3, Kontrollgruppe (%): Bitte eine ganze Zahl angeben." in unknown.text
    assert hub.journeys.all() == []
