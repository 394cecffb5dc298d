"""The event log: consumers read in order with their own cursor and skip nothing."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import pytest
from sqlalchemy import Connection, text

from omnikanal.db.engine import write_tx
from omnikanal.hub import Hub


class Recorder:
    def __init__(self, name: str) -> None:
        self.name = name
        self.seen: list[str] = []

    def handle(self, conn: Connection, batch: Sequence[Any]) -> None:
        self.seen.extend(row.message_id for row in batch)


def drain(hub: Hub, processor: Any, expect: int, limit: int = 500) -> int:
    """Consume until ``expect`` events arrived (or 20 s passed) and return how many did.

    On PostgreSQL a consumer waits for every older writing transaction on the server to end, and
    other tests or programs may be writing on the same server, so events can take a moment.
    """
    got = 0
    deadline = time.monotonic() + 20
    while got < expect and time.monotonic() < deadline:
        # never ask for more than is still expected: a partial read must not run past the count
        n = hub.eventlog.consume(processor, limit=min(limit, expect - got))
        got += n
        if n == 0:
            time.sleep(0.05)
    return got


def _track(hub: Hub, source: Any, message_id: str) -> None:
    result = hub.ingest.ingest(
        source, [{"type": "track", "anonymousId": "a", "event": "E", "messageId": message_id}]
    )
    assert result.accepted == 1


def test_consumers_read_in_commit_order_with_their_own_cursors(hub: Hub) -> None:
    source = hub.sources.create("shop", "web")[0]
    for n in range(5):
        _track(hub, source, f"m{n}")
    first, second = Recorder("first"), Recorder("second")
    assert drain(hub, first, 3, limit=3) == 3
    assert drain(hub, first, 2, limit=3) == 2
    assert hub.eventlog.consume(first) == 0
    assert drain(hub, second, 5, limit=100) == 5
    assert first.seen == second.seen == [f"m{n}" for n in range(5)]
    _track(hub, source, "m5")
    assert drain(hub, first, 1) == 1
    assert first.seen[-1] == "m5"


def test_reset_replays_history(hub: Hub) -> None:
    source = hub.sources.create("shop", "web")[0]
    _track(hub, source, "only")
    recorder = Recorder("replayer")
    assert drain(hub, recorder, 1) == 1
    hub.eventlog.reset("replayer")
    assert drain(hub, recorder, 1) == 1
    assert recorder.seen == ["only", "only"]


def test_a_failing_processor_does_not_advance_its_cursor(hub: Hub) -> None:
    source = hub.sources.create("shop", "web")[0]
    _track(hub, source, "x")

    class Broken(Recorder):
        def handle(self, conn: Connection, batch: Sequence[Any]) -> None:
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        drain(hub, Broken("p"), 1)
    healthy = Recorder("p")
    assert drain(hub, healthy, 1) == 1
    assert healthy.seen == ["x"]


def _pg_only(hub: Hub) -> None:
    if hub.engine.dialect.name != "postgresql":
        pytest.skip("SQLite commits one writer at a time, so a late commit cannot overtake")


def test_an_event_whose_transaction_commits_late_is_not_skipped(hub: Hub) -> None:
    _pg_only(hub)
    source = hub.sources.create("shop", "web")[0]
    recorder = Recorder("late-commit")
    # Transaction A takes its sequence number first but stays open ...
    with write_tx(hub.engine) as slow:
        hub.ingest.write(
            slow,
            [
                hub.ingest.prepare(
                    source, [{"type": "track", "anonymousId": "slow", "event": "E", "messageId": "early-seq"}]
                )
            ],
        )
        # ... while B, with a later sequence number, commits: B is handed out at once, without
        # waiting for A, and the cursor remembers it rather than moving past A's place.
        _track(hub, source, "late-seq")
        assert drain(hub, recorder, 1) == 1
        assert recorder.seen == ["late-seq"]
        assert hub.eventlog.consume(recorder) == 0
        at = hub.eventlog.position(recorder.name)
        assert at.ahead
        assert hub.eventlog.behind(recorder.name) == 0
    # A has committed: it arrives too, and nothing twice.
    assert drain(hub, recorder, 1) == 1
    assert recorder.seen == ["late-seq", "early-seq"]
    assert hub.eventlog.consume(recorder) == 0
    assert hub.eventlog.behind(recorder.name) == 0


def _server_horizon(hub: Hub) -> int:
    with hub.engine.connect() as conn:
        xmin = conn.execute(text("SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint"))
        return int(xmin.scalar_one())


def test_a_long_transaction_elsewhere_holds_no_consumer_back(hub: Hub) -> None:
    """A transaction that writes no events (another program's, another database's) does not delay
    the events committed after it began; once it ends, the cursor forgets what it read ahead."""
    _pg_only(hub)
    source = hub.sources.create("shop", "web")[0]
    recorder = Recorder("not-held")
    with hub.engine.connect() as other:
        other.execute(text("SELECT pg_current_xact_id()"))  # an id of its own: the horizon stops here
        for n in range(3):
            _track(hub, source, f"m{n}")
        assert drain(hub, recorder, 3) == 3
        assert recorder.seen == ["m0", "m1", "m2"]
        read_ahead = hub.eventlog.position(recorder.name).ahead
        assert len(read_ahead) == 3
        other.rollback()
    # The horizon is the whole server's: another test's (another database's) transaction can hold it
    # for a while under load. Wait for it to pass those ids, then a later batch writes a cursor
    # without them, and nothing came twice.
    deadline = time.monotonic() + 240
    while _server_horizon(hub) <= max(read_ahead):
        assert time.monotonic() < deadline, "the server's oldest transaction did not end in 240 s"
        time.sleep(0.2)
    _track(hub, source, "m3")
    assert drain(hub, recorder, 1) == 1
    assert not hub.eventlog.position(recorder.name).ahead & read_ahead
    assert recorder.seen == ["m0", "m1", "m2", "m3"]
    assert hub.eventlog.behind(recorder.name) == 0


def test_a_transaction_past_the_horizon_is_handed_out_whole(hub: Hub) -> None:
    _pg_only(hub)
    source = hub.sources.create("shop", "web")[0]
    recorder = Recorder("whole")
    with hub.engine.connect() as other:
        other.execute(text("SELECT pg_current_xact_id()"))
        result = hub.ingest.ingest(
            source,
            [{"type": "track", "anonymousId": "a", "event": "E", "messageId": f"t{n}"} for n in range(3)],
        )
        assert result.accepted == 3
        # two of its three events would fit: none is handed out rather than a part
        assert hub.eventlog.consume(recorder, limit=2) == 0
        assert recorder.seen == []
        assert hub.eventlog.consume(recorder, limit=3) == 3
        assert recorder.seen == ["t0", "t1", "t2"]
        other.rollback()


def test_a_follower_never_passes_the_processor_it_follows(hub: Hub) -> None:
    source = hub.sources.create("shop", "web")[0]
    for n in range(3):
        _track(hub, source, f"m{n}")
    leader = Recorder("leader")
    follower = Recorder("follower")
    follower.follows = "leader"  # type: ignore[attr-defined]
    assert hub.eventlog.consume(follower) == 0  # the leader has not begun
    assert drain(hub, leader, 2, limit=2) == 2
    assert drain(hub, follower, 2) == 2
    assert hub.eventlog.consume(follower) == 0
    assert drain(hub, leader, 1) == 1
    assert drain(hub, follower, 1) == 1
    assert follower.seen == leader.seen == ["m0", "m1", "m2"]


def test_a_follower_takes_what_its_leader_read_past_the_horizon(hub: Hub) -> None:
    _pg_only(hub)
    source = hub.sources.create("shop", "web")[0]
    leader, follower = Recorder("ahead-leader"), Recorder("ahead-follower")
    follower.follows = "ahead-leader"  # type: ignore[attr-defined]
    with hub.engine.connect() as other:
        other.execute(text("SELECT pg_current_xact_id()"))  # holds the horizon
        _track(hub, source, "a")
        _track(hub, source, "b")
        assert drain(hub, leader, 2) == 2
        assert drain(hub, follower, 2) == 2
        _track(hub, source, "c")
        assert hub.eventlog.consume(follower) == 0  # the leader has not read it
        assert drain(hub, leader, 1) == 1
        assert drain(hub, follower, 1) == 1
        assert hub.eventlog.consume(follower) == 0
        other.rollback()
    assert follower.seen == leader.seen == ["a", "b", "c"]


def test_an_ingest_commit_wakes_the_processors_of_its_process(settings: Any) -> None:
    """With a poll interval far longer than the test waits, only the wake-up can deliver the event."""
    from omnikanal.clock import SystemClock
    from omnikanal.eventlog.runner import ProcessorRunner
    from omnikanal.hub import build_hub

    hub = build_hub(settings.model_copy(update={"worker_poll_seconds": 120.0}), SystemClock())
    # the hub wires its own runner this way
    assert hub.runner.wake in hub.ingest.committed
    recorder = Recorder("woken")
    runner = ProcessorRunner(hub.eventlog, [recorder], 120.0)
    wakes: list[float] = []

    def wake() -> None:
        wakes.append(time.monotonic())
        runner.wake()

    hub.ingest.committed.append(wake)
    try:
        source = hub.sources.create("shop", "web")[0]
        runner.start()
        # the first tick runs at start and finds nothing; the next poll would be two minutes away
        time.sleep(0.5)
        assert recorder.seen == []
        _track(hub, source, "wake-me")
        assert len(wakes) == 1  # the commit called it
        deadline = time.monotonic() + 20
        while recorder.seen != ["wake-me"] and time.monotonic() < deadline:
            # on PostgreSQL another test's open transaction can hold the event back: wake again
            time.sleep(0.05)
            if time.monotonic() > deadline - 15:
                runner.wake()
        assert recorder.seen == ["wake-me"]
    finally:
        runner.stop()
        hub.close()


def test_the_journeys_processor_takes_no_event_before_the_segments_processor(hub: Hub) -> None:
    """A journey's audience or branch, decided for an event, sees the segments and computed traits
    as they are after that event, whichever thread gets to the event first."""
    hub.runner.stop()  # this test hands out the events itself
    processors = {p.name: p for p in hub.processors}
    journeys, segments = processors["journeys"], processors["segments"]
    source = hub.sources.create("shop", "web")[0]
    # both start from the end of what is already there
    drain(hub, segments, hub.eventlog.behind("segments"))
    drain(hub, journeys, hub.eventlog.behind("journeys"))
    _track(hub, source, "first")
    assert hub.eventlog.consume(journeys) == 0
    assert drain(hub, segments, 1) == 1
    assert drain(hub, journeys, 1) == 1
