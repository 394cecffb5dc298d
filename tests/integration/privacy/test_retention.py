"""Retention removes old events per rule and long-inactive anonymous profiles, in batches."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import func, select

from omnikanal.clock import FixedClock
from omnikanal.db.engine import read_tx
from omnikanal.eventlog.tables import events
from omnikanal.hub import build_hub
from omnikanal.profiles.tables import profiles
from omnikanal.settings import Settings
from tests.conftest import utc


def _count(hub: Any, *where: Any) -> int:
    with read_tx(hub.engine) as conn:
        return int(conn.execute(select(func.count()).select_from(events).where(*where)).scalar_one())


def test_old_page_views_and_inactive_anonymous_profiles_go_and_the_rest_stays(settings: Settings) -> None:
    tuned = settings.model_copy(
        update={
            "retention_days": {"type:page": 30, "event:Product Viewed": 60, "channel:pos": 90},
            "retention_anonymous_profile_days": 100,
            "retention_batch_size": 7,  # several batches per rule
        }
    )
    clock = FixedClock(utc(2026, 11, 1, 12))
    hub = build_hub(tuned, clock)
    try:
        shop, till = hub.sources.create("shop", "web")[0], hub.sources.create("tills", "pos")[0]

        def at(days_ago: int) -> str:
            return (clock.now() - timedelta(days=days_ago)).isoformat()

        items: list[dict[str, Any]] = []
        for n in range(20):
            items.append({"type": "page", "userId": "known", "name": f"p{n}", "timestamp": at(31 + n)})
            items.append({"type": "page", "userId": "known", "name": f"fresh{n}", "timestamp": at(29)})
            items.append({"type": "track", "userId": "known", "event": "Product Viewed", "timestamp": at(45)})
            items.append({"type": "track", "userId": "known", "event": "Product Viewed", "timestamp": at(61)})
        items.append({"type": "track", "userId": "known", "event": "Order Completed", "timestamp": at(400)})
        items.append(
            {"type": "track", "anonymousId": "idle-device", "event": "App Opened", "timestamp": at(150)}
        )
        items.append(
            {"type": "track", "anonymousId": "busy-device", "event": "App Opened", "timestamp": at(10)}
        )
        assert hub.ingest.ingest(shop, items).accepted == len(items)
        hub.ingest.ingest(till, [{"type": "track", "userId": "known", "event": "Sale", "timestamp": at(91)}])
        hub.ingest.ingest(till, [{"type": "track", "userId": "known", "event": "Sale", "timestamp": at(89)}])

        seen: list[tuple[str, int]] = []
        report = hub.retention.run(lambda what, n: seen.append((what, n)))

        assert report.events_removed == {"type:page": 20, "event:Product Viewed": 20, "channel:pos": 1}
        assert report.profiles_removed == 1
        assert [n for what, n in seen if what == "type:page"] == [7, 7, 6]
        assert _count(hub, events.c.type == "page") == 20
        assert _count(hub, events.c.event == "Product Viewed") == 20
        assert _count(hub, events.c.event == "Order Completed") == 1  # no rule: kept however old
        assert _count(hub, events.c.channel == "pos") == 1
        assert hub.profiles.lookup("anonymous_id", "busy-device")["id"]
        with read_tx(hub.engine) as conn:
            assert conn.execute(select(func.count()).select_from(profiles)).scalar_one() == 2
        assert _count(hub, events.c.anonymous_id == "idle-device") == 0
        # a second pass finds nothing more
        again = hub.retention.run()
        assert sum(again.events_removed.values()) == 0
        assert again.profiles_removed == 0
    finally:
        hub.close()


def test_a_bad_rule_is_refused_at_start_with_its_key(settings: Settings) -> None:
    import pytest

    with pytest.raises(ValueError, match="retention rule 'colour:red'"):
        build_hub(settings.model_copy(update={"retention_days": {"colour:red": 3}}))
