"""Attribution on Apache Spark over the columnar copy's Parquet files, for retailers whose history
outgrows one machine.

The same files as DuckDB reads (columnar.py), the same question (query.py), the same paths as
paths.py builds, the same models:

- Distributed, in Spark SQL: reading the parts, re-keying merged profiles (``merged.parquet``),
  the returns per order, cutting each person's rows (in time and seq order) into paths at their
  conversions, the lookback, the values net of returns, the path that did not convert after a
  person's last conversion, and the six rule-based models (each touch's weight from its place on
  its path, summed per key).
- On the driver: the Markov chain and the Shapley values. Spark counts the distinct paths (their
  keys in order, converted or not, how many, their value) and they are collected: there are few
  of them (the distinct sequences of keys, not the paths), and they go to the very functions the
  DuckDB path uses (``markov.walk_credit``, ``shapley.set_credit``), so those models give the same
  numbers by construction.

Times are compared as integer microseconds (UTC), as Python compares them. Only attribution runs
here: the acquisition flag of a path (``first``) is not built, since no attribution model reads it.
PySpark is imported on first use only: the hub never imports this module, the service does when
the Spark backend is asked for.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path as FilePath
from typing import Any

from omnikanal.analytics.markov import Walk, walk_credit
from omnikanal.analytics.model import DIRECT, NONE, Credit, Dimension, Options
from omnikanal.analytics.paths import RETURN_EVENT, Window
from omnikanal.analytics.query import Question
from omnikanal.analytics.shapley import set_credit
from omnikanal.spark import session

RULE_MODELS = ("first_touch", "last_touch", "last_non_direct", "linear", "time_decay", "position_based")
_PATH = ("profile_id", "seg")


def _micros(moment: datetime) -> int:
    delta = moment.astimezone(UTC) - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


class SparkPaths:
    """The paths of one question on Spark, persisted while the models are run over them."""

    def __init__(self, convs: Any, touches: Any, window: Window) -> None:
        self.convs = convs  # one row per conversion in the period: profile_id, seg, conv_us, value
        self.touches = touches  # one row per touch of a path (converted or not), with i and n
        self.window = window
        self._none: tuple[int, float] | None = None
        self._walks: dict[Dimension, list[tuple[tuple[str, ...], bool, int, float]]] = {}

    def head(self) -> tuple[int, float, int]:
        """Conversions, their value, and the paths (converted or not)."""
        from pyspark.sql import functions as F

        row = self.convs.agg(F.count("*").alias("n"), F.sum("cents").alias("cents")).first()
        tails = self.touches.where(~F.col("converted")).select(*_PATH).distinct().count()
        return int(row["n"]), (row["cents"] or 0) / 100, int(row["n"]) + tails

    def credit(self, model: str, dimension: Dimension, options: Options) -> dict[str, Credit]:
        return self.credits((model,), dimension, options)[model]

    def credits(
        self, models: Sequence[str], dimension: Dimension, options: Options
    ) -> dict[str, dict[str, Credit]]:
        """Each model's credit per key: the rule-based ones in one aggregation on Spark."""
        out = self._rules([m for m in models if m in RULE_MODELS], dimension, options)
        for model in models:
            if model in RULE_MODELS:
                continue
            counted = self.walks(dimension)
            if model == "markov":
                conversions = sum(n for _, converted, n, _ in counted if converted)
                value = sum(v for _, converted, _, v in counted if converted)
                walks: list[Walk] = [(keys, converted, n) for keys, converted, n, _ in counted]
                out[model] = walk_credit(walks, options.markov_order, conversions, value)
            elif model == "shapley":
                out[model] = set_credit((keys, n, v) for keys, converted, n, v in counted if converted)
            else:
                raise ValueError(f"unknown model {model!r}")
        return out

    def walks(self, dimension: Dimension) -> list[tuple[tuple[str, ...], bool, int, float]]:
        """The distinct paths: keys in order, converted, how many paths, their summed value."""
        if dimension not in self._walks:
            self._walks[dimension] = self._count_walks(dimension)
        return self._walks[dimension]

    def _count_walks(self, dimension: Dimension) -> list[tuple[tuple[str, ...], bool, int, float]]:
        from pyspark.sql import functions as F

        touched = self.touches.groupBy(*_PATH, "converted", "value").agg(
            F.sort_array(F.collect_list(F.struct("at_us", "seq", _key(dimension).alias("key")))).alias("t")
        )
        empty = self.convs.join(self.touches, list(_PATH), "left_anti").select(
            *_PATH, F.lit(True).alias("converted"), "value", F.array().cast("array<string>").alias("keys")
        )
        paths = touched.select(
            *_PATH, "converted", "value", F.transform("t", lambda x: x["key"]).alias("keys")
        )
        rows = (
            paths.unionByName(empty)
            .groupBy("keys", "converted")
            .agg(F.count("*").alias("n"), F.sum("value").alias("value"))
            .collect()
        )
        return [(tuple(r["keys"]), bool(r["converted"]), int(r["n"]), float(r["value"] or 0.0)) for r in rows]

    def _rules(
        self, models: Sequence[str], dimension: Dimension, options: Options
    ) -> dict[str, dict[str, Credit]]:
        from pyspark.sql import functions as F

        if not models:
            return {}
        weighted = self.touches.where(F.col("converted")).select(
            _key(dimension).alias("key"),
            "value",
            *(_weight(m, options).alias(f"w{n}") for n, m in enumerate(models)),
        )
        sums = []
        for n in range(len(models)):
            w = F.col(f"w{n}")
            sums += [
                F.sum(w).alias(f"c{n}"),
                F.sum(w * F.col("value")).alias(f"v{n}"),
                F.max(w != 0).alias(f"z{n}"),
            ]
        rows = weighted.groupBy("key").agg(*sums).collect()
        empty_n, empty_value = self._empty()
        out: dict[str, dict[str, Credit]] = {}
        for n, model in enumerate(models):
            # a key only ever weighted zero is not credited (as in attribution.py)
            credit = {r["key"]: Credit(float(r[f"c{n}"]), float(r[f"v{n}"])) for r in rows if r[f"z{n}"]}
            if empty_n:  # a converting path without touches credits (none)
                entry = credit.setdefault(NONE, Credit())
                entry.conversions += float(empty_n)
                entry.value += empty_value
            out[model] = credit
        return out

    def _empty(self) -> tuple[int, float]:
        """Converting paths without touches: how many, their value."""
        from pyspark.sql import functions as F

        if self._none is None:
            row = (
                self.convs.join(self.touches, list(_PATH), "left_anti")
                .agg(F.count("*").alias("n"), F.sum("value").alias("value"))
                .first()
            )
            self._none = (int(row["n"]), float(row["value"] or 0.0))
        return self._none

    def release(self) -> None:
        self.convs.unpersist()
        self.touches.unpersist()


