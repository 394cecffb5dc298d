"""The segment builder over real HTTP on both engines: rules from a form become a condition with a
live count and the JSON beside it, a segment's members page by page with names, the CSV export, and
deleting behind a confirmation step; readers may look but not change."""

from __future__ import annotations

import csv
import io
import re

import httpx
import pytest

from omnikanal.console.segment_form import builder_of, builder_of_form, condition_of
from omnikanal.hub import Hub
from tests.conftest import LiveServer
from tests.console_helpers import Shop, build_shop, csrf_of, login, make_users

RULES = {
    "match": "all",
    "r0_kind": "trait",
    "r0_subject": "lastName",
    "r0_op": "eq",
    "r0_value": "Müller",
    "r1_kind": "event",
    "r1_subject": "Product Viewed",
    "r1_min": "1",
    "r1_days": "30",
    "r2_kind": "",
}


@pytest.fixture
def shop(hub: Hub, http: httpx.Client) -> Shop:
    make_users(hub)
    return build_shop(http, hub)


def _client(live_server: LiveServer, username: str) -> httpx.Client:
    client = httpx.Client(base_url=live_server.url, timeout=30)
    assert login(client, username).status_code == 303
    return client


def test_form_rows_and_conditions_go_both_ways() -> None:
    built = condition_of(builder_of_form(RULES))
    assert built == {
        "all": [
            {"trait": {"key": "lastName", "op": "eq", "value": "Müller"}},
            {"event": {"name": "Product Viewed", "within_days": 30, "min": 1}},
        ]
    }
    assert condition_of(builder_of(built)) == built
    negated = {"not": {"event": {"name": "Order Completed", "within_days": 14, "max": 0}}}
    rows = builder_of(negated).rows
    assert [(r.kind, r.negate, r.days) for r in rows] == [("no_event", True, "14")]


def test_marketing_builds_a_segment_with_a_live_count_and_sees_its_members(
    shop: Shop, live_server: LiveServer, hub: Hub
) -> None:
    client = _client(live_server, "marketing")
    page = client.get("/console/segments/new?lang=de").text
    assert "hat eine Aktion ausgeführt" in page  # the rule kinds in words
    csrf = csrf_of(page)

    counted = client.post("/console/segments/count", data={**RULES, "csrf": csrf, "source": "form"})
    assert counted.status_code == 200
    assert counted.json()["count"] == 1
    assert counted.json()["text"] == "1 Kunden erfüllen die Regeln"
    assert '"lastName"' in counted.json()["condition"]  # the JSON follows the form
    wrong = dict(RULES, r1_days="100000")
    refused = client.post("/console/segments/count", data={**wrong, "csrf": csrf, "source": "form"})
    assert refused.status_code == 400
    assert "within_days" in refused.json()["error"]
    forged = client.post("/console/segments/count", data={**RULES, "csrf": "x", "source": "form"})
    assert forged.status_code == 403

    saved = client.post(
        "/console/segments",
        data={**RULES, "csrf": csrf, "source": "form", "name": "Müllers", "action": "save"},
    )
    assert saved.status_code == 303
    segment = next(s for s in hub.segments.all() if s["name"] == "Müllers")
    assert segment["member_count"] == 1
    edit = client.get(f"/console/segments/{segment['id']}").text
    assert 'value="lastName"' in edit  # the rule is back in the form
    assert "&#34;Product Viewed&#34;" in edit or '"Product Viewed"' in edit  # and in the JSON box

    members = client.get(f"/console/segments/{segment['id']}/members").text
    assert "Eva Müller" in members
    assert "eva@example.de" in members
    export = client.get(f"/console/segments/{segment['id']}/members.csv")
    assert export.status_code == 200
    rows = list(csv.DictReader(io.StringIO(export.text)))
    assert [(r["profile_id"], r["name"], r["email"]) for r in rows] == [
        (shop.eva, "Eva Müller", "eva@example.de")
    ]
    client.close()


def test_deleting_a_segment_asks_first_and_readers_may_not(
    shop: Shop, live_server: LiveServer, hub: Hub
) -> None:
    made = hub.segments.create(
        "Alle Bergs", None, {"trait": {"key": "lastName", "op": "eq", "value": "Berg"}}, "t"
    )
    url = f"/console/segments/{made['id']}"
    reader = _client(live_server, "service")
    page = reader.get(f"{url}/members").text
    assert "Jonas Berg" in page
    assert f"{url}/delete" not in page
    assert reader.get(f"{url}/delete").status_code == 403
    assert reader.post(f"{url}/delete", data={"csrf": csrf_of(page)}).status_code == 403
    reader.close()

    client = _client(live_server, "marketing")
    confirm = client.get(f"{url}/delete?lang=de").text
    assert "1 Mitgliedern wird gelöscht" in confirm
    done = client.post(f"{url}/delete", data={"csrf": csrf_of(confirm)})
    assert done.status_code == 303
    assert all(s["id"] != made["id"] for s in hub.segments.all())
    listing = client.get(done.headers["location"]).text
    assert re.search(r"Segment „Alle Bergs“ gelöscht; 1 Mitglieder ausgetreten", listing)
    client.close()
