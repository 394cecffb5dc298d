"""Write transactions of commerce.

SQLite has one writer at a time and, with ``synchronous=FULL``, each commit waits for the disk: a
reservation spends most of its time in its commit. Concurrent commerce writes of one process are
therefore grouped: the first writer to arrive commits for everyone waiting behind it, each unit of
work inside its own savepoint, so a unit that fails (not enough stock, say) is undone alone and the
others commit together with one flush. Queueing on a lock of our own also keeps writers out of
SQLite's busy handler, which sleeps in growing steps (up to 100 ms) instead of handing over.

PostgreSQL locks rows, not the database: its writers run side by side, each in its own transaction.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine

from omnikanal.db.engine import is_retryable, run_write
from omnikanal.errors import OmnikanalError

T = TypeVar("T")

# Bounds the time the last unit of a group waits for the others before its answer.
MAX_GROUP = 32


class _Unit:
    __slots__ = ("done", "error", "result", "work")

    def __init__(self, work: Callable[[Connection], Any]) -> None:
        self.work = work
        self.done = False
        self.result: Any = None
        self.error: BaseException | None = None


class GroupCommit:
    """Runs units of work in shared SQLite transactions (see the module's docstring)."""

    def __init__(self) -> None:
        self._pending: list[_Unit] = []
        self._mutex = threading.Lock()  # guards _pending
        self._writer = threading.Lock()  # held by the thread committing a group

    def run(self, engine: Engine, work: Callable[[Connection], T]) -> T:
        unit = _Unit(work)
        with self._mutex:
            self._pending.append(unit)
        while True:
            with self._writer:
                if unit.done:
                    break
                with self._mutex:
                    group, self._pending = self._pending[:MAX_GROUP], self._pending[MAX_GROUP:]
                self._commit(engine, group)
            if unit.done:
                break
        if unit.error is not None:
            raise unit.error
        result: T = unit.result
        return result

    @staticmethod
    def _commit(engine: Engine, group: list[_Unit]) -> None:
        def attempt(conn: Connection) -> list[tuple[Any, BaseException | None]]:
            # Outcomes are collected afresh on each attempt: run_write re-runs the whole group.
            outcomes: list[tuple[Any, BaseException | None]] = []
            for unit in group:
                try:
                    with conn.begin_nested():
                        outcomes.append((unit.work(conn), None))
                except OmnikanalError as exc:
                    outcomes.append((None, exc))
                except Exception as exc:
                    # A conflict of the whole transaction re-runs the group; anything else is this
                    # unit's own failure, undone by its savepoint.
                    if is_retryable(exc):
                        raise
                    outcomes.append((None, exc))
            return outcomes

        try:
            outcomes = run_write(engine, attempt)
        except BaseException as exc:  # the group's transaction failed: every unit gets the error
            for unit in group:
                unit.error, unit.done = exc, True
            if not isinstance(exc, Exception):
                raise
            return
        for unit, (result, error) in zip(group, outcomes, strict=True):
            unit.result, unit.error, unit.done = result, error, True


# One group per engine; weak, so an engine (a test's, say) disposed of takes its group with it.
_groups: weakref.WeakKeyDictionary[Engine, GroupCommit] = weakref.WeakKeyDictionary()
_groups_lock = threading.Lock()


def write(engine: Engine, work: Callable[[Connection], T]) -> T:
    """Run ``work`` in a write transaction (retries included); grouped with others on SQLite."""
    if engine.dialect.name != "sqlite":
        return run_write(engine, work)
    group = _groups.get(engine)
    if group is None:
        with _groups_lock:
            group = _groups.setdefault(engine, GroupCommit())
    return group.run(engine, work)
