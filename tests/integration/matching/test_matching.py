"""Probabilistic matching end to end over HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

import re
import time
from typing import Any

import httpx

from omnikanal.hub import Hub
from omnikanal.matching.jobs import PROCESSOR

ANNA_SHOP = {
    "firstName": "Anna",
    "lastName": "Müller",
    "email": "anna.mueller@web.de",
    "birthday": "1984-03-12",
    "address": {"street": "Lindenstraße 12", "postalCode": "50667", "city": "Köln"},
}
# The same person's loyalty card, written by hand at the till: a typo in the email, no shared id.
ANNA_CARD = {
    "firstName": "Anna",
    "lastName": "Mueller",
    "email": "anna.meuller@web.de",
    "birthday": "12.03.1984",
    "address": {"street": "Lindenstr. 12", "postalCode": "50667", "city": "Koeln"},
}
NAMESAKE = {
    "firstName": "Anna",
    "lastName": "Müller",
    "birthday": "1990-07-01",
    "address": {"street": "Hauptstraße 3", "postalCode": "80331", "city": "München"},
}
JONAS_SHOP = {
    "firstName": "Jonas",
    "lastName": "Becker",
    "birthday": "1979-05-02",
    "address": {"street": "Gartenstraße 5", "postalCode": "10115", "city": "Berlin"},
}
# A note from the hotline: the name and a city nearby, nothing else: for a person to decide.
JONAS_HOTLINE = {"firstName": "Jonas", "lastName": "Becker", "address": {"city": "Potsdam"}}


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _process(hub: Hub) -> None:
    """Hand every committed event to the processors, until the matching processor is through."""
    deadline = time.monotonic() + 10
    while True:
        hub.runner.run_once()
        if hub.eventlog.behind(PROCESSOR) == 0:
            return
        assert time.monotonic() < deadline, "the matching processor stays behind"
        time.sleep(0.01)


def _identify(http: httpx.Client, key: str, traits: dict[str, Any], **ids: str) -> None:
    body = {("userId" if k == "user_id" else "anonymousId"): v for k, v in ids.items()}
    response = http.post("/v1/identify", json={**body, "traits": traits}, auth=(key, ""))
    assert response.status_code == 200, response.text


def _profile(http: httpx.Client, token: str, kind: str, value: str) -> str:
    response = http.get("/api/profiles/lookup", params={"type": kind, "value": value}, headers=_bearer(token))
    assert response.status_code == 200, response.text
    return str(response.json()["id"])


def test_a_loyalty_card_joins_the_webshop_customer_a_namesake_does_not_and_a_middling_pair_waits(
    hub: Hub, http: httpx.Client, make_channel, admin_token: str, trained_model: dict[str, Any]
) -> None:
    hub.matching.import_model(trained_model)
    shop, till = make_channel("webshop", "web").write_key, make_channel("store-koeln", "store").write_key
    _identify(http, shop, ANNA_SHOP, user_id="u-anna")
    _identify(http, till, ANNA_CARD, anonymous_id="card-0001")
    _identify(http, till, NAMESAKE, anonymous_id="card-0002")
    _identify(http, shop, JONAS_SHOP, user_id="u-jonas")
    _identify(http, till, JONAS_HOTLINE, anonymous_id="card-0003")
    _process(hub)

    report = hub.matching.run_changed()
    assert report is not None
    assert (report.merges, report.reviews) == (1, 1), report

    anna = _profile(http, admin_token, "user_id", "u-anna")
    assert _profile(http, admin_token, "anonymous_id", "card-0001") == anna
    assert _profile(http, admin_token, "anonymous_id", "card-0002") != anna
    merges = http.get(f"/api/profiles/{anna}/merges", headers=_bearer(admin_token)).json()["merges"]
    assert [m["reason"] for m in merges] == ["probabilistic"]

    queue = http.get("/api/matching/reviews", headers=_bearer(admin_token)).json()
    (item,) = queue["items"]
    jonas = _profile(http, admin_token, "user_id", "u-jonas")
    hotline = _profile(http, admin_token, "anonymous_id", "card-0003")
    assert {p["id"] for p in item["profiles"]} == {jonas, hotline}
    assert 0.5 <= item["probability"] < 0.99
    assert item["contributions"]["first_name"] > 0
    assert item["contributions"]["city"] < 0

    accepted = http.post(f"/api/matching/reviews/{item['id']}/accept", headers=_bearer(admin_token))
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["status"] == "accepted"
    assert accepted.json()["merge_id"]
    assert _profile(http, admin_token, "anonymous_id", "card-0003") == jonas
    twice = http.post(f"/api/matching/reviews/{item['id']}/accept", headers=_bearer(admin_token))
    assert twice.status_code == 409


def test_an_undone_probabilistic_merge_stays_undone(
    hub: Hub, http: httpx.Client, make_channel, admin_token: str, trained_model: dict[str, Any]
) -> None:
    hub.matching.import_model(trained_model)
    shop, till = make_channel("webshop", "web").write_key, make_channel("store-koeln", "store").write_key
    _identify(http, shop, ANNA_SHOP, user_id="u-anna")
    _identify(http, till, ANNA_CARD, anonymous_id="card-0001")
    _process(hub)
    hub.matching.run_changed()
    anna = _profile(http, admin_token, "user_id", "u-anna")
    (merge,) = http.get(f"/api/profiles/{anna}/merges", headers=_bearer(admin_token)).json()["merges"]
    undone = http.post(
        f"/api/profiles/{anna}/unmerge", json={"merge_id": merge["id"]}, headers=_bearer(admin_token)
    )
    assert undone.status_code == 200, undone.text

    # Both change again: matched again, the pair is not merged (nor proposed) a second time.
    _identify(http, shop, {**ANNA_SHOP, "gender": "female"}, user_id="u-anna")
    _identify(http, till, {**ANNA_CARD, "gender": "female"}, anonymous_id="card-0001")
    _process(hub)
    report = hub.matching.run_changed()
    assert report is not None
    assert report.merges == 0
    assert report.reviews == 0
    assert _profile(http, admin_token, "anonymous_id", "card-0001") != anna


def test_a_rejected_pair_is_never_proposed_again_and_deciding_needs_the_role(
    hub: Hub, http: httpx.Client, make_channel, admin_token: str, trained_model: dict[str, Any]
) -> None:
    hub.matching.import_model(trained_model)
    shop, till = make_channel("webshop", "web").write_key, make_channel("hotline", "hotline").write_key
    _identify(http, shop, JONAS_SHOP, user_id="u-jonas")
    _identify(http, till, JONAS_HOTLINE, anonymous_id="call-1")
    _process(hub)
    hub.matching.run_changed()
    (item,) = http.get("/api/matching/reviews", headers=_bearer(admin_token)).json()["items"]

    marketing = hub.tokens.create("campaigns", "marketing")[1]
    refused = http.post(f"/api/matching/reviews/{item['id']}/reject", headers=_bearer(marketing))
    assert refused.status_code == 403
    rejected = http.post(f"/api/matching/reviews/{item['id']}/reject", headers=_bearer(admin_token))
    assert rejected.json()["status"] == "rejected"

    _identify(http, till, {**JONAS_HOTLINE, "gender": "male"}, anonymous_id="call-1")
    _process(hub)
    report = hub.matching.run_changed()
    assert report is not None
    assert report.reviews == 0
    assert report.skipped == 1
    assert http.get("/api/matching/reviews", headers=_bearer(admin_token)).json()["items"] == []
    assert http.get("/api/matching/reviews/nope", headers=_bearer(admin_token)).status_code == 404


def test_two_user_ids_never_merge_by_themselves(
    hub: Hub, http: httpx.Client, make_channel, admin_token: str, trained_model: dict[str, Any]
) -> None:
    hub.matching.import_model(trained_model)
    shop = make_channel("webshop", "web").write_key
    _identify(http, shop, ANNA_SHOP, user_id="u-anna")
    _identify(http, shop, ANNA_CARD, user_id="u-anna-2")
    _process(hub)
    report = hub.matching.run_changed()
    assert report is not None
    assert report.refused == 1
    assert report.refusals == {"user_id_conflict": 1}
    assert _profile(http, admin_token, "user_id", "u-anna") != _profile(
        http, admin_token, "user_id", "u-anna-2"
    )


def test_impossible_birthdays_are_left_out_of_matching_and_the_record_kept(
    hub: Hub, http: httpx.Client, make_channel, admin_token: str, trained_model: dict[str, Any]
) -> None:
    hub.matching.import_model(trained_model)
    till = make_channel("store-koeln", "store").write_key
    _identify(http, till, {**ANNA_CARD, "birthday": "1984-00-12"}, anonymous_id="card-1")
    _identify(http, till, {**NAMESAKE, "birthday": "2999-01-01", "lastName": "!!"}, anonymous_id="card-2")
    _process(hub)
    report = hub.matching.run_changed()
    assert report is not None
    assert report.problems == 3
    pid = _profile(http, admin_token, "anonymous_id", "card-1")
    kept = http.get(f"/api/profiles/{pid}", headers=_bearer(admin_token)).json()
    assert kept["traits"]["birthday"]["value"] == "1984-00-12"


def test_a_full_run_compares_every_profile_once(
    hub: Hub, http: httpx.Client, make_channel, admin_token: str, trained_model: dict[str, Any]
) -> None:
    hub.matching.import_model(trained_model)
    shop, till = make_channel("webshop", "web").write_key, make_channel("store-koeln", "store").write_key
    _identify(http, shop, ANNA_SHOP, user_id="u-anna")
    _identify(http, till, ANNA_CARD, anonymous_id="card-0001")
    _identify(http, till, NAMESAKE, anonymous_id="card-0002")
    seen: list[int] = []
    report = hub.matching.run_all(seen.append)
    assert sum(seen) == 3
    assert report.profiles == 3
    assert report.merges == 1
    assert _profile(http, admin_token, "anonymous_id", "card-0001") == _profile(
        http, admin_token, "user_id", "u-anna"
    )
    again = hub.matching.run_all()
    assert again.merges == 0
    assert again.profiles == 2


def test_the_console_shows_both_profiles_side_by_side_and_merges_on_one_click(
    hub: Hub, http: httpx.Client, make_channel, live_server, trained_model: dict[str, Any]
) -> None:
    hub.matching.import_model(trained_model)
    hub.staff.create_user("sven", "service", "a long enough password 1", None)
    shop, till = make_channel("webshop", "web").write_key, make_channel("hotline", "hotline").write_key
    _identify(http, shop, JONAS_SHOP, user_id="u-jonas")
    _identify(http, till, JONAS_HOTLINE, anonymous_id="call-1")
    _process(hub)
    hub.matching.run_changed()

    with httpx.Client(base_url=live_server.url, timeout=30) as browser:
        login = browser.post(
            "/console/login", data={"username": "sven", "password": "a long enough password 1"}
        )
        assert login.status_code in (200, 303)
        german = browser.get("/console/matching")
        assert german.status_code == 200
        assert "Dubletten prüfen" in german.text
        assert "gartenstrasse 5" in german.text
        assert "potsdam" in german.text
        english = browser.get("/console/matching", params={"lang": "en"})
        assert "Keep apart" in english.text
        csrf = re.search(r'<meta name="csrf-token" content="([^"]+)"', english.text)
        assert csrf is not None
        pair_id = hub.matching.queue(10)["items"][0]["id"]
        done = browser.post(
            f"/console/matching/{pair_id}",
            data={"csrf": csrf.group(1), "decision": "accept"},
            follow_redirects=False,
        )
        assert done.status_code == 303
    assert hub.matching.item(pair_id)["status"] == "accepted"
    assert hub.matching.item(pair_id)["decided_by"] == "staff:sven"


def test_an_erasure_removes_the_card_and_the_pairs_of_the_person(
    hub: Hub, http: httpx.Client, make_channel, admin_token: str, trained_model: dict[str, Any]
) -> None:
    from omnikanal.matching.store import cards
    from omnikanal.privacy.model import RequestType

    hub.matching.import_model(trained_model)
    shop, till = make_channel("webshop", "web").write_key, make_channel("hotline", "hotline").write_key
    _identify(http, shop, JONAS_SHOP, user_id="u-jonas")
    _identify(http, till, JONAS_HOTLINE, anonymous_id="call-1")
    _process(hub)
    hub.matching.run_changed()
    hotline = _profile(http, admin_token, "anonymous_id", "call-1")
    request = hub.privacy.file(RequestType.ERASURE, profile_id=hotline, origin="test", requested_by="test")
    hub.privacy.run(request["id"], "staff:dpo", may_erase=True)
    with hub.engine.connect() as conn:
        assert cards(conn, [hotline]) == []
    assert hub.matching.queue(10)["items"] == []


def test_a_model_that_does_not_fit_the_card_is_refused(hub: Hub, trained_model: dict[str, Any]) -> None:
    import pytest

    from omnikanal.errors import InvalidInput

    other_fields = {**trained_model, "omnikanal": {**trained_model["omnikanal"], "fields": ["name"]}}
    with pytest.raises(InvalidInput, match="other fields"):
        hub.matching.import_model(other_fields)
    broken = {**trained_model, "comparisons": [{"output_column_name": "x", "comparison_levels": []}]}
    with pytest.raises(InvalidInput) as refused:
        hub.matching.import_model(broken)
    assert refused.value.code == "model_mismatch"
