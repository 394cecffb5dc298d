"""db/rows.py on both engines: rows written at the driver level read back through Core unchanged
(datetimes, JSON, NULLs), an insert that conflicts answers only the rows that went in, updates set
every named column, lists passed with ``among`` match, and a value too long for its column is
refused on PostgreSQL rather than cut."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, exc, select

from omnikanal.db.engine import make_engine, read_tx, write_tx
from omnikanal.db.fast import Raw
from omnikanal.db.rows import among, insert_new_returning, insert_rows, update_rows
from omnikanal.journeys.tables import journey_runs, journey_timers
from omnikanal.settings import Settings

AT = datetime(2026, 11, 23, 7, 0, 0, 123456, tzinfo=UTC)
COLUMNS = tuple(c.name for c in journey_runs.c)
BY_IDS = among(journey_runs.c.id, "ids")


@pytest.fixture
def engine(settings: Settings) -> Iterator[Engine]:
    built = make_engine(settings)
    yield built
    built.dispose()


def run(run_id: str, **changes: Any) -> dict[str, Any]:
    row: dict[str, Any] = {c: None for c in COLUMNS}
    row.update(
        id=run_id,
        journey_id="jrn_1",
        version=1,
        profile_id=f"prf_{run_id}",
        run_key="",
        origin="test",
        active_key=f"prf_{run_id}|",
        status="active",
        seq=0,
        data={"cart": ["drill", 2], "ä": "ö"},
        entered_at=AT,
        updated_at=AT,
    )
    row.update(changes)
    return row


def read(engine: Engine, *ids: str) -> dict[str, dict[str, Any]]:
    with read_tx(engine) as conn:
        query = select(journey_runs).where(BY_IDS[conn.dialect.name])
        return {r.id: dict(r._mapping) for r in conn.execute(query, {"ids": list(ids)})}


def test_an_insert_answers_the_new_rows_and_they_read_back_unchanged(engine: Engine) -> None:
    with write_tx(engine) as conn:
        written = insert_new_returning(Raw(conn), journey_runs, COLUMNS, [run("a"), run("b")], "id")
    assert written == {"a", "b"}
    with write_tx(engine) as conn:
        # "a" again (its id), and "c" with b's active key: neither goes in; "d" does
        rows = [run("a"), run("c", active_key="prf_b|"), run("d", goal_until=AT + timedelta(days=7))]
        written = insert_new_returning(Raw(conn), journey_runs, COLUMNS, rows, "id")
    assert written == {"d"}
    found = read(engine, "a", "b", "c", "d")
    assert set(found) == {"a", "b", "d"}
    assert found["a"] == run("a")
    assert found["d"]["goal_until"] == AT + timedelta(days=7)
    assert found["d"]["step"] is None


def test_update_rows_sets_every_named_column_of_each_row(engine: Engine) -> None:
    with write_tx(engine) as conn:
        insert_rows(Raw(conn), journey_runs, COLUMNS, [run("a"), run("b"), run("c")])
    later = AT + timedelta(hours=1)
    changed = [
        run("a", status="ended", active_key=None, ended_at=later, seq=3, data={"n": 1}),
        run("b", step="wait", seq=1, variant="A", updated_at=later),
    ]
    with write_tx(engine) as conn:
        update_rows(Raw(conn), journey_runs, [c for c in COLUMNS if c != "id"], "id", changed)
    found = read(engine, "a", "b", "c")
    assert found["a"] == changed[0]
    assert found["b"] == changed[1]
    assert found["c"] == run("c")


def test_among_matches_the_listed_values_only(engine: Engine) -> None:
    with write_tx(engine) as conn:
        insert_rows(Raw(conn), journey_runs, COLUMNS, [run(f"r{i}") for i in range(300)])
    assert set(read(engine, *(f"r{i}" for i in range(0, 300, 3)), "nobody")) == {
        f"r{i}" for i in range(0, 300, 3)
    }
    assert read(engine) == {}


def test_a_value_too_long_for_its_column_is_refused_not_cut(engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite does not hold text to a column's length")
    timer = {"run_id": "x" * 41, "seq": 0, "due_at": AT, "profile_id": "prf_1"}
    with pytest.raises(exc.DataError), write_tx(engine) as conn:
        insert_rows(Raw(conn), journey_timers, tuple(timer), [timer])
    with read_tx(engine) as conn:
        assert conn.execute(select(journey_timers)).all() == []
