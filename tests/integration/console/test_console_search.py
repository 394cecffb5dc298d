"""Customer search pages through every hit instead of stopping at the first page's rows."""

from __future__ import annotations

import re

import httpx
import pytest

from omnikanal.hub import Hub
from omnikanal.settings import Settings
from tests.conftest import LiveServer
from tests.console_helpers import login, make_users

ROWS = 5
PEOPLE = 12


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"console_page_rows": ROWS})


def _people(hub: Hub) -> None:
    source = hub.sources.create("crm", "erp")[0]
    batch = [
        {"type": "identify", "userId": f"kd-{n}", "traits": {"firstName": f"P{n}", "lastName": "Blumenthal"}}
        for n in range(PEOPLE)
    ]
    assert hub.ingest.ingest(source, batch).accepted == PEOPLE


def _page(client: httpx.Client, page: int) -> str:
    answer = client.get("/console/customers", params={"q": "Blumenthal", "page": page, "lang": "en"})
    assert answer.status_code == 200
    return answer.text


def test_search_hits_page_on_until_every_customer_was_shown_once(hub: Hub, live_server: LiveServer) -> None:
    make_users(hub)
    _people(hub)
    with httpx.Client(base_url=live_server.url, timeout=30) as client:
        assert login(client, "service").status_code == 303
        seen: list[str] = []
        pages = 0
        page = 1
        while True:
            html = _page(client, page)
            pages += 1
            names = re.findall(r'<a href="/console/customers/prof_[^"]+">([^<]+)</a>', html)
            assert len(names) <= ROWS
            seen.extend(names)
            if 'rel="next"' not in html:
                break
            assert f"page={page + 1}" in html
            page += 1
        assert pages == -(-PEOPLE // ROWS)
        assert sorted(seen) == sorted(f"P{n} Blumenthal" for n in range(PEOPLE))
        assert 'rel="prev"' in html
        assert 'rel="prev"' not in _page(client, 1)


def test_a_page_past_the_limit_is_refused_by_name(hub: Hub, live_server: LiveServer) -> None:
    make_users(hub)
    with httpx.Client(base_url=live_server.url, timeout=30) as client:
        assert login(client, "service").status_code == 303
        for page in ("0", "101", "zwei"):
            answer = client.get("/console/customers", params={"q": "x", "page": page})
            assert answer.status_code == 400
            assert "page" in answer.text
