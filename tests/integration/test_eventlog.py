"""The event log: consumers read in order with their own cursor and skip nothing."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
from sqlalchemy import Connection

from omnikanal.db.engine import write_tx
from omnikanal.hub import Hub


class Recorder:
    def __init__(self, name: str) -> None:
        self.name = name
        self.seen: list[str] = []

    def handle(self, conn: Connection, batch: Sequence[Any]) -> None:
        self.seen.extend(row.message_id for row in batch)


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
    assert hub.eventlog.consume(first, limit=3) == 3
    assert hub.eventlog.consume(first, limit=3) == 2
    assert hub.eventlog.consume(first) == 0
    assert hub.eventlog.consume(second, limit=100) == 5
    assert first.seen == second.seen == [f"m{n}" for n in range(5)]
    _track(hub, source, "m5")
    assert hub.eventlog.consume(first) == 1
    assert first.seen[-1] == "m5"


def test_reset_replays_history(hub: Hub) -> None:
    source = hub.sources.create("shop", "web")[0]
    _track(hub, source, "only")
    recorder = Recorder("replayer")
    hub.eventlog.consume(recorder)
    hub.eventlog.reset("replayer")
    hub.eventlog.consume(recorder)
    assert recorder.seen == ["only", "only"]


def test_a_failing_processor_does_not_advance_its_cursor(hub: Hub) -> None:
    source = hub.sources.create("shop", "web")[0]
    _track(hub, source, "x")

    class Broken(Recorder):
        def handle(self, conn: Connection, batch: Sequence[Any]) -> None:
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        hub.eventlog.consume(Broken("p"))
    healthy = Recorder("p")
    assert hub.eventlog.consume(healthy) == 1
    assert healthy.seen == ["x"]


def test_an_event_whose_transaction_commits_late_is_not_skipped(hub: Hub) -> None:
    if hub.engine.dialect.name != "postgresql":
        pytest.skip("SQLite commits one writer at a time, so a late commit cannot overtake")
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
        # ... while B, with a later sequence number, commits.
        _track(hub, source, "late-seq")
        # A reader going by sequence numbers alone would take B now and pass A for ever.
        assert hub.eventlog.consume(recorder) == 0
    # A has committed: both arrive, A first, each once.
    assert hub.eventlog.consume(recorder) == 2
    assert recorder.seen == ["early-seq", "late-seq"]
    assert hub.eventlog.consume(recorder) == 0
