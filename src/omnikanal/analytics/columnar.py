"""The columnar copy of the touchpoints, and DuckDB queries over it.

Parquet files rather than one DuckDB database file: a file is written once and never changed, so
the worker appends a part per refresh while any number of report processes read (a DuckDB file
takes one writer and locks readers of other processes out); the same files are read by Spark or
any other engine as they are. Each part holds the touchpoints of one range of event seqs
(``touchpoints-<first seq>.parquet``): the copy grows by event id, incrementally.

Merges re-key touchpoints to the surviving profile: ``merged.parquet`` maps old to new profile ids
and the queries apply it, so parts already written stay as they are. An erasure rewrites the parts
without the person's rows.
"""

from __future__ import annotations

import fcntl
import functools
import json
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path as FilePath
from typing import TYPE_CHECKING, Any, NamedTuple

from omnikanal.analytics.paths import RETURN_EVENT, Window
from omnikanal.analytics.store import COPY_COLUMNS, PATH_COLUMNS

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa


# DuckDB and pyarrow are imported on first use: every process builds the hub, and the two took
# some 100 MB of memory in the API and the worker that never compute a report (measured).
@functools.cache
def _schemas() -> tuple[pa.Schema, pa.Schema]:
    """The touchpoints' schema and the merged-ids schema of the Parquet files."""
    import pyarrow as pa

    touchpoints = pa.schema(
        [
            ("seq", pa.int64()),
            ("profile_id", pa.string()),
            # naive UTC: read back without a time-zone database
            ("at", pa.timestamp("us")),
            ("type", pa.string()),
            ("event", pa.string()),
            ("channel", pa.string()),
            ("source", pa.string()),
            ("medium", pa.string()),
            ("campaign", pa.string()),
            ("order_id", pa.string()),
            ("value_cents", pa.int64()),
            ("currency", pa.string()),
        ]
    )
    merged = pa.schema([("old_id", pa.string()), ("new_id", pa.string())])
    return touchpoints, merged


# the column names are the store's constants, not input
# ("at" is quoted: a keyword in DuckDB)
_PATH_SQL = (
    f"SELECT {', '.join(f'{chr(34)}{c}{chr(34)}' for c in PATH_COLUMNS)} FROM tp "  # noqa: S608
    'WHERE "at" >= ? AND "at" < ? ORDER BY profile_id, "at", seq'
)
STATE = "state.json"


class PathRow(NamedTuple):
    profile_id: str
    at: datetime
    seq: int
    event: str | None
    channel: str
    source: str
    medium: str
    campaign: str | None
    order_id: str | None
    value_cents: int | None


