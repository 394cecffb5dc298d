"""Identity stitching rules and unmerge, through the ingest service, on both engines."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from omnikanal.db.engine import read_tx
from omnikanal.errors import Conflict
from omnikanal.hub import Hub
from omnikanal.profiles.identity.tables import identity_conflicts, merges
from omnikanal.profiles.tables import profiles
from omnikanal.sources.model import Source


@pytest.fixture
def web(hub: Hub) -> Source:
    return hub.sources.create("webshop", "web")[0]


@pytest.fixture
def pos(hub: Hub) -> Source:
    return hub.sources.create("tills", "pos")[0]


def send(hub: Hub, source: Source, *events: dict[str, Any]) -> None:
    result = hub.ingest.ingest(source, list(events))
    assert not result.quarantined, result.quarantined


def profile_of(hub: Hub, identifier_type: str, value: str) -> dict[str, Any]:
    return hub.profiles.lookup(identifier_type, value)


def live_profile_count(hub: Hub) -> int:
    with read_tx(hub.engine) as conn:
        return len(conn.execute(select(profiles.c.id).where(profiles.c.state == "live")).all())


def conflicts(hub: Hub) -> list[Any]:
    with read_tx(hub.engine) as conn:
        return list(conn.execute(select(identity_conflicts)))


def test_a_shared_email_merges_two_devices(hub: Hub, web: Source, pos: Source) -> None:
    send(hub, web, {"type": "identify", "anonymousId": "phone", "traits": {"email": "eva@example.de"}})
    send(hub, pos, {"type": "track", "anonymousId": "till-77", "event": "Purchase"})
    assert live_profile_count(hub) == 2
    send(hub, pos, {"type": "identify", "anonymousId": "till-77", "traits": {"email": " EVA@example.de"}})
    merged = profile_of(hub, "anonymous_id", "till-77")
    assert merged["id"] == profile_of(hub, "anonymous_id", "phone")["id"]
    assert merged["computed"]["channels_used"] == ["pos", "web"]
    assert live_profile_count(hub) == 1
    assert len(hub.profiles.merges(merged["id"])) == 1


def test_two_different_user_ids_never_merge_by_themselves(hub: Hub, web: Source) -> None:
    # A shared family tablet: one device, two logged-in people.
    send(hub, web, {"type": "identify", "anonymousId": "tablet", "userId": "anna"})
    send(hub, web, {"type": "track", "anonymousId": "tablet", "userId": "ben", "event": "Product Viewed"})
    anna, ben = profile_of(hub, "user_id", "anna"), profile_of(hub, "user_id", "ben")
    assert anna["id"] != ben["id"]
    assert ben["computed"]["event_count"] == 1
    reasons = {(c.identifier_type, c.reason) for c in conflicts(hub)}
    assert ("anonymous_id", "user_id_conflict") in reasons


def test_a_second_user_id_on_one_profile_is_refused_and_recorded(hub: Hub, web: Source) -> None:
    send(hub, web, {"type": "identify", "userId": "anna", "traits": {"email": "a@example.de"}})
    send(hub, web, {"type": "identify", "userId": "anna-2", "traits": {"email": "a@example.de"}})
    assert profile_of(hub, "user_id", "anna")["id"] != profile_of(hub, "user_id", "anna-2")["id"]
    assert any(c.reason == "user_id_conflict" for c in conflicts(hub))


def test_identifier_limit_per_type(hub: Hub, web: Source) -> None:
    for n in range(7):
        send(hub, web, {"type": "identify", "userId": "collector", "traits": {"email": f"m{n}@example.de"}})
    profile = profile_of(hub, "user_id", "collector")
    emails = [i["value"] for i in profile["identifiers"] if i["type"] == "email"]
    assert len(emails) == 5
    assert {c.reason for c in conflicts(hub)} == {"limit_email"}
    with pytest.raises(Exception, match="no profile"):
        profile_of(hub, "email", "m6@example.de")


def test_alias_merges_explicitly_even_two_user_ids(hub: Hub, web: Source) -> None:
    send(hub, web, {"type": "identify", "userId": "old-login", "traits": {"name": "Old"}})
    send(hub, web, {"type": "identify", "userId": "new-login", "traits": {"city": "Essen"}})
    send(hub, web, {"type": "alias", "previousId": "old-login", "userId": "new-login"})
    profile = profile_of(hub, "user_id", "old-login")
    assert profile["id"] == profile_of(hub, "user_id", "new-login")["id"]
    assert set(profile["traits"]) == {"name", "city"}
    assert [m["reason"] for m in hub.profiles.merges(profile["id"])] == ["alias"]


def test_a_merged_away_id_answers_with_the_live_profile(hub: Hub, web: Source) -> None:
    send(hub, web, {"type": "track", "anonymousId": "d1", "event": "Product Viewed"})
    old_id = profile_of(hub, "anonymous_id", "d1")["id"]
    send(hub, web, {"type": "identify", "userId": "u9", "traits": {"email": "u9@example.de"}})
    send(hub, web, {"type": "identify", "anonymousId": "d1", "traits": {"email": "u9@example.de"}})
    view = hub.profiles.get(old_id)
    live_id = profile_of(hub, "user_id", "u9")["id"]
    assert view["id"] == live_id != old_id
    assert view["redirected"] is True
    assert hub.profiles.timeline(old_id, _page())["profile_id"] == live_id


def _page(**kwargs: Any) -> Any:
    from omnikanal.profiles.service import TimelineQuery

    return TimelineQuery(**kwargs)


def test_merges_within_one_group_follow_event_order(hub: Hub, web: Source) -> None:
    # Three requests grouped into one transaction, as the writer does under load.
    subs = [
        hub.ingest.prepare(web, [{"type": "track", "anonymousId": "x1", "event": "A"}]),
        hub.ingest.prepare(web, [{"type": "track", "anonymousId": "x2", "event": "B"}]),
        hub.ingest.prepare(
            web,
            [{"type": "identify", "anonymousId": "x2", "userId": "ux", "traits": {"email": "x@example.de"}}],
        ),
        hub.ingest.prepare(
            web, [{"type": "identify", "anonymousId": "x1", "traits": {"email": "x@example.de"}}]
        ),
    ]
    results = hub.ingest.commit(subs)
    assert [r.accepted for r in results] == [1, 1, 1, 1]
    profile = profile_of(hub, "anonymous_id", "x1")
    assert profile["id"] == profile_of(hub, "user_id", "ux")["id"]
    assert profile["computed"]["event_count"] == 4
    assert len(hub.profiles.timeline(profile["id"], _page())["events"]) == 4
    assert live_profile_count(hub) == 1


def test_unmerge_restores_both_profiles_with_identifiers_traits_and_events(
    hub: Hub, web: Source, pos: Source
) -> None:
    send(
        hub,
        web,
        {
            "type": "identify",
            "userId": "max",
            "traits": {"email": "max@example.de", "name": "Max"},
            "timestamp": "2026-03-01T10:00:00Z",
        },
        {"type": "track", "userId": "max", "event": "Order Completed", "timestamp": "2026-03-02T10:00:00Z"},
    )
    # A till record with a mistyped shared email of somebody else joins the two wrongly.
    send(
        hub,
        pos,
        {
            "type": "identify",
            "anonymousId": "card-reader-5",
            "traits": {"phone": "0171 7654321", "name": "Moritz"},
            "timestamp": "2026-03-03T10:00:00Z",
        },
        {
            "type": "track",
            "anonymousId": "card-reader-5",
            "event": "Purchase",
            "timestamp": "2026-03-04T10:00:00Z",
        },
        {
            "type": "identify",
            "anonymousId": "card-reader-5",
            "traits": {"email": "max@example.de"},
            "timestamp": "2026-03-05T10:00:00Z",
        },
    )
    merged = profile_of(hub, "user_id", "max")
    assert merged["computed"]["event_count"] == 5
    assert merged["traits"]["name"]["value"] == "Moritz"
    (merge,) = hub.profiles.merges(merged["id"])

    result = hub.profiles.unmerge(merged["id"], merge["id"], "token:test")
    assert result["events_moved"] == 3

    max_view = profile_of(hub, "user_id", "max")
    other = profile_of(hub, "anonymous_id", "card-reader-5")
    assert max_view["id"] == merged["id"] != other["id"]
    assert other["id"] == merge["merged_id"]
    assert {(i["type"], i["value"]) for i in other["identifiers"]} == {
        ("anonymous_id", "card-reader-5"),
        ("phone", "+491717654321"),
    }
    assert {(i["type"], i["value"]) for i in max_view["identifiers"]} == {
        ("user_id", "max"),
        ("email", "max@example.de"),
    }
    assert max_view["traits"]["name"]["value"] == "Max"
    assert other["traits"]["name"]["value"] == "Moritz"
    assert max_view["computed"]["event_count"] == 2
    assert other["computed"]["event_count"] == 3
    assert other["computed"]["channels_used"] == ["pos"]
    assert hub.profiles.merges(merged["id"])[0]["undone_at"] is not None
    with pytest.raises(Conflict):
        hub.profiles.unmerge(merged["id"], merge["id"], "token:test")

    # The same evidence again does not glue them back together: it is recorded as a conflict.
    send(
        hub,
        pos,
        {
            "type": "identify",
            "anonymousId": "card-reader-5",
            "userId": None,
            "traits": {"phone": "0171 7654321"},
        },
    )
    send(hub, web, {"type": "identify", "userId": "max", "traits": {"phone": "+49 171 7654321"}})
    assert profile_of(hub, "user_id", "max")["id"] != profile_of(hub, "anonymous_id", "card-reader-5")["id"]
    assert any(c.reason == "unmerged" for c in conflicts(hub))


def test_merge_records_name_the_identifier_and_event(hub: Hub, web: Source) -> None:
    send(hub, web, {"type": "identify", "anonymousId": "k1", "traits": {"email": "k@example.de"}})
    send(hub, web, {"type": "page", "anonymousId": "k2"})
    send(
        hub,
        web,
        {
            "type": "identify",
            "anonymousId": "k2",
            "messageId": "link-msg",
            "traits": {"email": "k@example.de"},
        },
    )
    with read_tx(hub.engine) as conn:
        (record,) = conn.execute(select(merges)).all()
    assert (record.identifier_type, record.identifier_value) == ("email", "k@example.de")
    assert record.message_id == "link-msg"
    assert record.source_id == web.id
    assert record.reason == "stitch"
