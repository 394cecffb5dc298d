"""A local Apache Spark session for the jobs that can run on Spark (matching, analytics).

PySpark is imported here and only when a Spark job runs: it starts a Java virtual machine, and
every process builds the hub, so importing it with the hub would cost every process memory for
nothing. One session per process, started on first use and kept (starting one takes seconds).

The session is local (``spark_master``, by default two cores), binds to the loopback address, has
no web UI and a small driver memory: on a cluster the same jobs take the cluster's session instead
(``spark_master`` naming it).
"""

from __future__ import annotations

import functools
import logging
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyspark.sql import SparkSession


class SparkUnavailable(RuntimeError):
    """PySpark is not installed or its Java runtime does not start."""


@functools.cache
def session(master: str = "local[2]", driver_memory: str = "1g") -> SparkSession:
    """The process's Spark session (one per master and memory; the first call starts it)."""
    try:
        from pyspark.sql import SparkSession
        from splink.backends.spark import similarity_jar_location
    except ImportError as exc:  # pyspark is an optional dependency
        raise SparkUnavailable(f"pyspark is not installed ({exc}); pip install pyspark") from exc
    logging.getLogger("py4j").setLevel(logging.WARNING)
    try:
        spark = (
            SparkSession.builder.master(master)
            .appName("omnikanal")
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")  # no stage bars on a job's stderr
            .config("spark.driver.memory", driver_memory)
            .config("spark.driver.host", "127.0.0.1")
            .config("spark.driver.bindAddress", "127.0.0.1")
            # small sets on few cores: Spark's default of 200 shuffle partitions is mostly overhead
            .config("spark.sql.shuffle.partitions", "4")
            .config("spark.sql.session.timeZone", "UTC")
            # Splink's string similarity functions (Jaro-Winkler, Damerau-Levenshtein) for Spark SQL
            .config("spark.jars", similarity_jar_location())
            .getOrCreate()
        )
    except Exception as exc:  # Java missing or failing to start: py4j raises plain exceptions
        raise SparkUnavailable(f"Spark did not start: {exc}") from exc
    spark.sparkContext.setLogLevel("ERROR")
    return spark