def _key(dimension: Dimension) -> Any:
    from pyspark.sql import functions as F

    if dimension == "campaign":
        blank = F.col("campaign").isNull() | (F.col("campaign") == "")
        return F.when(blank, F.lit(NONE)).otherwise(F.col("campaign"))
    return F.col(dimension)


def _weight(model: str, options: Options) -> Any:
    """A touch's weight under a rule-based model, from its place ``i`` of ``n`` (attribution.py)."""
    from pyspark.sql import Window as W
    from pyspark.sql import functions as F

    i, n = F.col("i"), F.col("n")
    one, zero = F.lit(1.0), F.lit(0.0)
    path = W.partitionBy(*_PATH)
    if model == "first_touch":
        return F.when(i == 0, one).otherwise(zero)
    if model == "last_touch":
        return F.when(i == n - 1, one).otherwise(zero)
    if model == "last_non_direct":
        direct = F.coalesce(F.col("source") == DIRECT, F.lit(False))
        chosen = F.coalesce(F.max(F.when(~direct, i)).over(path), n - 1)
        return F.when(i == chosen, one).otherwise(zero)
    if model == "linear":
        return one / n
    if model == "time_decay":
        half = options.half_life.total_seconds()
        raw = F.pow(F.lit(0.5), ((F.col("conv_us") - F.col("at_us")) / F.lit(1e6)) / F.lit(half))
        return raw / F.sum(raw).over(path)
    if model == "position_based":
        ends = F.when((i == 0) | (i == n - 1), F.lit(0.4)).otherwise(F.lit(0.2) / (n - 2))
        return F.when(n == 1, one).when(n == 2, F.lit(0.5)).otherwise(ends)
    raise ValueError(f"unknown model {model!r}")


