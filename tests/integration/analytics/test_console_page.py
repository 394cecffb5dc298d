"""The management page: models side by side, costs and returns, customers, paths, in German and
English, and the CSV export of the returns."""

from __future__ import annotations

import csv
import io
import json
import re

import httpx

from tests.console_helpers import PASSWORD, login
from tests.integration.analytics.support import World, event, order, since_until


def test_the_page_shows_the_models_returns_customers_and_paths_in_both_languages(world: World) -> None:
    url = "https://shop.example/?utm_source=google&utm_medium=cpc&utm_campaign=spring"
    world.send(world.web, event("page", "anna", 3, properties={"url": url}))
    world.send(world.till, order("anna", 2, "o1", 100))
    world.post_csv("date,source,cost\n2026-11-17,google,25\n")
    world.hub.staff.create_user("chefin", "marketing", PASSWORD, None)
    with httpx.Client(base_url=str(world.http.base_url), timeout=30) as client:
        assert login(client, "chefin").status_code == 303
        params = {**since_until(), "dimension": "source", "model": "first_touch"}
        german = client.get("/console/analytics", params=params)
        assert german.status_code == 200, german.text
        assert "Attributionsmodelle im Vergleich" in german.text
        assert "Mehrkanal- und Einkanalkunden" in german.text
        assert "google" in german.text
        assert "<td>4,00</td>" in german.text  # ROAS: 100 revenue on 25 cost, German decimals
        english = client.get("/console/analytics", params={**params, "lang": "en"})
        assert "<td>4.00</td>" in english.text
        assert "Attribution models side by side" in english.text
        assert "web → pos" not in english.text  # the dimension is the source here
        exported = client.get("/console/analytics.csv", params=params)
        assert exported.headers["content-type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(exported.text)))
        first = [r for r in rows if r["model"] == "first_touch" and r["key"] == "google"]
        assert first[0]["roas"] == "4.0"
        assert first[0]["cost_from"] == "import:costs.csv"


def test_without_any_conversion_the_page_says_so_instead_of_failing(world: World) -> None:
    world.hub.staff.create_user("chef", "marketing", PASSWORD, None)
    with httpx.Client(base_url=str(world.http.base_url), timeout=30) as client:
        assert login(client, "chef").status_code == 303
        page = client.get("/console/analytics", params={"lang": "en"})
        assert page.status_code == 200
        assert "No purchase recorded yet: nothing to attribute." in page.text
        german = client.get("/console/analytics", params={"lang": "de"})
        assert "Noch kein Kauf erfasst: ohne Käufe gibt es nichts zuzuordnen." in german.text


def test_the_page_draws_the_paths_as_a_sankey_and_shows_the_new_figures_with_csv(world: World) -> None:
    product = {"sku": "boots-1", "category": "shoes"}
    world.send(world.web, event("track", "anna", 5, event="Product Viewed", properties=product))
    line = {"order_id": "o1", "revenue": 90, "currency": "EUR", "products": [{**product, "price": 90}]}
    world.send(world.till, event("track", "anna", 2, event="Order Completed", properties=line))
    world.hub.staff.create_user("chefin", "marketing", PASSWORD, None)
    with httpx.Client(base_url=str(world.http.base_url), timeout=30) as client:
        assert login(client, "chefin").status_code == 303
        for lang, texts in {
            "de": (
                "Eigene Kosten des Hubs",
                "Kundenwert nach Akquisekanal",
                "1 von 1 Artikeln im Laden",
                "auf 35,0\xa0% Rohertrag, abgezinst mit 10,0\xa0% im Jahr",
                "Marge, abgezinst (Durchschnitt)",
            ),
            "en": (
                "own costs",
                "Customer lifetime value",
                "1 of 1 items bought in store",
                "on a 35.0% gross margin, discounted at 10.0% a year",
                "Margin, discounted (mean)",
            ),
        }.items():
            page = client.get("/console/analytics", params={**since_until(), "lang": lang})
            assert page.status_code == 200, page.text
            for text in texts:
                assert text in page.text, (lang, text)
        found = re.search(r'<script type="application/json" id="chart-sankey">(.*?)</script>', page.text)
        assert found is not None
        figure = json.loads(found.group(1))["data"][0]
        assert figure["type"] == "sankey"
        assert figure["node"]["label"] == ["1. web", "Purchase"]
        assert figure["link"] == {"source": [0], "target": [1], "value": [1]}
        assert "/console/static/plotly.min.js" in page.text
        preference = client.get("/console/analytics.csv", params={**since_until(), "table": "preference"})
        rows = list(csv.DictReader(io.StringIO(preference.text)))
        assert rows == [
            {"category": "shoes", "channel": "pos", "lines": "1", "share": "1.0", "value": "90.0"}
        ]
        paths = client.get("/console/analytics.csv", params={**since_until(), "table": "paths"})
        assert next(csv.DictReader(io.StringIO(paths.text)))["path"] == "web"
        bad = client.get("/console/analytics.csv", params={"table": "nope"})
        assert bad.status_code == 400


COAT_VIEWERS = {
    "event": {"name": "Product Viewed", "where": [{"key": "category", "op": "eq", "value": "coats"}]}
}


def test_choosing_a_segment_shows_its_members_omnichannel_figures(world: World) -> None:
    coat, boots = {"sku": "coat-1", "category": "coats"}, {"sku": "boots-1", "category": "shoes"}
    world.send(world.web, event("track", "anna", 6, event="Product Viewed", properties=coat))
    for user, product, price in (("anna", coat, 150), ("ben", boots, 90)):
        line = {
            "order_id": f"o-{user}",
            "revenue": price,
            "currency": "EUR",
            "products": [{**product, "price": price}],
        }
        world.send(world.till, event("track", user, 2, event="Order Completed", properties=line))
    segment = world.hub.segments.create("Mantelfans", None, COAT_VIEWERS, "test")
    world.process()
    world.hub.staff.create_user("chefin", "marketing", PASSWORD, None)
    with httpx.Client(base_url=str(world.http.base_url), timeout=30) as client:
        assert login(client, "chefin").status_code == 303
        params = {**since_until(), "dimension": "source", "model": "linear"}
        everyone = client.get("/console/analytics", params=params)
        assert "1 von 2 Artikeln im Laden" in everyone.text
        assert f'<option value="{segment["id"]}">Mantelfans</option>' in everyone.text
        assert "Alle anderen" not in everyone.text
        chosen = {**params, "segment": segment["id"]}
        german = client.get("/console/analytics", params=chosen)
        assert german.status_code == 200, german.text
        assert "Segment Mantelfans (Mitglieder: 1)" in german.text
        assert "1 von 1 Artikeln im Laden" in german.text  # anna's coat, viewed on the web before
        assert "Alle anderen: 0 von 1 Artikeln im Laden" in german.text  # ben's boots
        assert f'<option value="{segment["id"]}" selected>Mantelfans</option>' in german.text
        assert '<option value="source" selected>' in german.text  # the other parameters are kept
        assert '<option value="linear" selected>' in german.text
        english = client.get("/console/analytics", params={**chosen, "lang": "en"})
        assert "segment Mantelfans (members: 1)" in english.text
        assert "Everyone else: 0 of 1 items bought in store" in english.text
        assert '<option value="">All customers</option>' in english.text
        assert f"segment={segment['id']}" in english.text  # the downloads keep the segment
        preference = client.get("/console/analytics.csv", params={**chosen, "table": "preference"})
        assert [r["category"] for r in csv.DictReader(io.StringIO(preference.text))] == ["coats"]
