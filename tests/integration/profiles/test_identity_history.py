"""Merges and unmerges over a profile's history: chains, blocks that follow merges, races."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from sqlalchemy import select

from omnikanal.db.engine import read_tx, write_tx
from omnikanal.hub import Hub
from omnikanal.profiles.identity.tables import identities, merges
from omnikanal.profiles.service import TimelineQuery
from omnikanal.sources.model import Source


def send(hub: Hub, source: Source, *events: dict[str, Any]) -> None:
    result = hub.ingest.ingest(source, list(events))
    assert not result.quarantined, result.quarantined


def pid(hub: Hub, identifier_type: str, value: str) -> str:
    return str(hub.profiles.lookup(identifier_type, value)["id"])


def merge_of(hub: Hub, merged_id: str) -> str:
    with read_tx(hub.engine) as conn:
        return str(conn.execute(select(merges.c.id).where(merges.c.merged_id == merged_id)).scalar_one())


def origin_of(hub: Hub, value: str) -> str:
    with read_tx(hub.engine) as conn:
        return str(
            conn.execute(
                select(identities.c.origin_profile_id).where(identities.c.value == value)
            ).scalar_one()
        )


def test_an_unmerge_holds_after_the_survivor_merges_into_another_profile(hub: Hub) -> None:
    web, pos = hub.sources.create("web", "web")[0], hub.sources.create("pos", "pos")[0]
    send(hub, web, {"type": "identify", "userId": "eva-1", "traits": {"email": "eva2@example.de"}})
    send(hub, web, {"type": "identify", "anonymousId": "phone", "traits": {"email": "eva@example.de"}})
    send(hub, pos, {"type": "track", "anonymousId": "till", "event": "Purchase"})
    send(hub, pos, {"type": "identify", "anonymousId": "till", "traits": {"email": "eva@example.de"}})
    phone = pid(hub, "anonymous_id", "phone")
    (merge,) = hub.profiles.merges(phone)
    hub.profiles.unmerge(phone, merge["id"], "token:test")
    # Eva logs in on the phone: its profile legitimately joins her account.
    send(hub, web, {"type": "identify", "anonymousId": "phone", "userId": "eva-1"})
    assert pid(hub, "anonymous_id", "phone") == pid(hub, "user_id", "eva-1")
    # The evidence that was undone comes again: it must not glue the till customer to Eva now.
    send(hub, pos, {"type": "identify", "anonymousId": "till", "traits": {"email": "eva@example.de"}})
    assert pid(hub, "anonymous_id", "till") != pid(hub, "user_id", "eva-1")


def test_undoing_both_links_of_a_chain_keeps_all_three_apart(hub: Hub) -> None:
    web = hub.sources.create("web", "web")[0]
    send(hub, web, {"type": "identify", "userId": "u", "traits": {"phone": "+49 171 7654321"}})
    send(hub, web, {"type": "identify", "anonymousId": "b", "traits": {"email": "b@example.de"}})
    send(hub, web, {"type": "identify", "anonymousId": "a", "traits": {"loyaltyCard": "L-1"}})
    send(hub, web, {"type": "identify", "anonymousId": "b", "traits": {"loyaltyCard": "L-1"}})  # A into B
    a_id, b_id = origin_of(hub, "a"), origin_of(hub, "b")
    send(hub, web, {"type": "identify", "anonymousId": "b", "userId": "u"})  # B into C
    c_id = pid(hub, "user_id", "u")
    assert pid(hub, "anonymous_id", "a") == c_id
    hub.profiles.unmerge(c_id, merge_of(hub, a_id), "token:test")
    assert pid(hub, "anonymous_id", "a") == a_id
    hub.profiles.unmerge(c_id, merge_of(hub, b_id), "token:test")
    assert pid(hub, "anonymous_id", "b") == b_id
    send(hub, web, {"type": "identify", "anonymousId": "b", "traits": {"loyaltyCard": "L-1"}})
    assert len({pid(hub, "anonymous_id", "a"), pid(hub, "anonymous_id", "b"), pid(hub, "user_id", "u")}) == 3


def test_a_profile_made_and_merged_within_one_group_goes_back_with_its_direct_winner(hub: Hub) -> None:
    web = hub.sources.create("web", "web")[0]
    send(hub, web, {"type": "identify", "anonymousId": "a-dev", "traits": {"email": "a@example.de"}})
    send(hub, web, {"type": "identify", "userId": "u-b", "traits": {"phone": "+49 171 7654321"}})
    hub.ingest.commit(
        [
            hub.ingest.prepare(web, [{"type": "track", "anonymousId": "n", "event": "X"}]),  # N, new
            hub.ingest.prepare(
                web, [{"type": "identify", "anonymousId": "n", "traits": {"email": "a@example.de"}}]
            ),
            hub.ingest.prepare(
                web, [{"type": "identify", "anonymousId": "a-dev", "userId": "u-b"}]
            ),  # A into B
        ]
    )
    b_id, a_id = pid(hub, "user_id", "u-b"), origin_of(hub, "a-dev")
    hub.profiles.unmerge(b_id, merge_of(hub, a_id), "token:test")
    assert pid(hub, "anonymous_id", "a-dev") == a_id
    assert pid(hub, "anonymous_id", "n") == a_id


def test_an_unmerge_racing_a_merge_of_the_survivor_still_restores_the_profile(hub: Hub) -> None:
    if hub.engine.dialect.name != "postgresql":
        pytest.skip("SQLite runs one writer at a time, so the two cannot interleave")
    web = hub.sources.create("web", "web")[0]
    send(hub, web, {"type": "identify", "userId": "eva-1", "traits": {"email": "eva2@example.de"}})
    send(hub, web, {"type": "identify", "anonymousId": "phone", "traits": {"email": "eva@example.de"}})
    send(hub, web, {"type": "track", "anonymousId": "till", "event": "Purchase"})
    send(hub, web, {"type": "identify", "anonymousId": "till", "traits": {"email": "eva@example.de"}})
    phone = pid(hub, "anonymous_id", "phone")
    (merge,) = hub.profiles.merges(phone)
    outcome: dict[str, Any] = {}
    with write_tx(hub.engine) as conn:  # the phone's profile merges into Eva's; not committed yet
        hub.ingest.write(
            conn, [hub.ingest.prepare(web, [{"type": "identify", "anonymousId": "phone", "userId": "eva-1"}])]
        )
        worker = threading.Thread(
            target=lambda: outcome.update(r=hub.profiles.unmerge(phone, merge["id"], "token:t"))
        )
        worker.start()
        time.sleep(0.5)  # the unmerge has read the old state and waits for the row lock
    worker.join(20)
    assert outcome["r"]["events_moved"] == 2
    assert pid(hub, "anonymous_id", "till") == merge["merged_id"]


def test_an_event_racing_an_unmerge_lands_where_its_identifier_now_belongs(hub: Hub) -> None:
    if hub.engine.dialect.name != "postgresql":
        pytest.skip("SQLite runs one writer at a time, so the two cannot interleave")
    web = hub.sources.create("web", "web")[0]
    send(hub, web, {"type": "identify", "userId": "max", "traits": {"email": "max@example.de"}})
    send(hub, web, {"type": "track", "anonymousId": "till", "event": "P"})
    send(hub, web, {"type": "identify", "anonymousId": "till", "traits": {"email": "max@example.de"}})
    max_id = pid(hub, "user_id", "max")
    (merge,) = hub.profiles.merges(max_id)
    late = {"type": "track", "anonymousId": "till", "event": "Late", "messageId": "late"}
    with write_tx(hub.engine) as conn:
        hub.profiles._unmerge(conn, max_id, merge["id"], "token:test")
        worker = threading.Thread(target=lambda: send(hub, web, late))
        worker.start()
        time.sleep(0.5)  # the event has read "till -> max" and waits for the row lock
    worker.join(20)
    on_max = [e["message_id"] for e in hub.profiles.timeline(max_id, TimelineQuery())["events"]]
    on_till = [e["message_id"] for e in hub.profiles.timeline(merge["merged_id"], TimelineQuery())["events"]]
    assert "late" not in on_max
    assert "late" in on_till


def test_two_staff_undoing_both_links_of_a_chain_at_once_lose_nothing(
    hub: Hub, monkeypatch: pytest.MonkeyPatch
) -> None:
    if hub.engine.dialect.name != "postgresql":
        pytest.skip("SQLite runs one writer at a time, so the two cannot interleave")
    from omnikanal.errors import InvalidInput
    from omnikanal.profiles import store as profile_store

    web = hub.sources.create("web", "web")[0]
    send(hub, web, {"type": "identify", "userId": "u", "traits": {"phone": "+49 171 7654321"}})
    send(hub, web, {"type": "identify", "anonymousId": "b", "traits": {"email": "b@example.de"}})
    send(hub, web, {"type": "identify", "anonymousId": "a", "traits": {"loyaltyCard": "L-1"}})
    send(hub, web, {"type": "track", "anonymousId": "a", "event": "A-event"})
    send(hub, web, {"type": "identify", "anonymousId": "b", "traits": {"loyaltyCard": "L-1"}})  # A into B
    a_id, b_id = origin_of(hub, "a"), origin_of(hub, "b")
    send(hub, web, {"type": "identify", "anonymousId": "b", "userId": "u"})  # B into C
    c_id = pid(hub, "user_id", "u")
    m_a, m_b = merge_of(hub, a_id), merge_of(hub, b_id)

    original = profile_store.load
    fired: dict[str, Any] = {}

    def load_after_the_other_unmerge(conn: Any, ids: Any, lock: bool = False) -> Any:
        if lock and "done" not in fired:
            fired["done"] = True
            # Another staff member undoes B-into-C and commits just before we take our locks.
            other = threading.Thread(
                target=lambda: fired.update(r=hub.profiles.unmerge(c_id, m_b, "token:o"))
            )
            other.start()
            other.join(20)
        return original(conn, ids, lock=lock)

    monkeypatch.setattr(profile_store, "load", load_after_the_other_unmerge)
    with pytest.raises(InvalidInput) as refused:
        hub.profiles.unmerge(c_id, m_a, "token:test")
    monkeypatch.setattr(profile_store, "load", original)
    # The chain changed: A-into-B now belongs to B, and nothing of A was lost on the way.
    assert refused.value.code == "merge_not_of_profile"
    assert pid(hub, "anonymous_id", "a") == b_id
    hub.profiles.unmerge(b_id, m_a, "token:test")
    assert pid(hub, "anonymous_id", "a") == a_id
    assert hub.profiles.get(a_id)["computed"]["event_count"] == 2
