"""The same Splink model on Apache Spark (``splink.backends.spark.SparkAPI``), for hubs whose
profiles outgrow one machine.

Same settings, same comparisons, same blocking, same stored model as splink_model.py: only the
engine that runs Splink's SQL changes, so both backends score a pair alike (the tests hold them to
the same pairs above the thresholds). Only the two whole-hub jobs run here, training and matching
every profile; the worker's matching of a few hundred changed profiles at a time stays on the
in-process DuckDB (``score_between``), where starting a Spark job would cost more than the work.

PySpark and its Java runtime are loaded only when this module is imported (by the service, when
the Spark backend is chosen).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from omnikanal.matching import splink_model
from omnikanal.matching.card import FIELDS
from omnikanal.matching.pairs import ScoredPair
from omnikanal.spark import session

SPLINK_VERSION = splink_model.SPLINK_VERSION
TF_FIELDS = splink_model.TF_FIELDS
check = splink_model.check
ModelMismatch = splink_model.ModelMismatch


class SparkBackend:
    """Splink on a Spark session: ``master`` and ``driver_memory`` as in omnikanal.spark."""

    def __init__(self, master: str = "local[2]", driver_memory: str = "1g") -> None:
        self.master = master
        self.driver_memory = driver_memory

    def register(self, columns: dict[str, list[Any]]) -> tuple[Any, Any]:
        """The records as a Spark DataFrame with an explicit schema: Spark cannot infer the type
        of a column that is empty in every record (a set without phone numbers)."""
        from pyspark.sql.types import DoubleType, StringType, StructField, StructType
        from splink.backends.spark import SparkAPI

        spark = session(self.master, self.driver_memory)
        names = list(columns)
        schema = StructType(
            [StructField(n, DoubleType() if n.startswith("tf_") else StringType(), True) for n in names]
        )
        records = list(zip(*(columns[n] for n in names), strict=True))
        frame = spark.createDataFrame(records, schema)
        # "persist" keeps Splink's intermediate tables in the executors' memory; Splink's default
        # writes them as Parquet to a checkpoint folder, which a local session does not have.
        db = SparkAPI(  # type: ignore[no-untyped-call]
            spark_session=spark, break_lineage_method="persist", num_partitions_on_repartition=4
        )
        return db, db.register(frame)

    def train(
        self, rows: Sequence[Mapping[str, Any]], seed: int = 42, max_pairs: float = 2e6
    ) -> dict[str, Any]:
        model = splink_model.train(rows, seed=seed, max_pairs=max_pairs, register=self.register)
        model["omnikanal"]["backend"] = "spark"
        return model

    def score_within(
        self, rows: Sequence[Mapping[str, Any]], model: Mapping[str, Any], threshold: float
    ) -> list[ScoredPair]:
        return splink_model.score_within(rows, model, threshold, register=self.register)

    def score_between(
        self,
        new: Sequence[Mapping[str, Any]],
        existing: Sequence[Mapping[str, Any]],
        model: Mapping[str, Any],
        threshold: float,
        counts: Mapping[str, Counter[str]],
        total: int,
    ) -> list[ScoredPair]:
        return splink_model.score_between(new, existing, model, threshold, counts, total)


__all__ = ["FIELDS", "SPLINK_VERSION", "TF_FIELDS", "SparkBackend", "check"]
