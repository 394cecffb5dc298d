"""The console writes numbers as its reader's language does, and every overview chart has the
figures behind it as a table."""

from __future__ import annotations

import re

import httpx
import pytest

from omnikanal.hub import Hub
from tests.conftest import LiveServer
from tests.console_helpers import Shop, build_shop, login, make_users


@pytest.fixture
def shop(hub: Hub, http: httpx.Client) -> Shop:
    make_users(hub)
    return build_shop(http, hub)


def _overview(live_server: LiveServer, lang: str) -> str:
    with httpx.Client(base_url=live_server.url, timeout=30) as client:
        assert login(client, "admin").status_code == 303
        page = client.get("/console", params={"lang": lang})
        assert page.status_code == 200
        return page.text


def _summary(html: str) -> str:
    return html.split('<p class="card">')[1].split("</p>")[0]


def test_the_overview_writes_money_days_and_shares_in_german_and_in_english(
    shop: Shop, live_server: LiveServer
) -> None:
    german, english = _summary(_overview(live_server, "de")), _summary(_overview(live_server, "en"))
    assert re.search(r"<strong>\d{1,3}(\.\d{3})*,\d{2}\xa0€</strong>", german), german
    assert re.search(r"<strong>€\d{1,3}(,\d{3})*\.\d{2}</strong>", english), english
    assert re.search(r"\d+ Tage,", german)
    assert re.search(r"\d+ days,", english)
    assert re.search(r"\d+(,\d)?\xa0%", german)
    assert re.search(r"\d+(\.\d)?%", english)
    assert " EUR" not in german + english
    assert " d," not in german + english


def test_each_overview_chart_has_a_table_whose_figures_add_up_to_the_summary(
    shop: Shop, live_server: LiveServer
) -> None:
    html = _overview(live_server, "en")
    tables = re.findall(r'<details class="chart-data">(.*?)</details>', html, re.S)
    assert len(tables) == len(re.findall(r'data-chart="chart-', html)) == 5
    events = next(t for t in tables if "Events per channel" in t.split("</summary>")[0])
    cells = re.findall(r'<td class="num">([\d,]+)</td>', events)
    total = sum(int(c.replace(",", "")) for c in cells)
    shown = re.search(r"Events: <strong>([\d,]+)</strong>", html)
    assert shown, _summary(html)
    assert total == int(shown.group(1).replace(",", "")) > 0
    # the days are the rows, each read out as the row's heading
    assert re.search(r'<th scope="row">\d{4}-\d{2}-\d{2}</th>', events)


LANGS = ("de", "en")

# Emoji, pictographs and the symbols once used as channel icons (☎): what rendered as empty boxes
# without a colour emoji font.
EMOJI = re.compile("[\U0001f300-\U0001faff\u2600-\u26ff\u2709]")


def test_channels_show_as_svg_icons_with_their_name_not_as_emoji(shop: Shop, live_server: LiveServer) -> None:
    with httpx.Client(base_url=live_server.url, timeout=30) as client:
        assert login(client, "admin").status_code == 303
        page = client.get(f"/console/customers/{shop.eva}").text
    icons = re.findall(r'<span class="icon" role="img" aria-label="([a-z]+)"[^>]*>\s*<svg ([^>]*)>', page)
    assert {"web", "pos"} <= {name for name, _ in icons}, icons
    assert all('aria-hidden="true"' in attrs for _, attrs in icons)
    assert not EMOJI.search(page)


def test_a_refused_scan_says_why_in_the_pages_language_not_the_apis_english(
    shop: Shop, live_server: LiveServer
) -> None:
    with httpx.Client(base_url=live_server.url, timeout=30) as client:
        assert login(client, "admin").status_code == 303
        asked = {"store": "store-mitte", "gtin": "40x"}
        pages = {lang: client.get("/console/store", params={**asked, "lang": lang}).text for lang in LANGS}
    assert "Die GTIN ist ungültig" in pages["de"]
    assert "The GTIN is not valid" in pages["en"]
    assert "must contain only the digits" not in pages["de"] + pages["en"]
