"""Attribution inside DuckDB over the columnar copy: the paths and the models as SQL, not per row.

The same paths as paths.build_paths builds and the same credit as attribution.py, markov.py and
shapley.py give, computed as spark_backend.py does on Spark:

- In SQL: each person's rows in (time, seq) order are numbered by the conversions before them
  (a window sum), which cuts them into paths; the lookback, the values net of returns, and the
  path that did not convert after a person's last conversion are joins and window functions. The
  six rule-based models are each touch's weight from its place ``i`` of ``n`` on its path, summed
  per key in one aggregation.
- The Markov chain is counted in SQL: each touch with the (up to three) keys before it, grouped, so
  one small table of counts gives the transitions of the chains of order 1, 2 and 3, solved in
  Python (markov.counted_credit). Shapley values come from the distinct sets of keys of the
  converting paths, counted in SQL (shapley.set_credit): a few thousand groups, not a million paths.

Times are compared as integer microseconds (the files hold naive UTC), as Python compares them.
Only attribution runs here: the acquisition flag and the customers (paths.Built) are the path
builder's, for the reports that read them.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from omnikanal.analytics.columnar import Columnar
from omnikanal.analytics.markov import Transition, counted_credit
from omnikanal.analytics.model import DIRECT, NONE, Credit, Dimension, Options
from omnikanal.analytics.paths import RETURN_EVENT, Window
from omnikanal.analytics.query import Question
from omnikanal.analytics.shapley import set_credit

if TYPE_CHECKING:
    import duckdb

RULE_MODELS = ("first_touch", "last_touch", "last_non_direct", "linear", "time_decay", "position_based")
# the longest state of a Markov chain (its order at most)
MAX_ORDER = 3

# Every touchpoint of the question's reach, numbered: ``seg`` is the person's conversions before
# the row (a touch belongs to the conversion of the same seg), ``last_seg`` all of them.
_ROWS = """
CREATE TEMP TABLE rows AS
SELECT profile_id, seq, at_us, event, channel, source, medium, campaign, order_id, value_cents, conv,
       SUM(conv) OVER (PARTITION BY profile_id ORDER BY at_us, seq
                       ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) - conv AS seg,
       SUM(conv) OVER (PARTITION BY profile_id) AS last_seg
FROM (SELECT *, epoch_us("at") AS at_us, COALESCE(event = $conversion, FALSE)::INTEGER AS conv
      FROM tp WHERE "at" >= $read_from AND "at" < $until)
"""
# The conversions of the period, their value net of every return of the order recorded so far, and
# whether each is its person's first purchase ever (an acquisition).
_CONVS = """
CREATE TEMP TABLE convs AS
WITH earlier AS (
  SELECT DISTINCT profile_id FROM tp WHERE event = $conversion AND "at" < $since_at
), refunds AS (
  SELECT order_id, SUM(value_cents) AS refund FROM tp
  WHERE event = $returned AND order_id IS NOT NULL GROUP BY order_id
), net AS (
  SELECT r.profile_id, r.seg, r.at_us AS conv_us,
         e.profile_id IS NULL AND r.seg = min(r.seg) OVER (PARTITION BY r.profile_id) AS first,
         CASE WHEN r.order_id IS NOT NULL AND r.order_id <> ''
              THEN greatest(0, COALESCE(r.value_cents, 0) - COALESCE(f.refund, 0))
              ELSE COALESCE(r.value_cents, 0) END AS cents
  FROM rows r LEFT JOIN refunds f ON f.order_id = r.order_id
  LEFT JOIN earlier e ON e.profile_id = r.profile_id
  WHERE r.conv = 1 AND r.at_us >= $since
)
SELECT *, cents / 100.0 AS value FROM net
"""
# The touches of each path, converted (within the lookback before its conversion) or not (after
# the person's last conversion, in the period, within the lookback before the last of them),
# with their place ``i`` of ``n``.
_TOUCHES = """
CREATE TEMP TABLE touches AS
WITH t AS (
  SELECT * FROM rows WHERE conv = 0 AND COALESCE(event <> $returned, TRUE)
), converted AS (
  SELECT t.profile_id, t.seg, t.at_us, t.seq, t.channel, t.source, t.medium, t.campaign,
         c.conv_us, c.value, TRUE AS converted, c.first
  FROM t JOIN convs c USING (profile_id, seg)
  WHERE t.at_us >= c.conv_us - $back
), tail AS (
  SELECT *, max(at_us) OVER (PARTITION BY profile_id) AS last_us
  FROM t WHERE seg = last_seg AND at_us >= $since
), open AS (
  SELECT profile_id, seg, at_us, seq, channel, source, medium, campaign,
         NULL::BIGINT AS conv_us, 0.0::DOUBLE AS value, FALSE AS converted, FALSE AS first
  FROM tail WHERE at_us >= last_us - $back
), placed AS (SELECT * FROM converted UNION ALL SELECT * FROM open)
SELECT *, row_number() OVER (PARTITION BY profile_id, seg ORDER BY at_us, seq) - 1 AS i,
       count(*) OVER (PARTITION BY profile_id, seg) AS n
