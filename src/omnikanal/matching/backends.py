"""Which engine runs Splink: the in-process DuckDB (default) or Spark (``matching_backend``).

Both modules are imported on first use: Splink and DuckDB take some 70 MB, and Spark a Java virtual
machine, in a process that may never match anyone.
"""

from __future__ import annotations

from typing import Any

from omnikanal.errors import InvalidInput

BACKENDS = ("duckdb", "spark")


def scorer(name: str, spark_master: str = "local[2]", spark_memory: str = "1g") -> Any:
    """An object with ``train``, ``score_within`` and ``score_between`` for the named backend."""
    if name not in BACKENDS:
        raise InvalidInput("invalid_backend", f"backend: one of {', '.join(BACKENDS)}", "backend")
    if name == "spark":
        from omnikanal.matching.spark_backend import SparkBackend

        return SparkBackend(spark_master, spark_memory)
    from omnikanal.matching import splink_model

    return splink_model