class Columnar:
    def __init__(self, folder: FilePath) -> None:
        self.folder = folder

    # -- writing -----------------------------------------------------------------------------

    @contextmanager
    def writing(self) -> Iterator[None]:
        """One writer at a time across processes (the worker's refresh job, an API call, the
        command): two refreshes reading the same last seq would write overlapping parts."""
        self.folder.mkdir(parents=True, exist_ok=True)
        with (self.folder / ".lock").open("w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def last_seq(self) -> int:
        state = self.folder / STATE
        return int(json.loads(state.read_text())["last_seq"]) if state.exists() else 0

    def _save_state(self, last_seq: int) -> None:
        tmp = self.folder / (STATE + ".tmp")
        tmp.write_text(json.dumps({"last_seq": last_seq}))
        os.replace(tmp, self.folder / STATE)

    def append(self, rows: Sequence[Any]) -> int:
        """Write one part of touchpoints (in seq order, all past ``last_seq``)."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        if not rows:
            return 0
        self.folder.mkdir(parents=True, exist_ok=True)
        columns: dict[str, list[Any]] = {name: [] for name in COPY_COLUMNS}
        for row in rows:
            for name in COPY_COLUMNS:
                value = getattr(row, name)
                if name == "at":
                    value = value.astimezone(UTC).replace(tzinfo=None)
                columns[name].append(value)
        table = pa.Table.from_pydict(columns, schema=_schemas()[0])
        first, last = rows[0].seq, rows[-1].seq
        final = self.folder / f"touchpoints-{first:015d}.parquet"
        tmp = final.with_suffix(".tmp")
        pq.write_table(table, tmp)
        # the part appears whole or not at all; the state moves after it, so a crash between the two
        # leaves a part that the next round writes again under the same name (its first seq)
        os.replace(tmp, final)
        self._save_state(last)
        return len(rows)

    def merged(self) -> dict[str, str]:
        import pyarrow.parquet as pq

        path = self.folder / "merged.parquet"
        if not path.exists():
            return {}
        table = pq.read_table(path)
        return dict(zip(table.column("old_id").to_pylist(), table.column("new_id").to_pylist(), strict=True))

    def add_merges(self, pairs: dict[str, str]) -> None:
        """Record old -> new profile ids; earlier entries pointing at an old id follow it on."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        if not pairs:
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        current = self.merged()
        for old, new in current.items():
            current[old] = pairs.get(new, new)
        current.update(pairs)
        table = pa.Table.from_pydict(
            {"old_id": list(current), "new_id": list(current.values())}, schema=_schemas()[1]
        )
        tmp = self.folder / "merged.tmp"
        pq.write_table(table, tmp)
        os.replace(tmp, self.folder / "merged.parquet")

    def erase(self, profile_ids: Sequence[str]) -> int:
        """Rewrite every part that holds rows of these profiles (or of profiles merged into them)."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        if not self.folder.exists():
            return 0
        doomed = set(profile_ids)
        doomed |= {old for old, new in self.merged().items() if new in doomed}
        removed = 0
        for part in sorted(self.folder.glob("touchpoints-*.parquet")):
            table = pq.read_table(part)
            keep = [p not in doomed for p in table.column("profile_id").to_pylist()]
            if all(keep):
                continue
            removed += keep.count(False)
            tmp = part.with_suffix(".tmp")
            pq.write_table(table.filter(pa.array(keep)), tmp)
            os.replace(tmp, part)
        return removed

    # -- reading -----------------------------------------------------------------------------

    def _connect(self) -> duckdb.DuckDBPyConnection | None:
        import duckdb

        parts = sorted(p.as_posix() for p in self.folder.glob("touchpoints-*.parquet"))
        if not parts:
            return None
        db = duckdb.connect(":memory:")
        # file names go in through the relational API, never into SQL text
        db.read_parquet(parts).create_view("parts")
        merged = self.folder / "merged.parquet"
        if merged.exists():
            db.read_parquet(merged.as_posix()).create_view("merged")
            db.execute(
                "CREATE VIEW tp AS SELECT t.* REPLACE (COALESCE(m.new_id, t.profile_id) AS profile_id) "
                "FROM parts t LEFT JOIN merged m ON m.old_id = t.profile_id"
            )
        else:
            db.execute("CREATE VIEW tp AS SELECT * FROM parts")
        return db

    @contextmanager
    def connection(self) -> Iterator[duckdb.DuckDBPyConnection | None]:
        """A connection with the view ``tp`` of the touchpoints (merged profiles re-keyed), closed
        after the block; None when the copy has no part yet."""
        db = self._connect()
        try:
            yield db
        finally:
            if db is not None:
                db.close()

    def path_rows(self, window: Window) -> Iterator[PathRow]:
        db = self._connect()
        if db is None:
            return
        try:
            result = db.execute(_PATH_SQL, [_naive(window.read_from), _naive(window.until)])
            while batch := result.fetchmany(10_000):
                for r in batch:
                    yield PathRow(r[0], r[1].replace(tzinfo=UTC), *r[2:])
        finally:
            db.close()

    def refunds(self, window: Window) -> dict[str, int]:
        db = self._connect()
        if db is None:
            return {}
        try:
            rows = db.execute(
                "SELECT order_id, SUM(value_cents) FROM tp WHERE event = ? AND order_id IN "
                '(SELECT order_id FROM tp WHERE event = ? AND "at" >= ? AND "at" < ? '
                "AND order_id IS NOT NULL) "
                "GROUP BY order_id",
                [RETURN_EVENT, window.conversion, _naive(window.since), _naive(window.until)],
            ).fetchall()
        finally:
            db.close()
        return {order: int(total or 0) for order, total in rows}

    def converted_before(self, window: Window) -> set[str]:
        db = self._connect()
        if db is None:
            return set()
        try:
            rows = db.execute(
                'SELECT DISTINCT profile_id FROM tp WHERE event = ? AND "at" < ?',
                [window.conversion, _naive(window.since)],
            ).fetchall()
        finally:
            db.close()
        return {r[0] for r in rows}

    def conversion_exists(self, name: str) -> bool:
        db = self._connect()
        if db is None:
            return False
        try:
            return db.execute("SELECT 1 FROM tp WHERE event = ? LIMIT 1", [name]).fetchone() is not None
        finally:
            db.close()


def _naive(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(tzinfo=None)
