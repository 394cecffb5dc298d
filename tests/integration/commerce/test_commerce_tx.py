"""Commerce writes grouped into shared transactions (SQLite) or run side by side (PostgreSQL): a unit
that fails is undone alone, the others commit."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest
from sqlalchemy import Connection, insert, select

from omnikanal.commerce.tables import commerce_categories
from omnikanal.commerce.tx import write
from omnikanal.db.engine import read_tx
from omnikanal.errors import Conflict
from omnikanal.hub import Hub


def test_failing_units_are_undone_alone_and_the_others_commit(hub: Hub) -> None:
    start = threading.Barrier(16)

    def unit(n: int) -> str:
        def work(conn: Connection) -> str:
            conn.execute(
                insert(commerce_categories).values(
                    id=f"c{n}", parent_id=None, names={}, created_at=datetime.now(UTC)
                )
            )
            if n % 2:
                raise Conflict("odd", f"unit {n} fails after writing")
            return f"c{n}"

        start.wait()
        try:
            return write(hub.engine, work)
        except Conflict as exc:
            return exc.code

    with ThreadPoolExecutor(max_workers=16) as pool:
        outcomes = list(pool.map(unit, range(16)))

    assert outcomes == [f"c{n}" if n % 2 == 0 else "odd" for n in range(16)]
    with read_tx(hub.engine) as conn:
        stored = sorted(conn.execute(select(commerce_categories.c.id)).scalars())
    assert stored == sorted(f"c{n}" for n in range(0, 16, 2))


def test_an_unexpected_error_reaches_its_own_caller(hub: Hub) -> None:
    def broken(conn: Connection) -> None:
        raise ValueError("a bug in one unit")

    with pytest.raises(ValueError, match="a bug in one unit"):
        write(hub.engine, broken)
    assert write(hub.engine, lambda conn: 42) == 42