FROM placed
"""
_EMPTY = """
SELECT count(*), COALESCE(sum(value), 0.0) FROM {convs} c
WHERE NOT EXISTS (SELECT 1 FROM {touches} t WHERE t.profile_id = c.profile_id AND t.seg = c.seg)
"""


def _micros(moment: datetime) -> int:
    delta = moment.astimezone(UTC) - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def _key(dimension: Dimension) -> str:
    """The SQL of a touch's key (the column names are constants, not input)."""
    if dimension == "campaign":
        return f"CASE WHEN campaign IS NULL OR campaign = '' THEN '{NONE}' ELSE campaign END"
    return {"channel": "channel", "source": "source", "medium": "medium"}[dimension]


def _weight(model: str, options: Options) -> str:
    """The SQL of a touch's weight under a rule-based model, from its place ``i`` of ``n``."""
    path = "OVER (PARTITION BY profile_id, seg)"
    if model == "first_touch":
        return "CASE WHEN i = 0 THEN 1.0 ELSE 0.0 END"
    if model == "last_touch":
        return "CASE WHEN i = n - 1 THEN 1.0 ELSE 0.0 END"
    if model == "last_non_direct":
        marketing = f"NOT COALESCE(source = '{DIRECT}', FALSE)"
        chosen = f"COALESCE(max(CASE WHEN {marketing} THEN i END) {path}, n - 1)"
        return f"CASE WHEN i = {chosen} THEN 1.0 ELSE 0.0 END"
    if model == "linear":
        return "1.0 / n"
    if model == "time_decay":
        half = repr(float(options.half_life.total_seconds()))
        raw = f"pow(0.5, ((conv_us - at_us) / 1e6) / {half})"
        return f"{raw} / sum({raw}) {path}"
    if model == "position_based":
        return (
            "CASE WHEN n = 1 THEN 1.0 WHEN n = 2 THEN 0.5 "
            "WHEN i = 0 OR i = n - 1 THEN 0.4 ELSE 0.2 / (n - 2) END"
        )
    raise ValueError(f"unknown model {model!r}")