class SparkAttribution:
    """Attribution over the Parquet files in ``folder`` on the session of ``master``."""

    def __init__(self, folder: FilePath, master: str = "local[2]", driver_memory: str = "1g") -> None:
        self.folder = folder
        self.master = master
        self.driver_memory = driver_memory

    def _touchpoints(self) -> Any | None:
        """Every touchpoint row, re-keyed to the surviving profile, with ``at_us`` (UTC microseconds)."""
        from pyspark.sql import functions as F

        parts = sorted(p.as_posix() for p in self.folder.glob("touchpoints-*.parquet"))
        if not parts:
            return None
        spark = session(self.master, self.driver_memory)
        tp = spark.read.parquet(*parts)
        merged = self.folder / "merged.parquet"
        if merged.exists():
            ids = spark.read.parquet(merged.as_posix())
            tp = tp.join(F.broadcast(ids), tp["profile_id"] == ids["old_id"], "left").select(
                *(
                    F.coalesce("new_id", "profile_id").alias(c) if c == "profile_id" else tp[c]
                    for c in tp.columns
                )
            )
        # the files hold naive UTC times; the session's time zone is UTC
        return tp.withColumn("at_us", F.unix_micros(F.col("at").cast("timestamp")))

    def conversion_exists(self, name: str) -> bool:
        from pyspark.sql import functions as F

        tp = self._touchpoints()
        return tp is not None and bool(tp.where(F.col("event") == name).limit(1).count())

    @contextmanager
    def paths(self, window: Window) -> Iterator[SparkPaths]:
        """The question's paths, persisted on the executors until the block ends."""
        tp = self._touchpoints()
        if tp is None:
            raise ValueError("no columnar copy")
        built = _cut(tp, window)
        try:
            yield built
        finally:
            built.release()

    def credited(self, q: Question) -> tuple[tuple[int, float, int], dict[str, dict[str, Credit]]]:
        """The head (conversions, value, paths) and each asked model's credit per key."""
        with self.paths(q.window) as built:
            return built.head(), built.credits(q.models, q.dimension, q.options)


def _cut(tp: Any, window: Window) -> SparkPaths:
    """Each person's rows in (time, seq) order cut into paths as paths.build_paths does."""
    from pyspark.sql import Window as W
    from pyspark.sql import functions as F

    since, until = _micros(window.since), _micros(window.until)
    back = window.lookback // timedelta(microseconds=1)
    person = W.partitionBy("profile_id")
    running = person.orderBy("at_us", "seq").rowsBetween(W.unboundedPreceding, W.currentRow)
    is_conv = F.coalesce(F.col("event") == window.conversion, F.lit(False)).cast("int")
    rows = (
        tp.where((F.col("at_us") >= _micros(window.read_from)) & (F.col("at_us") < until))
        .withColumn("conv", is_conv)
        # a touch belongs to the conversion after it: the number of conversions before it
        .withColumn("seg", F.sum("conv").over(running) - F.col("conv"))
        .withColumn("last_seg", F.sum("conv").over(person))
    )
    refunds = (
        tp.where((F.col("event") == RETURN_EVENT) & F.col("order_id").isNotNull())
        .groupBy("order_id")
        .agg(F.sum("value_cents").alias("refund"))
    )
    gross = F.coalesce(F.col("value_cents"), F.lit(0))
    has_order = F.col("order_id").isNotNull() & (F.col("order_id") != "")
    net = F.when(has_order, F.greatest(F.lit(0), gross - F.coalesce("refund", F.lit(0)))).otherwise(gross)
    convs = (
        rows.where((F.col("conv") == 1) & (F.col("at_us") >= since))
        .join(refunds, "order_id", "left")
        .select(
            *_PATH, F.col("at_us").alias("conv_us"), net.alias("cents"), (net / F.lit(100.0)).alias("value")
        )
    ).persist()
    touches = rows.where((F.col("conv") == 0) & ~F.coalesce(F.col("event") == RETURN_EVENT, F.lit(False)))
    columns = ("profile_id", "seg", "at_us", "seq", "channel", "source", "medium", "campaign")
    converted = (
        touches.join(convs, list(_PATH))
        .where(F.col("at_us") >= F.col("conv_us") - back)
        .select(*columns, "conv_us", "value", F.lit(True).alias("converted"))
    )
    tail = touches.where((F.col("seg") == F.col("last_seg")) & (F.col("at_us") >= since))
    tail = tail.withColumn("last_us", F.max("at_us").over(person))
    tail = tail.where(F.col("at_us") >= F.col("last_us") - back).select(
        *columns,
        F.lit(None).cast("long").alias("conv_us"),
        F.lit(0.0).alias("value"),
        F.lit(False).alias("converted"),
    )
    path = W.partitionBy(*_PATH)
    placed = (
        converted.unionByName(tail)
        .withColumn("i", F.row_number().over(path.orderBy("at_us", "seq")) - 1)
        .withColumn("n", F.count("*").over(path))
    ).persist()
    return SparkPaths(convs, placed, window)
