"""The hotline page works over real HTTP on both engines: the caller by name, her timeline in words
(German and English), a call logged with topic and outcome, a call turned into a case, a customer
created for an unknown number, and a call-back task finished with its outcome on the timeline."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from omnikanal.hub import Hub
from omnikanal.profiles.service import TimelineQuery
from tests.conftest import LiveServer
from tests.console_helpers import Shop, build_shop, csrf_of, give_phone, login, make_users, send_task

EVA_PHONE = "+491712345678"


@pytest.fixture
def shop(hub: Hub, http: httpx.Client) -> Shop:
    make_users(hub)
    shop = build_shop(http, hub)
    give_phone(http, hub, "kunde-4711", "0171 2345678")  # Eva's number, from the phone system
    return shop


@pytest.fixture
def agent(live_server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live_server.url, timeout=30) as client:
        assert login(client, "service").status_code == 303
        yield client


def _timeline(hub: Hub, profile_id: str) -> list[dict[str, Any]]:
    return list(hub.profiles.timeline(profile_id, TimelineQuery(limit=100))["events"])


def _log_call(agent: httpx.Client, profile_id: str, **fields: str) -> httpx.Response:
    page = agent.get("/console/hotline", params={"phone": EVA_PHONE}).text
    form = {"csrf": csrf_of(page), "phone": EVA_PHONE, "profile_id": profile_id} | fields
    return agent.post("/console/hotline/calls", data=form)


def test_the_caller_is_shown_by_name_with_the_timeline_in_german_words(
    shop: Shop, agent: httpx.Client
) -> None:
    page = agent.get("/console/hotline", params={"phone": EVA_PHONE}).text
    heading = re.search(r'<h2 id="h-caller">(.*?)</h2>', page, re.S)
    assert heading is not None
    assert "Eva Müller" in heading.group(1)
    assert f'title="Kundennummer {shop.eva}"' in heading.group(1)
    assert f">{shop.eva}<" not in page  # the id is on hover, not the text
    assert "Produkt angesehen" in page
    assert "Anmeldung" in page
    assert "Webshop" in page  # the channel in words too
    assert ">Product Viewed<" not in page
    assert ">identify<" not in page


def test_the_english_page_names_the_events_in_english(shop: Shop, agent: httpx.Client) -> None:
    page = agent.get("/console/hotline", params={"phone": EVA_PHONE, "lang": "en"}).text
    assert "Product viewed" in page
    assert "Sign-in" in page
    assert "Produkt angesehen" not in page


def test_a_logged_call_lands_on_the_timeline_with_its_topic_and_outcome(
    shop: Shop, hub: Hub, agent: httpx.Client
) -> None:
    done = _log_call(
        agent, shop.eva, topic="Lieferstatus", outcome="callback_agreed", outcome_text="ruft morgen an"
    )
    assert done.status_code == 303
    assert "done=logged" in done.headers["location"]
    calls = [e for e in _timeline(hub, shop.eva) if e["event"] == "Call Completed"]
    assert len(calls) == 1
    assert calls[0]["channel"] == "hotline"
    assert calls[0]["properties"]["topic"] == "Lieferstatus"
    assert calls[0]["properties"]["outcome"] == "callback_agreed"
    assert calls[0]["properties"]["agent"] == "staff:service"
    page = agent.get(done.headers["location"]).text
    assert "Der Anruf steht jetzt im Verlauf." in page
    assert ">Anruf</span>: Lieferstatus · Rückruf vereinbart · ruft morgen an" in page


def test_a_call_without_topic_or_with_an_unknown_outcome_is_refused_naming_it(
    shop: Shop, hub: Hub, agent: httpx.Client
) -> None:
    no_topic = _log_call(agent, shop.eva, topic=" ", outcome="solved")
    assert "error=topic_required" in no_topic.headers["location"]
    assert "Bitte das Thema des Anrufs angeben." in agent.get(no_topic.headers["location"]).text
    odd = _log_call(agent, shop.eva, topic="Rechnung", outcome="shouted")
    assert "error=invalid_outcome" in odd.headers["location"]
    assert not [e for e in _timeline(hub, shop.eva) if e["event"] == "Call Completed"]


def test_a_call_becomes_a_case_with_the_call_as_its_first_entry_once(
    shop: Shop, hub: Hub, agent: httpx.Client
) -> None:
    _log_call(agent, shop.eva, topic="Reklamation", outcome="complaint_recorded", note="Akku defekt")
    page = agent.get("/console/hotline", params={"phone": EVA_PHONE}).text
    assert "Diesen Anruf als Fall anlegen" in page
    message_id = re.search(r'name="message_id" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    form = {"csrf": csrf_of(page), "phone": EVA_PHONE, "profile_id": shop.eva, "message_id": message_id}
    done = agent.post("/console/hotline/calls/case", data=form)
    assert "done=case" in done.headers["location"]
    cases = hub.service.desk.list_cases({}, shop.eva, None, 10)["items"]
    assert len(cases) == 1
    case = hub.service.desk.get(cases[0]["id"])
    assert case["subject"] == "Reklamation"
    assert case["queue"] == "hotline"
    first = case["items"][0]
    assert first["kind"] == "call"
    assert "Akku defekt" in first["text"]
    assert "Case Opened" in [e["event"] for e in _timeline(hub, shop.eva)]
    again = agent.post("/console/hotline/calls/case", data=form)
    assert "done=has_case" in again.headers["location"]
    assert len(hub.service.desk.list_cases({}, shop.eva, None, 10)["items"]) == 1


def test_an_unknown_caller_becomes_a_customer_with_the_number_in_e164(
    shop: Shop, hub: Hub, agent: httpx.Client
) -> None:
    page = agent.get("/console/hotline", params={"phone": "030 1234567"}).text
    assert "Zu dieser Nummer gibt es keinen Kunden." in page
    form = {"csrf": csrf_of(page), "phone": "030 1234567", "name": "Karl Klein"}
    done = agent.post("/console/hotline/callers", data=form)
    assert "done=created" in done.headers["location"]
    profile = hub.profiles.lookup("phone", "+49301234567")
    assert [i["value"] for i in profile["identifiers"] if i["type"] == "phone"] == ["+49301234567"]
    after = agent.get(done.headers["location"]).text
    assert "Karl Klein" in after
    assert "Der Kunde ist angelegt." in after
    junk = agent.post("/console/hotline/callers", data={"csrf": csrf_of(page), "phone": "12"})
    assert "error=invalid_phone" in junk.headers["location"]


def test_a_finished_call_back_task_shows_its_outcome_on_the_timeline(
    shop: Shop, hub: Hub, live_server: LiveServer, agent: httpx.Client
) -> None:
    with httpx.Client(base_url=live_server.url) as api:
        send_task(api, hub, shop.eva, "hotline", "call", "Rückruf erbeten", "Frau Müller bittet um Rückruf.")
    page = agent.get("/console/hotline").text
    task_id = re.search(r'action="/console/hotline/tasks/([^"]+)"', page).group(1)  # type: ignore[union-attr]
    csrf = csrf_of(page)
    agent.post(f"/console/hotline/tasks/{task_id}", data={"csrf": csrf, "action": "claim"})
    empty = agent.post(f"/console/hotline/tasks/{task_id}", data={"csrf": csrf, "action": "complete"})
    assert "error=outcome_required" in empty.headers["location"]
    done = agent.post(
        f"/console/hotline/tasks/{task_id}",
        data={"csrf": csrf, "action": "complete", "outcome": "Termin vereinbart"},
    )
    assert "done=task_done" in done.headers["location"]
    finished = [e for e in _timeline(hub, shop.eva) if e["event"] == "Task Completed"]
    assert len(finished) == 1
    assert finished[0]["channel"] == "hotline"
    assert finished[0]["properties"]["outcome"] == "Termin vereinbart"
    assert finished[0]["properties"]["completed_by"] == "staff:service"
    history = agent.get("/console/hotline", params={"phone": EVA_PHONE}).text
    assert ">Aufgabe erledigt</span>: Rückruf erbeten · Termin vereinbart" in history


def test_every_arrow_link_on_the_hotline_page_has_a_readable_name(
    shop: Shop, hub: Hub, live_server: LiveServer, agent: httpx.Client
) -> None:
    with httpx.Client(base_url=live_server.url) as api:
        send_task(api, hub, shop.eva, "hotline", "call", "Rückruf erbeten", "Bitte zurückrufen.")
    page = agent.get("/console/hotline", params={"phone": EVA_PHONE}).text
    links = re.findall(r"<a\b([^>]*)>(.*?)</a>", page, re.S)
    arrows = [(attrs, text) for attrs, text in links if "→" in text]
    assert arrows, "the task list links to its customer"
    for attrs, text in arrows:
        readable = text.replace("→", "").strip()
        assert "aria-label=" in attrs or readable, attrs
    assert 'aria-label="Kunde Eva Müller öffnen"' in page
