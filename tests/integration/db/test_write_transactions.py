"""Write transactions: SQLite writers of one process take turns on a mutex, not in SQLite's sleeping
busy handler; redoable work commits without waiting for the disk."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, text

from omnikanal.db.engine import make_engine, write_tx
from omnikanal.settings import Settings


def test_a_second_writer_of_the_process_waits_its_turn(tmp_path: Path) -> None:
    engine = make_engine(Settings(data_dir=tmp_path), f"sqlite:///{tmp_path / 'w.db'}")

    # SQLite itself would refuse a second writer at once: only the mutex can make it wait.
    @event.listens_for(engine, "connect")
    def _no_busy_wait(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.execute("PRAGMA busy_timeout=0")

    try:
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE t (writer TEXT, at REAL)"))
        first_in = threading.Event()
        order: list[str] = []
        errors: list[BaseException] = []

        def first() -> None:
            with write_tx(engine) as conn:
                conn.execute(text("INSERT INTO t VALUES ('first', 0)"))
                first_in.set()
                time.sleep(0.3)
                order.append("first")

        def second() -> None:
            try:
                with write_tx(engine) as conn:
                    conn.execute(text("INSERT INTO t VALUES ('second', 0)"))
                    order.append("second")
            except BaseException as exc:  # reported below: a thread's exception is lost otherwise
                errors.append(exc)

        one = threading.Thread(target=first)
        one.start()
        assert first_in.wait(10)
        two = threading.Thread(target=second)
        two.start()
        one.join()
        two.join()
        assert errors == []
        assert order == ["first", "second"]
        with engine.connect() as conn:
            assert conn.execute(text("SELECT writer FROM t ORDER BY rowid")).scalars().all() == [
                "first",
                "second",
            ]
    finally:
        engine.dispose()


def test_a_redoable_transaction_commits_without_waiting_for_the_disk_and_only_it(tmp_path: Path) -> None:
    engine = make_engine(Settings(data_dir=tmp_path), f"sqlite:///{tmp_path / 'r.db'}")
    try:
        # SQLite numbers the levels: 1 NORMAL, 2 FULL (the default setting)
        with write_tx(engine) as conn:
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar_one() == 2
        with write_tx(engine, redoable=True) as conn:
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar_one() == 1
            conn.exec_driver_sql("CREATE TABLE t (x INTEGER)")
        # the pooled connection went back at the configured level
        for _ in range(3):
            with write_tx(engine) as conn:
                assert conn.exec_driver_sql("PRAGMA synchronous").scalar_one() == 2
        with pytest.raises(RuntimeError), write_tx(engine, redoable=True):
            raise RuntimeError("rolled back")
        with write_tx(engine) as conn:
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar_one() == 2
    finally:
        engine.dispose()


def test_a_database_configured_normal_stays_normal(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, sqlite_synchronous="NORMAL")
    engine = make_engine(settings, f"sqlite:///{tmp_path / 'n.db'}")
    try:
        for redoable in (True, False):
            with write_tx(engine, redoable=redoable) as conn:
                assert conn.exec_driver_sql("PRAGMA synchronous").scalar_one() == 1
    finally:
        engine.dispose()


def test_on_postgresql_a_redoable_transaction_does_not_wait_for_the_wal_flush(pg_url: str) -> None:
    engine = make_engine(Settings(), pg_url)
    try:
        with write_tx(engine, redoable=True) as conn:
            assert conn.exec_driver_sql("SHOW synchronous_commit").scalar_one() == "off"
        with write_tx(engine) as conn:  # SET LOCAL ended with the transaction
            assert conn.exec_driver_sql("SHOW synchronous_commit").scalar_one() == "on"
    finally:
        engine.dispose()


def test_each_sqlite_connection_keeps_the_page_cache_the_settings_give(tmp_path: Path) -> None:
    engine = make_engine(Settings(data_dir=tmp_path, sqlite_cache_mb=3))
    try:
        with engine.connect() as conn:
            # A negative cache_size is a size in KiB (SQLite's convention), not a count of pages.
            assert conn.exec_driver_sql("PRAGMA cache_size").scalar_one() == -3 * 1024
    finally:
        engine.dispose()


def test_a_page_cache_outside_the_limits_is_refused() -> None:
    with pytest.raises(ValueError, match="sqlite_cache_mb"):
        Settings(sqlite_cache_mb=0)