class DuckPaths:
    """The paths of one question as DuckDB tables of an open connection (``convs``, ``touches``),
    or the first purchases' of them (views of those, ``firsts``)."""

    def __init__(self, db: duckdb.DuckDBPyConnection, convs: str = "convs", touches: str = "touches") -> None:
        self.db = db
        self.convs = convs  # table names, constants of this module
        self.touches = touches
        self._empty: tuple[int, float] | None = None
        self._transitions: dict[Dimension, list[Transition]] = {}

    def _one(self, sql: str) -> tuple[Any, ...]:
        row = self.db.execute(sql).fetchone()
        assert row is not None  # an aggregation without GROUP BY answers one row
        return tuple(row)

    def head(self) -> tuple[int, float, int]:
        """Conversions, their value, and the paths (converted or not)."""
        n, cents = self._one(f"SELECT count(*), COALESCE(sum(cents), 0) FROM {self.convs}")  # noqa: S608
        [tails] = self._one(
            f"SELECT count(*) FROM (SELECT DISTINCT profile_id, seg FROM {self.touches} "  # noqa: S608
            "WHERE NOT converted)"
        )
        return int(n), int(cents) / 100, int(n) + int(tails)

    def empty(self) -> tuple[int, float]:
        """Converting paths without touches: how many, their value."""
        if self._empty is None:
            n, value = self._one(_EMPTY.format(convs=self.convs, touches=self.touches))
            self._empty = (int(n), float(value))
        return self._empty

    def firsts(self) -> DuckPaths:
        """The paths of the first purchases (acquisitions) alone."""
        self.db.execute("CREATE OR REPLACE TEMP VIEW first_convs AS SELECT * FROM convs WHERE first")
        self.db.execute("CREATE OR REPLACE TEMP VIEW first_touches AS SELECT * FROM touches WHERE first")
        return DuckPaths(self.db, "first_convs", "first_touches")

    def credits(
        self, models: Sequence[str], dimension: Dimension, options: Options
    ) -> dict[str, dict[str, Credit]]:
        """Each model's credit per key: the rule-based ones in one aggregation."""
        out = self.rules([m for m in models if m in RULE_MODELS], dimension, options)
        for model in models:
            if model == "markov":
                out[model] = self.markov(dimension, options.markov_order)
            elif model == "shapley":
                out[model] = self.shapley(dimension)
            elif model not in RULE_MODELS:
                raise ValueError(f"unknown model {model!r}")
        return out

    def rules(
        self, models: Sequence[str], dimension: Dimension, options: Options
    ) -> dict[str, dict[str, Credit]]:
        if not models:
            return {}
        weights = ", ".join(f"{_weight(m, options)} AS w{n}" for n, m in enumerate(models))
        sums = ", ".join(f"sum(w{n}), sum(w{n} * value), bool_or(w{n} <> 0)" for n in range(len(models)))
        rows = self.db.execute(
            f"SELECT key, {sums} FROM (SELECT {_key(dimension)} AS key, value, {weights} "  # noqa: S608
            f"FROM {self.touches} WHERE converted) GROUP BY key ORDER BY key"
        ).fetchall()
        empty_n, empty_value = self.empty()
        out: dict[str, dict[str, Credit]] = {}
        for n, model in enumerate(models):
            # a key only ever weighted zero is not credited (as in attribution.py)
            credit = {r[0]: Credit(float(r[1 + 3 * n]), float(r[2 + 3 * n])) for r in rows if r[3 + 3 * n]}
            if empty_n:  # a converting path without touches credits (none)
                entry = credit.setdefault(NONE, Credit())
                entry.conversions += float(empty_n)
                entry.value += empty_value
            out[model] = credit
        return out

    def transitions(self, dimension: Dimension) -> list[Transition]:
        """Each touch's key with the (up to three) keys before it on its path, how deep into the
        path it is (0 to 3), whether it ends its path and the path converted: counted."""
        if dimension not in self._transitions:
            lags = ", ".join(f"lag(key, {j}) OVER p AS k{j}" for j in range(1, MAX_ORDER + 1))
            ks = ", ".join(f"k{j}" for j in range(1, MAX_ORDER + 1))
            rows = self.db.execute(
                f"SELECT least(i, {MAX_ORDER}) AS depth, key, {ks}, i = n - 1 AS ends, converted, "  # noqa: S608
                f"count(*) FROM (SELECT *, {lags} FROM "
                f"(SELECT *, {_key(dimension)} AS key FROM {self.touches}) "
                "WINDOW p AS (PARTITION BY profile_id, seg ORDER BY i)) "
                "GROUP BY ALL ORDER BY ALL"
            ).fetchall()
            empty_n, _ = self.empty()
            found: list[Transition] = [
                (int(r[0]), tuple(r[1 : 2 + MAX_ORDER]), bool(r[-3]), bool(r[-2]), int(r[-1])) for r in rows
            ]
            if empty_n:
                found.append((-1, (), True, True, empty_n))
            self._transitions[dimension] = found
        return self._transitions[dimension]

    def markov(self, dimension: Dimension, order: int) -> dict[str, Credit]:
        n, value = self._one(f"SELECT count(*), COALESCE(sum(value), 0.0) FROM {self.convs}")  # noqa: S608
        return counted_credit(self.transitions(dimension), order, int(n), float(value))

    def shapley(self, dimension: Dimension) -> dict[str, Credit]:
        """The distinct sets of keys of the converting paths, with how many and their value."""
        keys = f"list_sort(list_distinct(list({_key(dimension)})))"
        rows = self.db.execute(
            f"SELECT keys, count(*), sum(value) FROM (SELECT {keys} AS keys, "  # noqa: S608
            f"any_value(value) AS value FROM {self.touches} WHERE converted GROUP BY profile_id, seg) "
            "GROUP BY keys ORDER BY keys"
        ).fetchall()
        groups = [(list(keys), int(count), float(value)) for keys, count, value in rows]
        empty_n, empty_value = self.empty()
        if empty_n:
            groups.append(([], empty_n, empty_value))
        return set_credit(groups)


class DuckAttribution:
    """Attribution over the Parquet files of a columnar copy, in one in-memory DuckDB."""

    def __init__(self, columnar: Columnar) -> None:
        self.columnar = columnar

    @contextmanager
    def paths(self, window: Window) -> Iterator[DuckPaths]:
        """The question's paths, as tables of a connection open until the block ends."""
        with self.columnar.connection() as db:
            if db is None:
                raise ValueError("no columnar copy")
            _cut(db, window)
            yield DuckPaths(db)

    def credited(self, q: Question) -> tuple[tuple[int, float, int], dict[str, dict[str, Credit]]]:
        """The head (conversions, value, paths) and each asked model's credit per key."""
        with self.paths(q.window) as built:
            return built.head(), built.credits(q.models, q.dimension, q.options)

    def acquired(
        self, q: Question
    ) -> tuple[tuple[int, float, int], tuple[dict[str, dict[str, Credit]], dict[str, dict[str, Credit]]]]:
        """The head, and each model's credit of every conversion and of the first purchases alone
        (the returns report's customer acquisition cost)."""
        with self.paths(q.window) as built:
            every = built.credits(q.models, q.dimension, q.options)
            return built.head(), (every, built.firsts().credits(q.models, q.dimension, q.options))


def _cut(db: duckdb.DuckDBPyConnection, window: Window) -> None:
    """Each person's rows in (time, seq) order cut into paths as paths.build_paths does."""
    moments = {"read_from": _naive(window.read_from), "until": _naive(window.until)}
    db.execute(_ROWS, {**moments, "conversion": window.conversion})
    since = _micros(window.since)
    at = {"conversion": window.conversion, "since_at": _naive(window.since)}
    db.execute(_CONVS, {**at, "returned": RETURN_EVENT, "since": since})
    back = window.lookback // timedelta(microseconds=1)
    db.execute(_TOUCHES, {"returned": RETURN_EVENT, "since": since, "back": back})
    db.execute("DROP TABLE rows")


def _naive(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(tzinfo=None)
